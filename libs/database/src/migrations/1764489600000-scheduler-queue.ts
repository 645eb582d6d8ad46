import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the scheduler needs beyond the initial schema: an index for parent
 * resolution, one for retention, and the NOTIFY that wakes idle workers.
 */
export class SchedulerQueue1764489600000 implements MigrationInterface {
  name = 'SchedulerQueue1764489600000';

  async up(q: QueryRunner): Promise<void> {
    // TaskQueueRepository.childSummary / completeTasks: "has this task a child
    // that is not completed (open or failed)?", asked once per finished child.
    // Partial on status <> 'completed', so a parent with 100,000 children of
    // which 3 are open answers from 3 index entries, not 100,000; and on
    // parent_id IS NOT NULL, so roots (every task of a flat queue) cost
    // nothing to maintain (`parent_id = $1` implies it, so the planner uses it).
    await q.query(`
      CREATE INDEX cleanup_tasks_unfinished_children_idx
        ON cleanup_tasks (parent_id, status)
        WHERE status <> 'completed' AND parent_id IS NOT NULL`);
    // TaskQueueRepository.purgeCompletedTrees: completed roots by age.
    await q.query(`
      CREATE INDEX cleanup_tasks_completed_roots_idx
        ON cleanup_tasks (completed_at)
        WHERE parent_id IS NULL AND status = 'completed'`);

    // Wake-up for idle workers (LISTEN cleanup_tasks_due): a notification is
    // sent at commit whenever a task becomes pending. The payload is empty, so
    // PostgreSQL folds all of one transaction's notifications into one.
    // Workers then claim with FOR UPDATE SKIP LOCKED; a missed notification
    // costs at most SCHEDULER_POLL_INTERVAL_MS.
    await q.query(`
      CREATE FUNCTION cleanup_tasks_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('cleanup_tasks_due', '');
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION cleanup_tasks_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM inserted_tasks WHERE status = 'pending') THEN
          PERFORM pg_notify('cleanup_tasks_due', '');
        END IF;
        RETURN NULL;
      END $$`);
    // Inserts (enqueue, spawned children): per statement, so that spawning
    // 100,000 children calls the function once, not 100,000 times.
    await q.query(`
      CREATE TRIGGER cleanup_tasks_notify_insert
        AFTER INSERT ON cleanup_tasks
        REFERENCING NEW TABLE AS inserted_tasks
        FOR EACH STATEMENT EXECUTE FUNCTION cleanup_tasks_notify_inserted()`);
    // Updates to pending (backoff, released or expired leases, retry): per
    // row, but the WHEN clause is evaluated without calling the function, so
    // the hot-path updates (claim, complete, heartbeat) cost nothing here.
    await q.query(`
      CREATE TRIGGER cleanup_tasks_notify_pending
        AFTER UPDATE OF status ON cleanup_tasks
        FOR EACH ROW
        WHEN (NEW.status = 'pending' AND OLD.status <> 'pending')
        EXECUTE FUNCTION cleanup_tasks_notify_due()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER cleanup_tasks_notify_pending ON cleanup_tasks`);
    await q.query(`DROP TRIGGER cleanup_tasks_notify_insert ON cleanup_tasks`);
    await q.query(`DROP FUNCTION cleanup_tasks_notify_inserted()`);
    await q.query(`DROP FUNCTION cleanup_tasks_notify_due()`);
    await q.query(`DROP INDEX cleanup_tasks_completed_roots_idx`);
    await q.query(`DROP INDEX cleanup_tasks_unfinished_children_idx`);
  }
}
