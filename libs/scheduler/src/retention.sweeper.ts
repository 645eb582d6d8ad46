import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { SchedulerSettings } from './scheduler-settings';
import { TaskQueueRepository } from './task-queue.repository';

/** Advisory lock key of the sweep: one process purges at a time. */
export const RETENTION_SWEEP_LOCK = 0x43_54_52_54; // 'CTRT'
const INTERVAL_NAME = 'cleanup-tasks:retention-sweep';
const FIRST_SWEEP_NAME = 'cleanup-tasks:retention-first-sweep';
const FIRST_SWEEP_DELAY_MS = 60_000;
const ROOTS_PER_STATEMENT = 100;
const MAX_STATEMENTS = 100;

export interface RetentionSweepResult {
  skipped: boolean;
  /** Completed root tasks deleted, each with its whole tree. */
  purgedTrees: number;
}

/**
 * Off unless RETENTION_ENABLED: hourly (first a minute after start),
 * deletes completed task trees whose root completed more than RETENTION_DAYS
 * ago. Failed and unfinished trees are kept. Small batches keep each
 * statement short; a big backlog is worked off over several sweeps.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RetentionSweeper');
  private busy = false;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly queue: TaskQueueRepository,
    private readonly schedulerRegistry: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.settings.retention.enabled) return;
    this.schedulerRegistry.addTimeout(FIRST_SWEEP_NAME, setTimeout(() => void this.sweepQuietly(), FIRST_SWEEP_DELAY_MS));
    this.schedulerRegistry.addInterval(INTERVAL_NAME, setInterval(() => void this.sweepQuietly(), this.settings.retention.sweepIntervalMs));
    this.logger.log(`retention on: completed trees older than ${this.settings.retention.days} day(s) are purged hourly`);
  }

  beforeApplicationShutdown(): void {
    if (this.schedulerRegistry.doesExist('timeout', FIRST_SWEEP_NAME)) this.schedulerRegistry.deleteTimeout(FIRST_SWEEP_NAME);
    if (this.schedulerRegistry.doesExist('interval', INTERVAL_NAME)) this.schedulerRegistry.deleteInterval(INTERVAL_NAME);
  }

  async sweep(now: Date = new Date()): Promise<RetentionSweepResult> {
    const cutoff = new Date(now.getTime() - this.settings.retention.days * 86_400_000);
    const { acquired, result } = await this.queue.withTryAdvisoryLock(RETENTION_SWEEP_LOCK, async (client) => {
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

  private async sweepQuietly(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { purgedTrees } = await this.sweep();
      if (purgedTrees > 0) this.logger.log(`retention: purged ${purgedTrees} completed task tree(s)`);
    } catch (error) {
      this.logger.warn(`retention sweep failed; next one in an hour: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.busy = false;
    }
  }
}
