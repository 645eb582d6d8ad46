import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { JobRunner } from '@app/common';
import { CleanupTasksRepository } from './cleanup-tasks.repository';

/** The compaction's name in @nestjs/schedule's registry. */
export const COUNTS_COMPACTION_JOB = 'cleanup-tasks:counts-compaction';
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
export class CleanupTaskCountsCompactor implements BeforeApplicationShutdown {
  private readonly logger = new Logger(CleanupTaskCountsCompactor.name);
  private readonly runner: JobRunner;

  constructor(repository: CleanupTasksRepository) {
    this.runner = new JobRunner(() => repository.compactTaskCounts(), {
      onError: (error) => this.logger.warn({ err: error }, 'task counters compaction failed; retrying at the next tick'),
    });
  }

  @Interval(COUNTS_COMPACTION_JOB, COUNTS_COMPACTION_INTERVAL_MS)
  tick(): Promise<void> | undefined {
    return this.runner.tick();
  }

  /** Waits for a compaction in progress; none starts afterwards. */
  beforeApplicationShutdown(): Promise<void> {
    return this.runner.stop();
  }
}
