import { applyDecorators, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { ResourceType } from '@app/cleanup-tasks/cleanup-task.enums';

/** A claimed task, as a handler sees it. */
export interface ClaimedTask {
  id: string;
  parentId: string | null;
  workspaceId: string;
  sourceEventId: string | null;
  resourceType: ResourceType;
  resourceId: string;
  metadata: Record<string, unknown>;
  /** Executions started so far, this one included. */
  attempts: number;
  /** `attempts` when the current budget of automatic attempts began. */
  attemptsBase: number;
  /** When the task became due (it waited from then until this claim). */
  runAt: Date;
  /** W3C traceparent of the request that enqueued it (tracing on): this attempt's trace parent. */
  traceParent: string | null;
}

export interface TaskContext {
  /**
   * Aborted when this worker lost the lease (another worker may run the task
   * now), could not renew it for half a lease (the database is unreachable;
   * the task runs again once it is back), or shuts down past its timeout.
   * Long handlers should pass it on and stop promptly: a handler that
   * outlives its lease may run beside the next holder.
   */
  signal: AbortSignal;
  workerId: string;
}

/** A child task to spawn; it inherits the parent's workspace and source event. */
export interface ChildTask {
  resourceType: ResourceType;
  resourceId: string;
  metadata?: Record<string, unknown>;
}

export interface HandlerResult {
  /**
   * Tasks that must complete before this one does. Spawning is idempotent on
   * (parent, resourceType, resourceId): a re-run may return the same children.
   */
  children?: ChildTask[];
}

/**
 * Deletes one resource. Must be idempotent: a task can run more than once
 * (a worker died after the work, before recording it), and deleting what is
 * already gone is success. Throw to fail the attempt.
 */
export interface CleanupTaskHandler {
  handle(task: ClaimedTask, context: TaskContext): Promise<HandlerResult | void>;
}

/**
 * Thrown by a handler when trying again cannot help (e.g. the task names a
 * resource of another workspace): the task fails at once, without retries.
 */
export class PermanentTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentTaskError';
  }
}

/** Discovery metadata: the resource type a provider handles. */
export const CLEANUP_HANDLER = DiscoveryService.createDecorator<ResourceType>();

/**
 * Marks a provider as the handler of one resource type. The scheduler finds
 * it at boot; boot fails when a type has no handler or more than one.
 */
export function CleanupHandler(resourceType: ResourceType): ClassDecorator {
  return applyDecorators(Injectable(), CLEANUP_HANDLER(resourceType));
}
