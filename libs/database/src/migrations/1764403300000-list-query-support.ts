import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What `GET /api/cleanup-tasks` needs beyond the initial schema: indexes for
 * the list's common query paths, exact task counters for cheap totals, and a
 * home for the cursor HMAC key.
 *
 * Indexes (each backed by EXPLAIN ANALYZE on 1M rows, docs/benchmarks.md
 * "List endpoint"). Every index costs the scheduler one more index insertion
 * per status update (those updates are never HOT: status is in partial-index
 * predicates), so only the contract's shortcut paths get one:
 * - `status` (shortcut and filter; "failed tasks, newest first"): was an
 *   index scan on (created_at, id) discarding ~24,000 rows for 51 failed
 *   ones (6 ms); now a range of (status, created_at, id) (0.3 ms).
 * - `resource_type` (shortcut; e.g. the 800 `delete_workspace` roots among
 *   1M tasks): ordered range instead of a sequential scan.
 * - `source_event_id` (shortcut: one event's whole tree): the initial schema
 *   indexes roots only (idempotent enqueue); this one covers every task, in
 *   created order, and lets PostgreSQL count a tree from the index alone.
 * Not added, on purpose: `parent_id` (cleanup_tasks_child_key leads with it:
 * children of a task are found and counted from it; sorting one parent's
 * children is bounded by its fan-out) and a GIN index on `metadata` (a
 * non-HOT update re-inserts every key of the document into a GIN index, on
 * each of the scheduler's status changes; metadata filters are expected
 * beside a workspace or status filter that the btrees narrow first).
 *
 * Counters: an exact count of tasks per (workspace, resource type, status),
 * kept by statement-level triggers in the same transaction as every write,
 * so totals of queries that only constrain those three columns (admin
 * unfiltered, member scope, status/resource_type/workspace shortcuts and
 * filters on those fields) are a sum over a few thousand rows instead of a
 * count over millions. The triggers only INSERT into an append-only delta
 * table: no row is ever updated on the write path, so the scheduler's
 * ~3,000 status changes a second contend on nothing. A compactor
 * (CleanupTaskCountsCompactor) folds deltas into `cleanup_task_counts`
 * every few seconds in one statement; readers sum both tables in one
 * snapshot, which is exact whether or not a compaction committed in between.
 */
export class ListQuerySupport1764403300000 implements MigrationInterface {
  name = 'ListQuerySupport1764403300000';

  async up(q: QueryRunner): Promise<void> {
    // CleanupTasksRepository.list: `status` shortcut/filter, ordered by
    // createdAt either way (backward scan for desc) — and status-only pages
    // whose total comes from the counters.
    await q.query(`CREATE INDEX cleanup_tasks_status_created_at_idx ON cleanup_tasks (status, created_at, id)`);
    // CleanupTasksRepository.list: `resource_type` shortcut/filter in created
    // order (delete_workspace roots, delete_database tasks are a few percent).
    await q.query(`CREATE INDEX cleanup_tasks_resource_type_created_at_idx ON cleanup_tasks (resource_type, created_at, id)`);
    // CleanupTasksRepository.list: `source_event_id` shortcut (and
    // sourceEventId eq/in filters): one event's tree, in created order, and
    // its exact count as an index-only scan.
    await q.query(`
      CREATE INDEX cleanup_tasks_source_event_created_at_idx
        ON cleanup_tasks (source_event_id, created_at, id)
        WHERE source_event_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE cleanup_task_counts (
        workspace_id  text COLLATE "C" NOT NULL,
        resource_type text COLLATE "C" NOT NULL,
        status        text COLLATE "C" NOT NULL,
        n             bigint NOT NULL,
        PRIMARY KEY (workspace_id, resource_type, status)
      )`);
    // Append-only, no index: the triggers' inserts stay as cheap as possible;
    // compaction keeps it to a few seconds' worth of rows.
    await q.query(`
      CREATE TABLE cleanup_task_count_deltas (
        workspace_id  text COLLATE "C" NOT NULL,
        resource_type text COLLATE "C" NOT NULL,
        status        text COLLATE "C" NOT NULL,
        n             bigint NOT NULL
      )`);

    // One function per statement kind, each one INSERT of aggregated deltas
    // (a claim of 20 tasks of one tree writes 2 rows, not 40). UPDATE cannot
    // name columns when it uses transition tables, so it runs for every
    // UPDATE statement; updates that change no counted column (heartbeats,
    // lease renewals) aggregate to nothing and insert nothing.
    await q.query(`
      CREATE FUNCTION cleanup_task_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO cleanup_task_count_deltas (workspace_id, resource_type, status, n)
        SELECT workspace_id, resource_type, status, count(*) FROM new_rows GROUP BY 1, 2, 3;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION cleanup_task_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO cleanup_task_count_deltas (workspace_id, resource_type, status, n)
        SELECT workspace_id, resource_type, status, -count(*) FROM old_rows GROUP BY 1, 2, 3;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION cleanup_task_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO cleanup_task_count_deltas (workspace_id, resource_type, status, n)
        SELECT workspace_id, resource_type, status, sum(n)
          FROM (SELECT workspace_id, resource_type, status, -1 AS n FROM old_rows
                UNION ALL
                SELECT workspace_id, resource_type, status, 1 FROM new_rows) AS changes
         GROUP BY 1, 2, 3
        HAVING sum(n) <> 0;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION cleanup_task_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM cleanup_task_count_deltas;
        DELETE FROM cleanup_task_counts;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER cleanup_task_counts_insert AFTER INSERT ON cleanup_tasks
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cleanup_task_counts_inserted()`);
    await q.query(`
      CREATE TRIGGER cleanup_task_counts_delete AFTER DELETE ON cleanup_tasks
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION cleanup_task_counts_deleted()`);
    await q.query(`
      CREATE TRIGGER cleanup_task_counts_update AFTER UPDATE ON cleanup_tasks
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cleanup_task_counts_updated()`);
    await q.query(`
      CREATE TRIGGER cleanup_task_counts_truncate AFTER TRUNCATE ON cleanup_tasks
        FOR EACH STATEMENT EXECUTE FUNCTION cleanup_task_counts_truncated()`);
    // Existing rows, counted under this migration's lock on cleanup_tasks
    // (CREATE TRIGGER blocks writers until commit), so nothing is missed.
    await q.query(`
      INSERT INTO cleanup_task_counts (workspace_id, resource_type, status, n)
      SELECT workspace_id, resource_type, status, count(*) FROM cleanup_tasks GROUP BY 1, 2, 3`);

    // Keys the service makes for itself when not configured (CURSOR_SECRET
    // unset): created once by whichever process starts first, then shared.
    await q.query(`
      CREATE TABLE service_secrets (
        name       text COLLATE "C" PRIMARY KEY,
        secret     text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE service_secrets`);
    await q.query(`DROP TRIGGER cleanup_task_counts_truncate ON cleanup_tasks`);
    await q.query(`DROP TRIGGER cleanup_task_counts_update ON cleanup_tasks`);
    await q.query(`DROP TRIGGER cleanup_task_counts_delete ON cleanup_tasks`);
    await q.query(`DROP TRIGGER cleanup_task_counts_insert ON cleanup_tasks`);
    await q.query(`DROP FUNCTION cleanup_task_counts_truncated()`);
    await q.query(`DROP FUNCTION cleanup_task_counts_updated()`);
    await q.query(`DROP FUNCTION cleanup_task_counts_deleted()`);
    await q.query(`DROP FUNCTION cleanup_task_counts_inserted()`);
    await q.query(`DROP TABLE cleanup_task_count_deltas`);
    await q.query(`DROP TABLE cleanup_task_counts`);
    await q.query(`DROP INDEX cleanup_tasks_source_event_created_at_idx`);
    await q.query(`DROP INDEX cleanup_tasks_resource_type_created_at_idx`);
    await q.query(`DROP INDEX cleanup_tasks_status_created_at_idx`);
  }
}
