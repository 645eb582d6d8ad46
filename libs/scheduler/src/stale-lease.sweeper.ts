import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJob } from '@app/common';
import { ADVISORY_LOCKS } from '@app/database/advisory-locks';
import { SqlExecutor } from '@app/database/sql-executor';
import { SchedulerSettings } from './scheduler-settings';
import { TaskQueueRepository } from './task-queue.repository';
import { TaskSettlement } from './task-settlement';

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
 * fails, like a failure recorded by a worker.
 *
 * Not within a lease of this process finding the database reachable again
 * after an outage: then every lease looks expired, the living workers' too,
 * which renew or release their own within a third of a lease (releasing
 * spends no attempt; expiring here would). A dead worker's tasks come back
 * that much later after an outage.
 */
@Injectable()
export class StaleLeaseSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('StaleLeaseSweeper');
  private readonly job: PeriodicJob;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly queue: TaskQueueRepository,
    private readonly settlement: TaskSettlement,
    schedulerRegistry: SchedulerRegistry,
    private readonly db: SqlExecutor,
  ) {
    this.job = new PeriodicJob(
      async () => {
        const { requeued, failed } = await this.sweep();
        if (requeued + failed > 0) this.logger.warn(`expired leases: ${requeued} task(s) due again, ${failed} failed (no attempts left)`);
      },
      {
        name: 'cleanup-tasks:stale-lease-sweep',
        everyMs: settings.leaseSweepIntervalMs,
        registry: schedulerRegistry,
        onError: (error) =>
          this.logger.warn(`stale-lease sweep failed; next one in ${settings.leaseSweepIntervalMs} ms: ${error instanceof Error ? error.message : String(error)}`),
      },
    );
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  /** Stops the timer and waits for a sweep in progress. */
  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
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
          if (expired?.status === 'failed') counts.failed++;
          else if (expired) counts.requeued++;
        }
        if (ids.length < BATCH) break;
      }
      return counts;
    });
    return { skipped: !acquired, requeued: result?.requeued ?? 0, failed: result?.failed ?? 0 };
  }

}
