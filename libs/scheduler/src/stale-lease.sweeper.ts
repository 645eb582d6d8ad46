import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { JobRunner } from '@app/common';
import { ADVISORY_LOCKS } from '@app/database/advisory-locks';
import { SqlExecutor } from '@app/database/sql-executor';
import { SchedulerSettings } from './scheduler-settings';
import { SchedulerTelemetry } from './scheduler.telemetry';
import { TaskQueueRepository } from './task-queue.repository';
import { TaskSettlement } from './task-settlement';

/** The sweep's name in @nestjs/schedule's registry. */
export const STALE_LEASE_SWEEP_JOB = 'cleanup-tasks:stale-lease-sweep';
/**
 * The sweep's tick. A sweep runs every half lease (SchedulerSettings; the
 * lease is configured, a decorator's period is not), so the tick is the
 * shortest half lease (500 ms) and the runner skips ticks until one is due.
 */
const SWEEP_TICK_MS = 500;
const BATCH = 500;
const MAX_BATCHES = 10;

export interface StaleLeaseSweepResult {
  /** Another process held the sweep lock, or the database came back within a lease: this one did nothing. */
  skipped: boolean;
  requeued: number;
  failed: number;
}

/**
 * Every half lease: tasks whose lease expired (their worker died or stalled
 * without heartbeats) are due again at once, or failed when their attempts
 * are spent. Each in its own transaction, with ancestor resolution when it
 * fails, like a failure recorded by a worker. One process sweeps at a time
 * (advisory lock).
 *
 * Not within a lease of this process finding the database reachable again
 * after an outage: then every lease looks expired, the living workers' too,
 * which renew or release their own within a third of a lease (releasing
 * spends no attempt; expiring here would). A dead worker's tasks come back
 * that much later after an outage.
 */
@Injectable()
export class StaleLeaseSweeper implements BeforeApplicationShutdown {
  private readonly logger = new Logger('StaleLeaseSweeper');
  private readonly runner: JobRunner;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly queue: TaskQueueRepository,
    private readonly settlement: TaskSettlement,
    private readonly telemetry: SchedulerTelemetry,
    private readonly db: SqlExecutor,
  ) {
    this.runner = new JobRunner(
      async () => {
        const { requeued, failed } = await this.sweep();
        if (requeued + failed > 0) this.logger.warn(`expired leases: ${requeued} task(s) due again, ${failed} failed (no attempts left)`);
      },
      {
        minGapMs: settings.leaseSweepIntervalMs,
        onError: (error) =>
          this.logger.warn(`stale-lease sweep failed; next one in ${settings.leaseSweepIntervalMs} ms: ${error instanceof Error ? error.message : String(error)}`),
      },
    );
  }

  @Interval(STALE_LEASE_SWEEP_JOB, SWEEP_TICK_MS)
  tick(): Promise<void> | undefined {
    return this.runner.tick();
  }

  /** Waits for a sweep in progress; no sweep starts afterwards. */
  beforeApplicationShutdown(): Promise<void> {
    return this.runner.stop();
  }

  async sweep(): Promise<StaleLeaseSweepResult> {
    const recoveredAt = this.db.availability.recoveredAt;
    if (!this.db.availability.isUp || (recoveredAt !== undefined && Date.now() - recoveredAt < this.settings.leaseMs)) {
      return { skipped: true, requeued: 0, failed: 0 };
    }
    const { acquired, result } = await this.queue.withTryAdvisoryLock(ADVISORY_LOCKS.staleLeaseSweep, async (client) => {
      const counts = { requeued: 0, failed: 0 };
      for (let batch = 0; batch < MAX_BATCHES; batch++) {
        const ids = await this.queue.findExpiredLeases(BATCH);
        for (const id of ids) {
          const expired = await this.queue.transaction(async (tx) => {
            const task = await this.queue.expireLease(id, this.settings.maxAttempts, tx);
            if (task?.status === 'failed') await this.settlement.resolveAncestors(tx, task.parentId);
            return task;
          }, client);
          if (expired?.status === 'failed') {
            counts.failed++;
            this.telemetry.taskFailed(expired.resourceType);
          } else if (expired) {
            counts.requeued++;
          }
        }
        if (ids.length < BATCH) break;
      }
      this.telemetry.leasesReclaimed(counts.requeued + counts.failed);
      return counts;
    });
    return { skipped: !acquired, requeued: result?.requeued ?? 0, failed: result?.failed ?? 0 };
  }
}
