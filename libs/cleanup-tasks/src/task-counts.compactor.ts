import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
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
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly repository: CleanupTasksRepository) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), COUNTS_COMPACTION_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    if (this.running || !this.timer) return;
    this.running = this.repository
      .compactTaskCounts()
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'task counters compaction failed; retrying at the next tick'))
      .finally(() => (this.running = undefined));
  }
}
