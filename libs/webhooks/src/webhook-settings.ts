import type { AppConfig } from '@app/common';
import type { BackoffPolicy } from '@app/scheduler/backoff';

/** How long a delivery lease outlives its attempt's timeout: time to record the outcome. */
const LEASE_MARGIN_MS = 20_000;

/** The webhook settings, derived once from the validated configuration. */
export class WebhookSettings {
  maxAttempts: number;
  retentionDays: number;
  allowPrivateTargets: boolean;
  concurrency: number;
  subscriptionConcurrency: number;
  timeoutMs: number;
  /**
   * A claimed delivery is leased this long: past its attempt's timeout, so
   * that only a process that died (or stalled) loses it, and then the
   * delivery is due again when the lease ends.
   */
  leaseMs: number;
  backoff: BackoffPolicy;
  /** Longest sleep of an idle delivery loop: how soon a new event is picked up at worst. */
  pollIntervalMs: number;
  /** On shutdown: how long deliveries in flight may finish before they are handed back. */
  shutdownTimeoutMs: number;

  static from(config: AppConfig): WebhookSettings {
    return Object.assign(new WebhookSettings(), {
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      retentionDays: config.WEBHOOK_RETENTION_DAYS,
      allowPrivateTargets: config.WEBHOOKS_ALLOW_PRIVATE_TARGETS,
      concurrency: config.WEBHOOK_CONCURRENCY,
      subscriptionConcurrency: config.WEBHOOK_SUBSCRIPTION_CONCURRENCY,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      leaseMs: config.WEBHOOK_TIMEOUT_MS + LEASE_MARGIN_MS,
      backoff: { baseMs: config.WEBHOOK_BACKOFF_BASE_MS, maxMs: Math.max(config.WEBHOOK_BACKOFF_BASE_MS, config.WEBHOOK_BACKOFF_MAX_MS) },
      pollIntervalMs: 1000,
      shutdownTimeoutMs: config.SCHEDULER_SHUTDOWN_TIMEOUT_MS,
    });
  }
}
