import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ADVISORY_LOCKS } from '../advisory-locks';

/**
 * Fair claims (TaskQueueRepository.claimDueTasksFairly): due tasks are
 * claimed round-robin over the workspaces that have due work, and no
 * workspace holds more than SCHEDULER_WORKSPACE_CONCURRENCY running tasks
 * across all processes. EXPLAIN of every statement on 1M tasks:
 * docs/benchmarks.md "Fair claims".
 *
 * - `cleanup_tasks_workspace_due_idx (workspace_id, run_at) WHERE pending`:
 *   the claim's walk over workspaces (the next workspace after the cursor
 *   and its oldest pending task: one index descent, however many tasks that
 *   workspace has queued), then that workspace's due tasks in run_at order;
 *   and claimableDueInMs. Partial on pending: the claim and the completion
 *   never insert into it, only enqueues, retries and releases.
 * - `cleanup_tasks_running_idx (workspace_id, locked_until) WHERE in_progress
 *   AND NOT awaiting_children` replaces `cleanup_tasks_lease_idx
 *   (locked_until)` with the same predicate: one index serves both the
 *   per-workspace count of running tasks (cleanup_tasks_free_slots) and the
 *   stale-lease sweep (findExpiredLeases reads every running entry and sorts
 *   them: as many as the processes' slots, a few hundred), so the claim pays
 *   one index insertion for both.
 * - `cleanup_tasks_free_slots(workspace, cap)`: see its comment.
 *
 * The predicates are written so that only the queue's own statements can
 * use these indexes and those statements no other (the status as `NOT IN`
 * the other statuses; the two pending indexes told apart by an always-true
 * condition): TaskQueueRepository's PENDING_BY_RUN_AT, PENDING_BY_WORKSPACE
 * and RUNNING say why. cleanup_tasks_due_idx (the oldest-first claim,
 * nextDueInMs) is rebuilt so.
 *
 * The queue's indexes keep no posting lists (`deduplicate_items = off`,
 * cleanup_tasks_due_idx too): tasks enqueued by one statement share
 * run_at, and B-tree deduplication would fold a workspace's whole batch into
 * a posting list. An index entry can be marked dead only when every row it
 * points to is dead, so each claim would re-read from the heap every task
 * already claimed from that batch (hundreds of heap visits per claim, seen
 * as `Heap Fetches` in EXPLAIN). Separate entries are marked dead once and
 * skipped after that. Measured on 20,000 tasks in 100 workspaces: the fair
 * claim went from 145–166 to 118–121 µs of PostgreSQL time per task.
 *
 * Indexes built CONCURRENTLY (outside a transaction), as in
 * ResourceIdIndex1764806400000: upgrading a large table does not block the
 * scheduler's writes; an invalid index left by an interrupted build is
 * dropped and built again.
 */
export class FairClaims1764970000000 implements MigrationInterface {
  name = 'FairClaims1764970000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      q,
      'cleanup_tasks_workspace_due_idx',
      `ON cleanup_tasks (workspace_id, run_at) WITH (deduplicate_items = off)
        WHERE status NOT IN ('in_progress', 'completed', 'failed') AND attempts >= 0`,
    );
    await replaceIndex(
      q,
      'cleanup_tasks_due_idx',
      `ON cleanup_tasks (run_at) WITH (deduplicate_items = off) WHERE status NOT IN ('in_progress', 'completed', 'failed') AND attempts_base >= 0`,
    );
    await createIndexConcurrently(
      q,
      'cleanup_tasks_running_idx',
      `ON cleanup_tasks (workspace_id, locked_until) WITH (deduplicate_items = off)
        WHERE status NOT IN ('pending', 'completed', 'failed') AND NOT awaiting_children`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS cleanup_tasks_lease_idx`);

    // The per-workspace cap, safe across concurrent claimers. Called by the
    // fair claim once per workspace it visits, before it takes any of that
    // workspace's tasks:
    // 1. pg_try_advisory_xact_lock(class, hashtext(workspace)): claims of one
    //    workspace run one at a time; a claim that finds the lock taken gets
    //    -1 and skips the workspace (the holder is claiming its tasks now).
    //    The lock is held until the claiming transaction commits.
    // 2. The count then runs in a snapshot of its own, taken after the lock
    //    (plpgsql runs each query of a VOLATILE function in a fresh snapshot
    //    under READ COMMITTED; a LANGUAGE sql function could be inlined into
    //    the caller and share its older snapshot, so this one is plpgsql). A
    //    commit is visible before its locks are released, so the count sees
    //    every claim of this workspace that committed before ours started.
    // Only claims make a task running, so between this count and our commit
    // the number of running tasks can only fall (completions): granting
    // cap - running never exceeds the cap. Counted up to the cap (LIMIT), so
    // a workspace over it (claims made with fair claims off) costs no more.
    await q.query(`
      CREATE OR REPLACE FUNCTION cleanup_tasks_free_slots(workspace text, cap integer) RETURNS integer
        LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        IF NOT pg_try_advisory_xact_lock(${ADVISORY_LOCKS.workspaceClaim}, hashtext(workspace)) THEN
          RETURN -1;
        END IF;
        RETURN cap - (SELECT count(*) FROM (
                        SELECT 1 FROM cleanup_tasks
                         WHERE workspace_id = workspace AND status NOT IN ('pending', 'completed', 'failed') AND NOT awaiting_children
                         LIMIT cap) AS running)::integer;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS cleanup_tasks_free_slots(text, integer)`);
    await replaceIndex(q, 'cleanup_tasks_due_idx', `ON cleanup_tasks (run_at) WHERE status = 'pending'`);
    await createIndexConcurrently(
      q,
      'cleanup_tasks_lease_idx',
      `ON cleanup_tasks (locked_until) WHERE status = 'in_progress' AND NOT awaiting_children`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS cleanup_tasks_running_idx`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS cleanup_tasks_workspace_due_idx`);
  }
}

/** Builds `definition` as `name`_new, drops `name` and renames the new one, without blocking writes; idempotent. */
export async function replaceIndex(q: QueryRunner, name: string, definition: string): Promise<void> {
  const building = `${name}_new`;
  await createIndexConcurrently(q, building, definition);
  await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  await q.query(`ALTER INDEX ${building} RENAME TO ${name}`);
}

/** CREATE INDEX CONCURRENTLY, idempotent, rebuilding an invalid leftover of an interrupted build. */
export async function createIndexConcurrently(q: QueryRunner, name: string, definition: string): Promise<void> {
  const invalid: unknown[] = await q.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND NOT i.indisvalid`,
    [name],
  );
  if (invalid.length > 0) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ${definition}`);
}
