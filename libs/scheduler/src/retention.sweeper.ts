import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Interval, SchedulerRegistry, Timeout } from '@nestjs/schedule';
import { JobRunner } from '@app/common';
import { ADVISORY_LOCKS } from '@app/database/advisory-locks';
import { SchedulerSettings } from './scheduler-settings';
import { TaskQueueRepository } from './task-queue.repository';

/** The sweep's timers in @nestjs/schedule's registry: the first sweep, then the hourly one. */
export const RETENTION_FIRST_SWEEP_JOB = 'cleanup-tasks:retention-sweep:first';
export const RETENTION_SWEEP_JOB = 'cleanup-tasks:retention-sweep';
const FIRST_SWEEP_DELAY_MS = 60_000;
const SWEEP_INTERVAL_MS = 60 * 60_000;
const ROOTS_PER_STATEMENT = 100;
const MAX_STATEMENTS = 100;

export interface RetentionSweepResult {
  skipped: boolean;
  /** Completed root tasks deleted, each with its whole tree. */
  purgedTrees: number;
}

/**
 * Off unless RETENTION_ENABLED (then its timers are removed at start-up):
 * a minute after start and hourly after that (never two at once, one
 * process at a time by advisory lock), deletes completed task trees whose
 * root completed more than RETENTION_DAYS ago. Failed and unfinished trees
 * are kept. Small batches keep each statement short; a big backlog is
 * worked off over several sweeps.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RetentionSweeper');
  private readonly runner: JobRunner;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly queue: TaskQueueRepository,
    private readonly schedulerRegistry: SchedulerRegistry,
  ) {
    this.runner = new JobRunner(
      async () => {
        const { purgedTrees } = await this.sweep();
        if (purgedTrees > 0) this.logger.log(`retention: purged ${purgedTrees} completed task tree(s)`);
      },
      {
        onError: (error) => this.logger.warn(`retention sweep failed; next one in an hour: ${error instanceof Error ? error.message : String(error)}`),
      },
    );
  }

  /** The schedule module registered the timers at module init; with retention off they go. */
  onApplicationBootstrap(): void {
    if (!this.settings.retention.enabled) {
      for (const [type, name] of [['timeout', RETENTION_FIRST_SWEEP_JOB], ['interval', RETENTION_SWEEP_JOB]] as const) {
        if (!this.schedulerRegistry.doesExist(type, name)) continue;
        if (type === 'timeout') this.schedulerRegistry.deleteTimeout(name);
        else this.schedulerRegistry.deleteInterval(name);
      }
      return;
    }
    this.logger.log(`retention on: completed trees older than ${this.settings.retention.days} day(s) are purged hourly`);
  }

  @Timeout(RETENTION_FIRST_SWEEP_JOB, FIRST_SWEEP_DELAY_MS)
  firstTick(): Promise<void> | undefined {
    return this.tick();
  }

  @Interval(RETENTION_SWEEP_JOB, SWEEP_INTERVAL_MS)
  tick(): Promise<void> | undefined {
    return this.settings.retention.enabled ? this.runner.tick() : undefined;
  }

  /** Waits for a sweep in progress; no sweep starts afterwards. */
  beforeApplicationShutdown(): Promise<void> {
    return this.runner.stop();
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
