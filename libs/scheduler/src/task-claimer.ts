import { Injectable } from '@nestjs/common';
import type { ClaimedTask } from './cleanup-handler';
import { SchedulerSettings } from './scheduler-settings';
import { TaskQueueRepository } from './task-queue.repository';

/** Most workspaces one fair claim statement visits (each costs an index descent or two); the next statement goes on from there. */
const MAX_VISITS_PER_STATEMENT = 200;
/** Statements one claim runs at most while it comes back short for a reason the next statement overcomes (the visit bound, the wrap-around). */
const MAX_STATEMENTS_PER_CLAIM = 3;

export interface ClaimOutcome {
  tasks: ClaimedTask[];
  /** A workspace was skipped because another process was claiming its tasks at that moment: worth trying again shortly. */
  contended: boolean;
}

/**
 * How this process claims: fairly (SCHEDULER_FAIR_CLAIMS, the default:
 * round-robin over workspaces, each capped at SCHEDULER_WORKSPACE_CONCURRENCY
 * running tasks across all processes) or oldest first.
 *
 * Round-robin is per process: each fair claim walks the workspaces with
 * pending tasks in id order from where this process's previous claim stopped,
 * and wraps around at the end. Every workspace with due work and a free slot
 * is visited once a lap, however many tasks another one has queued.
 */
@Injectable()
export class TaskClaimer {
  /** The workspace_id this process's next fair claim starts after ('' : the first). */
  private cursor = '';

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly queue: TaskQueueRepository,
  ) {}

  /** Claims up to `limit` due tasks as leases of `workerId`. */
  async claim(workerId: string, limit: number): Promise<ClaimOutcome> {
    const { fairClaims, leaseMs, workspaceConcurrency } = this.settings;
    if (!fairClaims) return { tasks: await this.queue.claimDueTasks(workerId, limit, leaseMs), contended: false };

    const tasks: ClaimedTask[] = [];
    let contended = false;
    for (let statement = 0; statement < MAX_STATEMENTS_PER_CLAIM && tasks.length < limit; statement++) {
      const startedAfter = this.cursor;
      const result = await this.queue.claimDueTasksFairly(workerId, {
        limit: limit - tasks.length,
        leaseMs,
        cap: workspaceConcurrency,
        cursor: startedAfter,
        maxVisits: MAX_VISITS_PER_STATEMENT,
      });
      tasks.push(...result.tasks);
      contended ||= result.contended;
      this.cursor = result.reachedEnd ? '' : (result.lastVisited ?? '');
      // A walk from the first workspace to the last has seen them all.
      if (result.reachedEnd && startedAfter === '') break;
    }
    return { tasks, contended };
  }

  /**
   * Milliseconds until a claim could take a task (≤ 0: it could now), or
   * null when none could: nothing pending, or (fair claims) every workspace
   * with pending tasks at its cap, which only its own running tasks'
   * completions change, and those nudge the process that ran them.
   */
  nextClaimableInMs(): Promise<number | null> {
    const { fairClaims, workspaceConcurrency } = this.settings;
    return fairClaims ? this.queue.claimableDueInMs(workspaceConcurrency) : this.queue.nextDueInMs();
  }
}
