import type { MigrationInterface, QueryRunner } from 'typeorm';
import { replaceIndex } from './1764970000000-fair-claims';

/**
 * Fewer index insertions per scheduler status change. Every status change
 * is a non-HOT update (status is in index keys and partial-index
 * predicates), which inserts the new row version into every index whose
 * predicate it meets. Two list indexes are now partial, leaving out the rows
 * their list paths do not need them for (EXPLAIN of each list path on 1M
 * tasks before and after: docs/benchmarks.md "Index changes"):
 *
 * - `cleanup_tasks_status_created_at_idx (status, created_at, id)` leaves
 *   out completed tasks: a completion no longer inserts into it. Its paths
 *   ask for failed, pending or in-progress tasks, a few percent of the
 *   table (`status = 'failed'` implies the predicate, so does an IN list of
 *   them); "completed, in created order" is most of the table, which
 *   (created_at, id) serves with a filter at the same cost. The predicate
 *   names the three statuses rather than `status <> 'completed'` on
 *   purpose: the completion's "has this task an unfinished child?" check
 *   says `status <> 'completed'`, and an index whose predicate matched it
 *   exactly was a candidate for that check as a scan of every unfinished
 *   task; with statistics of a freshly filled table PostgreSQL chose it
 *   (85–105 ms a completion, measured) over cleanup_tasks_unfinished_children_idx.
 * - `cleanup_tasks_resource_type_created_at_idx (resource_type, created_at,
 *   id)` leaves out `delete_element`, the leaves of every deletion tree and
 *   most of the table: an element task never inserts into it (enqueue,
 *   claim, completion). Its paths ask for the rare types (the
 *   `delete_workspace` roots, `delete_database`, `delete_app`); elements in
 *   created order are again (created_at, id) with a filter.
 *
 * Each new index is built CONCURRENTLY under a new name before the old one
 * is dropped, so the list keeps an index throughout and writes are never
 * blocked; then it takes the old name.
 */
export class CheaperStatusChanges1764970100000 implements MigrationInterface {
  name = 'CheaperStatusChanges1764970100000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await replaceIndex(q, 'cleanup_tasks_status_created_at_idx', `ON cleanup_tasks (status, created_at, id) WHERE status IN ('pending', 'in_progress', 'failed')`);
    await replaceIndex(q, 'cleanup_tasks_resource_type_created_at_idx', `ON cleanup_tasks (resource_type, created_at, id) WHERE resource_type <> 'delete_element'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await replaceIndex(q, 'cleanup_tasks_status_created_at_idx', `ON cleanup_tasks (status, created_at, id)`);
    await replaceIndex(q, 'cleanup_tasks_resource_type_created_at_idx', `ON cleanup_tasks (resource_type, created_at, id)`);
  }
}
