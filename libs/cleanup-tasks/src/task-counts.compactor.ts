import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { PeriodicJob } from '@app/common';
import { CleanupTasksRepository } from './cleanup-tasks.repository';

/** How often deltas are folded into the counters; readers sum at most this much of them. */
export const COUNTS_COMPACTION_INTERVAL_MS = 2000;

/**
 * Keeps the task counters cheap to read: the write path only appends deltas
 * (no contention for the scheduler), and this folds them into one row per
 * (workspace, resource type, status) every couple of seconds. Every process
 * runs it; an advisory lock lets one at a time do the work. A failed round
 * is logged and retried at the next tick (the counts stay exact regardless:
 * deltas are only ever moved, never lost).
 */
@Injectable()
export class CleanupTaskCountsCompactor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(CleanupTaskCountsCompactor.name);
  private readonly job: PeriodicJob;

  constructor(repository: CleanupTasksRepository) {
    this.job = new PeriodicJob(() => repository.compactTaskCounts(), {
      name: 'cleanup-tasks:counts-compaction',
      everyMs: COUNTS_COMPACTION_INTERVAL_MS,
      onError: (error) => this.logger.warn({ err: error }, 'task counters compaction failed; retrying at the next tick'),
    });
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  /** Stops the timer and waits for a compaction in progress. */
  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }
}
