import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ResourceType, TaskStatus } from './cleanup-task.enums';

/**
 * One row of `cleanup_tasks`: the API resource and, through the scheduler's
 * columns, the queue entry. The schema itself is owned by the migrations.
 */
@Entity({ name: 'cleanup_tasks' })
export class CleanupTask {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'parent_id', type: 'text', nullable: true })
  parentId: string | null;

  @Column({ name: 'workspace_id', type: 'text' })
  workspaceId: string;

  @Column({ name: 'source_event_id', type: 'text', nullable: true })
  sourceEventId: string | null;

  @Column({ name: 'resource_type', type: 'text' })
  resourceType: ResourceType;

  @Column({ name: 'resource_id', type: 'text' })
  resourceId: string;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  metadata: Record<string, unknown>;

  @Column({ type: 'text', default: 'pending' })
  status: TaskStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', precision: 3, nullable: true })
  completedAt: Date | null;

  // --- Scheduler columns (the table is the queue) ---

  /** When the task is next due; backoff moves it into the future. */
  @Column({ name: 'run_at', type: 'timestamptz' })
  runAt: Date;

  /** Worker id holding the lease, while `in_progress` and running. */
  @Column({ name: 'locked_by', type: 'text', nullable: true })
  lockedBy: string | null;

  /** Lease expiry: past it, another worker may claim the task again. */
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;

  /** The handler ran and spawned children; the task completes when they all have. */
  @Column({ name: 'awaiting_children', type: 'boolean', default: false })
  awaitingChildren: boolean;

  /** `attempts` when the current budget of automatic attempts began (a retry resets it). */
  @Column({ name: 'attempts_base', type: 'integer', default: 0 })
  attemptsBase: number;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  /** W3C traceparent of the enqueue request, while tracing is on: the task's attempts join its trace. */
  @Column({ name: 'trace_parent', type: 'text', nullable: true })
  traceParent: string | null;
}
