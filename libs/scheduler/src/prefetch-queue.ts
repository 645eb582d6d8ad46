import type { ClaimedTask } from './cleanup-handler';

/** A task claimed ahead should start within about this long, at the recent handler run times. */
export const PREFETCH_HORIZON_MS = 100;
/** Weight of the newest run in the running mean of handler run times. */
const RUN_TIME_WEIGHT = 0.1;

/**
 * Tasks claimed ahead of free slots: leased (so counted against their
 * workspace's cap, renewed by heartbeats) but not started, in claim order.
 * A slot that frees takes the next one at once, without a round trip; the
 * claim that refills the queue overlaps with running handlers.
 *
 * How deep: as many as this process's handlers are expected to start within
 * PREFETCH_HORIZON_MS, from a running mean of their run times, at most
 * SCHEDULER_PREFETCH. Short handlers (the common cleanup of one element)
 * get the full depth; handlers that run for seconds get none, so a task
 * never waits behind a long one here while another process has a free slot.
 * Before the first run is timed, nothing is claimed ahead.
 */
/** A task claimed ahead, with the local time (ms) its lease was last confirmed by PostgreSQL (first: the claim). */
export interface WaitingTask {
  task: ClaimedTask;
  leaseConfirmedAt: number;
}

export class PrefetchQueue {
  private readonly waiting: WaitingTask[] = [];
  private meanRunMs: number | undefined;

  constructor(
    private readonly maxDepth: number,
    private readonly concurrency: number,
  ) {}

  get size(): number {
    return this.waiting.length;
  }

  /** How many tasks to hold ahead now. */
  depth(): number {
    if (this.maxDepth === 0 || this.meanRunMs === undefined) return 0;
    return Math.min(this.maxDepth, Math.floor((PREFETCH_HORIZON_MS * this.concurrency) / Math.max(this.meanRunMs, 0.001)));
  }

  /** A handler ran for `ms`: the depth follows the running mean. */
  recordRun(ms: number): void {
    this.meanRunMs = this.meanRunMs === undefined ? ms : this.meanRunMs + RUN_TIME_WEIGHT * (ms - this.meanRunMs);
  }

  /** Tasks a claim sent at `claimedAt` leased. */
  push(tasks: readonly ClaimedTask[], claimedAt: number): void {
    for (const task of tasks) this.waiting.push({ task, leaseConfirmedAt: claimedAt });
  }

  shift(): WaitingTask | undefined {
    return this.waiting.shift();
  }

  ids(): string[] {
    return this.waiting.map(({ task }) => task.id);
  }

  /** A lease renewal sent at `sentAt` confirmed these leases. */
  confirm(ids: ReadonlySet<string>, sentAt: number): void {
    for (const entry of this.waiting) if (ids.has(entry.task.id)) entry.leaseConfirmedAt = sentAt;
  }

  /** Drops the tasks with these ids (their leases were lost); returns those it held. */
  remove(ids: ReadonlySet<string>): ClaimedTask[] {
    return this.removeWhere((entry) => ids.has(entry.task.id));
  }

  /** Drops the tasks whose leases were last confirmed before `before` (the database is unreachable): too old to start safely. */
  removeUnconfirmedSince(before: number): ClaimedTask[] {
    return this.removeWhere((entry) => entry.leaseConfirmedAt < before);
  }

  /** Empties the queue (shutdown: their leases are handed back). */
  drain(): ClaimedTask[] {
    return this.waiting.splice(0).map(({ task }) => task);
  }

  private removeWhere(predicate: (entry: WaitingTask) => boolean): ClaimedTask[] {
    const removed = this.waiting.filter(predicate);
    if (removed.length > 0) this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((entry) => !predicate(entry)));
    return removed.map(({ task }) => task);
  }
}
