import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Interval, Timeout } from '@nestjs/schedule';
import { JobRunner } from '@app/common';
import { ADVISORY_LOCKS } from '@app/database/advisory-locks';
import { WebhookDeliveryQueue, type PurgeResult } from './webhook-delivery-queue.repository';
import { WebhookSettings } from './webhook-settings';

/** The sweep's timers in @nestjs/schedule's registry: the first sweep, then the hourly one. */
export const WEBHOOK_RETENTION_FIRST_SWEEP_JOB = 'webhooks:retention-sweep:first';
export const WEBHOOK_RETENTION_SWEEP_JOB = 'webhooks:retention-sweep';
const FIRST_SWEEP_DELAY_MS = 60_000;
const SWEEP_INTERVAL_MS = 60 * 60_000;
const ROWS_PER_STATEMENT = 1000;
const MAX_STATEMENTS = 100;

export interface WebhookRetentionResult extends PurgeResult {
  /** Another process held the sweep's lock. */
  skipped: boolean;
}

/**
 * A minute after start and hourly after that (never two at once; one
 * process at a time, by advisory lock): deletes deliveries delivered or
 * given up more than WEBHOOK_RETENTION_DAYS ago, with their logged attempts,
 * and the events no delivery refers to any more. Small batches keep each
 * statement short.
 */
@Injectable()
export class WebhookRetentionSweeper implements BeforeApplicationShutdown {
  private readonly logger = new Logger('WebhookRetention');
  private readonly runner: JobRunner;

  constructor(
    private readonly settings: WebhookSettings,
    private readonly queue: WebhookDeliveryQueue,
  ) {
    this.runner = new JobRunner(
      async () => {
        const { deliveries, events } = await this.sweep();
        if (deliveries + events > 0) this.logger.log(`webhook retention: purged ${deliveries} deliveries and ${events} events`);
      },
      { onError: (error) => this.logger.warn(`webhook retention sweep failed; next one in an hour: ${error instanceof Error ? error.message : String(error)}`) },
    );
  }

  @Timeout(WEBHOOK_RETENTION_FIRST_SWEEP_JOB, FIRST_SWEEP_DELAY_MS)
  firstTick(): Promise<void> | undefined {
    return this.runner.tick();
  }

  @Interval(WEBHOOK_RETENTION_SWEEP_JOB, SWEEP_INTERVAL_MS)
  tick(): Promise<void> | undefined {
    return this.runner.tick();
  }

  /** Waits for a sweep in progress; no sweep starts afterwards. */
  beforeApplicationShutdown(): Promise<void> {
    return this.runner.stop();
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
