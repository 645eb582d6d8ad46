import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJob } from '@app/common';
import { ADVISORY_LOCKS } from '@app/database/advisory-locks';
import { SchedulerSettings } from './scheduler-settings';
import { TaskQueueRepository } from './task-queue.repository';

const FIRST_SWEEP_DELAY_MS = 60_000;
const ROOTS_PER_STATEMENT = 100;
const MAX_STATEMENTS = 100;

export interface RetentionSweepResult {
  skipped: boolean;
  /** Completed root tasks deleted, each with its whole tree. */
  purgedTrees: number;
}

/**
 * Off unless RETENTION_ENABLED: hourly (first a minute after start; never two at once),
 * deletes completed task trees whose root completed more than RETENTION_DAYS
 * ago. Failed and unfinished trees are kept. Small batches keep each
 * statement short; a big backlog is worked off over several sweeps.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RetentionSweeper');
  private readonly job: PeriodicJob;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly queue: TaskQueueRepository,
    schedulerRegistry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(
      async () => {
        const { purgedTrees } = await this.sweep();
        if (purgedTrees > 0) this.logger.log(`retention: purged ${purgedTrees} completed task tree(s)`);
      },
      {
        name: 'cleanup-tasks:retention-sweep',
        everyMs: settings.retention.sweepIntervalMs,
        firstAfterMs: Math.min(FIRST_SWEEP_DELAY_MS, settings.retention.sweepIntervalMs),
        registry: schedulerRegistry,
        onError: (error) =>
          this.logger.warn(`retention sweep failed; next one in ${settings.retention.sweepIntervalMs} ms: ${error instanceof Error ? error.message : String(error)}`),
      },
    );
  }

  onApplicationBootstrap(): void {
    if (!this.settings.retention.enabled) return;
    this.job.start();
    this.logger.log(`retention on: completed trees older than ${this.settings.retention.days} day(s) are purged every ${this.settings.retention.sweepIntervalMs / 60_000} min`);
  }

  /** Stops the timers and waits for a sweep in progress. */
  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  async sweep(now: Date = new Date()): Promise<RetentionSweepResult> {
    const cutoff = new Date(now.getTime() - this.settings.retention.days * 86_400_000);
    const { acquired, result } = await this.queue.withTryAdvisoryLock(ADVISORY_LOCKS.retentionSweep, async (client) => {
      let purged = 0;
      for (let statement = 0; statement < MAX_STATEMENTS; statement++) {
        const deleted = await this.queue.purgeCompletedTrees(cutoff, ROOTS_PER_STATEMENT, client);
        purged += deleted;
        if (deleted < ROOTS_PER_STATEMENT) break;
      }
      return purged;
    });
    return { skipped: !acquired, purgedTrees: result ?? 0 };
  }

}
