import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJob } from '@app/common';
import { ADVISORY_LOCKS } from '@app/database/advisory-locks';
import { WebhookDeliveryQueue, type PurgeResult } from './webhook-delivery-queue.repository';
import { WebhookSettings } from './webhook-settings';

const FIRST_SWEEP_DELAY_MS = 60_000;
const ROWS_PER_STATEMENT = 1000;
const MAX_STATEMENTS = 100;

export interface WebhookRetentionResult extends PurgeResult {
  /** Another process held the sweep's lock. */
  skipped: boolean;
}

/**
 * Hourly (first a minute after start; one process at a time, by advisory
 * lock): deletes deliveries delivered or given up more than
 * WEBHOOK_RETENTION_DAYS ago, with their logged attempts, and the events no
 * delivery refers to any more. Small batches keep each statement short.
 */
@Injectable()
export class WebhookRetentionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WebhookRetention');
  private readonly job: PeriodicJob;

  constructor(
    private readonly settings: WebhookSettings,
    private readonly queue: WebhookDeliveryQueue,
    schedulerRegistry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(
      async () => {
        const { deliveries, events } = await this.sweep();
        if (deliveries + events > 0) this.logger.log(`webhook retention: purged ${deliveries} deliveries and ${events} events`);
      },
      {
        name: 'webhooks:retention-sweep',
        everyMs: settings.retentionSweepIntervalMs,
        firstAfterMs: Math.min(FIRST_SWEEP_DELAY_MS, settings.retentionSweepIntervalMs),
        registry: schedulerRegistry,
        onError: (error) => this.logger.warn(`webhook retention sweep failed; next one in ${settings.retentionSweepIntervalMs} ms: ${error instanceof Error ? error.message : String(error)}`),
      },
    );
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  async sweep(now: Date = new Date()): Promise<WebhookRetentionResult> {
    const cutoff = new Date(now.getTime() - this.settings.retentionDays * 86_400_000);
    const { acquired, result } = await this.queue.withTryAdvisoryLock(ADVISORY_LOCKS.webhookRetention, async (client) => {
      const total: PurgeResult = { deliveries: 0, events: 0 };
      for (let statement = 0; statement < MAX_STATEMENTS; statement++) {
        const purged = await this.queue.purge(cutoff, ROWS_PER_STATEMENT, client);
        total.deliveries += purged.deliveries;
        total.events += purged.events;
        if (purged.deliveries < ROWS_PER_STATEMENT && purged.events < ROWS_PER_STATEMENT) break;
      }
      return total;
    });
    return { skipped: !acquired, deliveries: result?.deliveries ?? 0, events: result?.events ?? 0 };
  }
}
