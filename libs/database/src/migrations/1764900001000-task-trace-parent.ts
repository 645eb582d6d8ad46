import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `trace_parent`: the W3C traceparent of the request that enqueued a task,
 * written only while tracing is on, so that the task's attempts (which run
 * later, often in another process) join that request's trace. Nullable and
 * without a default: adding it rewrites nothing, and rows without tracing
 * carry no bytes for it.
 */
export class TaskTraceParent1764900001000 implements MigrationInterface {
  name = 'TaskTraceParent1764900001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cleanup_tasks ADD COLUMN trace_parent text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cleanup_tasks DROP COLUMN trace_parent`);
  }
}
