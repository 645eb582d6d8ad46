import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { ChildTask } from './cleanup-handler';
import { type ChildSummary, TaskQueueRepository, type TaskRef } from './task-queue.repository';

export type SettleOutcome = 'completed' | 'awaiting_children' | 'failed' | 'lease_lost';

/** Deepest ancestor chain walked when a child settles; a guard against corrupt (cyclic) parent links. */
const MAX_TREE_DEPTH = 1000;
const MAX_ERROR_LENGTH = 2000;

/**
 * What happens in the database when a run ends: complete, wait for children,
 * fail, and settle the ancestors that were waiting for this task. Each path
 * is one transaction, so a crash between "child completed" and "parent
 * resolved" cannot leave a parent waiting forever.
 *
 * Row locks are always taken bottom-up along one path to the root (own row,
 * then parent, grandparent…). Two such paths share only their common upper
 * part, which both lock in the same order, so these transactions cannot
 * deadlock on each other. (The one top-down wait, spawnChildren's conflict
 * check, happens before any lock is held.)
 */
@Injectable()
export class TaskSettlement {
  constructor(private readonly queue: TaskQueueRepository) {}

  /**
   * Completes runs that spawned nothing, many per statement. Roots need no
   * transaction; children of one parent share one, which then resolves that
   * parent. A run whose task has unfinished children from an earlier run (or
   * whose lease is gone) takes the careful path of `settle`.
   */
  async completeMany(workerId: string, tasks: readonly TaskRef[]): Promise<Map<string, SettleOutcome>> {
    const outcomes = new Map<string, SettleOutcome>();
    const byParent = new Map<string | null, string[]>();
    for (const task of tasks) {
      const group = byParent.get(task.parentId) ?? [];
      group.push(task.id);
      byParent.set(task.parentId, group);
    }
    await Promise.all(
      [...byParent].map(async ([parentId, ids]) => {
        const completed =
          parentId === null
            ? await this.queue.completeTasks(workerId, ids)
            : await this.queue.transaction(async (tx) => {
                const done = await this.queue.completeTasks(workerId, ids, tx);
                if (done.length > 0) await this.resolveAncestors(tx, parentId);
                return done;
              });
        for (const { id } of completed) outcomes.set(id, 'completed');
      }),
    );
    for (const task of tasks) {
      if (!outcomes.has(task.id)) outcomes.set(task.id, await this.settle(workerId, task, []));
    }
    return outcomes;
  }

  /**
   * The careful path: spawn the children (idempotent), lock the leased row,
   * then decide from all of the task's children, including those of earlier
   * runs: any open → wait; any failed → fail naming it; else complete.
   *
   * Spawning comes before the row lock on purpose (see spawnChildren): an
   * earlier child completing right now locks this row to resolve it, and
   * the spawn's conflict check may wait for that child's transaction. If the
   * lease turns out lost, the children stay: they are what the new holder
   * spawns too.
   */
  settle(workerId: string, task: TaskRef, children: readonly ChildTask[]): Promise<SettleOutcome> {
    return this.queue.transaction(async (tx) => {
      await this.queue.spawnChildren(task.id, children, tx);
      const own = await this.queue.lockLeasedTask(tx, workerId, task.id);
      if (!own) return 'lease_lost';
      const summary = await this.queue.childSummary(task.id, tx);
      if (summary.hasOpen) {
        await this.queue.markAwaitingChildren(tx, workerId, task.id);
        return 'awaiting_children';
      }
      if (summary.firstFailed) {
        await this.queue.failTask(workerId, task.id, childFailureMessage(summary), tx);
        await this.resolveAncestors(tx, own.parentId);
        return 'failed';
      }
      await this.queue.completeTasks(workerId, [task.id], tx);
      await this.resolveAncestors(tx, own.parentId);
      return 'completed';
    });
  }

  /** The attempt failed and no attempts are left: the task fails, and so may its waiting ancestors. */
  failFinally(workerId: string, task: TaskRef, lastError: string): Promise<SettleOutcome> {
    return this.queue.transaction(async (tx) => {
      const failed = await this.queue.failTask(workerId, task.id, truncate(lastError), tx);
      if (!failed) return 'lease_lost';
      await this.resolveAncestors(tx, failed.parentId);
      return 'failed';
    });
  }

  /**
   * Walks up from `parentId` while each ancestor is waiting for children and
   * now has none open: it completes, or fails naming its first failed child.
   * Must run in the transaction that settled the child (see lockTask for why
   * the row lock comes first).
   */
  async resolveAncestors(tx: PoolClient, parentId: string | null): Promise<void> {
    let id = parentId;
    for (let depth = 0; id !== null && depth < MAX_TREE_DEPTH; depth++) {
      const parent = await this.queue.lockTask(tx, id);
      if (!parent || parent.status !== 'in_progress' || !parent.awaitingChildren) return;
      const summary = await this.queue.childSummary(id, tx);
      if (summary.hasOpen) return;
      if (summary.firstFailed) {
        await this.queue.failAwaitingTask(tx, id, childFailureMessage(summary));
      } else {
        await this.queue.completeAwaitingTask(tx, id);
      }
      id = parent.parentId;
    }
  }
}

/** The parent's lastError: which child failed, and why. */
export function childFailureMessage(summary: ChildSummary): string {
  const child = summary.firstFailed!;
  const more = summary.failedCount > 1 ? ` (and ${summary.failedCount - 1} more failed ${summary.failedCount === 2 ? 'child' : 'children'})` : '';
  return truncate(`child task ${child.id} (${child.resourceType} ${child.resourceId}) failed${more}: ${child.lastError ?? 'no error recorded'}`);
}

export function truncate(message: string): string {
  return message.length <= MAX_ERROR_LENGTH ? message : `${message.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}
