import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { backoffDelayMs } from '@app/scheduler/backoff';
import { type ClaimedDelivery, WebhookDeliveryQueue } from './webhook-delivery-queue.repository';
import { WebhookSecretCipher } from './webhook-secret-cipher';
import { postWebhook, targetPolicy, type WebhookAttemptResult } from './webhook-sender';
import { WebhookSettings } from './webhook-settings';
import { webhookHeaders } from './webhook-signature';

type WorkerState = 'created' | 'running' | 'stopping' | 'stopped';

interface InFlightDelivery {
  controller: AbortController;
  done: Promise<void>;
}

/** Shortest sleep before the next claim when a retry is due in a moment. */
const MIN_SLEEP_MS = 5;

/**
 * Delivers the webhook outbox from a scheduler process: claims due
 * deliveries up to its own WEBHOOK_CONCURRENCY (apart from the task
 * handlers' slots, so a slow receiver never holds up cleanup work), POSTs
 * each signed, and records the outcome. Idle, it sleeps until the next retry
 * is due or a second has passed, whichever comes first; a finished delivery
 * wakes it at once.
 */
@Injectable()
export class WebhookDeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Unique per process start, like the task worker's. */
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}:webhooks`;
  private readonly logger = new Logger('WebhookDelivery');
  private state: WorkerState = 'created';
  private readonly inFlight = new Map<string, InFlightDelivery>();
  private claiming = false;
  private claimScheduled = false;
  private claimRequested = false;
  private claimLoop: Promise<void> = Promise.resolve();
  private wakeTimer?: NodeJS.Timeout;
  private readonly refuse: (address: string) => string | undefined;

  constructor(
    private readonly settings: WebhookSettings,
    private readonly queue: WebhookDeliveryQueue,
    private readonly cipher: WebhookSecretCipher,
  ) {
    this.refuse = targetPolicy(settings.allowPrivateTargets);
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.state !== 'created') return;
    this.state = 'running';
    this.nudge();
  }

  /**
   * Stops claiming; lets deliveries in flight finish (each is bounded by
   * WEBHOOK_TIMEOUT_MS) for up to the shutdown timeout; then aborts the
   * rest and hands them back, due at once, to whichever process runs next.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    clearTimeout(this.wakeTimer);
    await this.claimLoop;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled([...this.inFlight.values()].map((entry) => entry.done)).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.settings.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished) {
      const left = [...this.inFlight.entries()];
      for (const [, entry] of left) entry.controller.abort();
      await Promise.allSettled(left.map(([, entry]) => entry.done));
      try {
        const released = await this.queue.release(this.id, left.map(([id]) => id));
        this.logger.warn(`shutdown: handed back ${released} webhook deliveries still in flight`);
      } catch (error) {
        this.logger.error(`could not hand back webhook deliveries on shutdown; they are due again when their leases end: ${describe(error)}`);
      }
    }
    this.state = 'stopped';
  }

  /** Claim now (coalesced). */
  nudge(): void {
    if (this.state !== 'running') return;
    if (this.claiming) {
      this.claimRequested = true;
      return;
    }
    if (this.claimScheduled) return;
    this.claimScheduled = true;
    setImmediate(() => {
      this.claimScheduled = false;
      if (this.state === 'running' && !this.claiming) this.claimLoop = this.claim();
    });
  }

  private async claim(): Promise<void> {
    this.claiming = true;
    clearTimeout(this.wakeTimer);
    let sleepMs: number | undefined;
    try {
      for (;;) {
        this.claimRequested = false;
        const free = this.settings.concurrency - this.inFlight.size;
        if (free <= 0) return; // every finished delivery nudges
        const ids = await this.queue.claim(this.id, free, this.settings.subscriptionConcurrency, this.settings.leaseMs);
        for (const delivery of await this.queue.load(this.id, ids)) this.deliver(delivery);
        if (this.state !== 'running') return;
        if (ids.length === free || this.claimRequested) continue;
        const nextDueMs = await this.queue.nextDueInMs();
        const { pollIntervalMs } = this.settings;
        sleepMs = nextDueMs === null ? pollIntervalMs : Math.min(pollIntervalMs, Math.max(MIN_SLEEP_MS, nextDueMs));
        return;
      }
    } catch (error) {
      sleepMs = this.settings.pollIntervalMs;
      this.logger.warn(`claiming webhook deliveries failed; trying again in ${sleepMs} ms: ${describe(error)}`);
    } finally {
      this.claiming = false;
      if (this.state === 'running' && sleepMs !== undefined) this.wakeTimer = setTimeout(() => this.nudge(), sleepMs);
      if (this.claimRequested) {
        this.claimRequested = false;
        this.nudge();
      }
    }
  }

  private deliver(delivery: ClaimedDelivery): void {
    const controller = new AbortController();
    const entry: InFlightDelivery = { controller, done: Promise.resolve() };
    this.inFlight.set(delivery.id, entry);
    entry.done = this.attempt(delivery, controller.signal)
      .catch((error: unknown) =>
        this.logger.error(`webhook delivery ${delivery.eventId} → ${delivery.subscriptionId}: recording the attempt failed; it is due again when its lease ends: ${describe(error)}`),
      )
      .finally(() => {
        this.inFlight.delete(delivery.id);
        this.nudge();
      });
  }

  private async attempt(delivery: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    const attemptedAt = new Date();
    const result = await this.send(delivery, signal);
    if (signal.aborted) return; // handed back at shutdown; not counted
    const retryDelayMs = backoffDelayMs(delivery.attempt, this.settings.backoff);
    const status = await this.queue.record(
      this.id,
      { deliveryId: delivery.id, subscriptionId: delivery.subscriptionId, eventId: delivery.eventId, attempt: delivery.attempt, attemptedAt, ...result },
      this.settings.maxAttempts,
      retryDelayMs,
    );
    if (status === 'failed') {
      this.logger.warn(`webhook ${delivery.eventId} → ${delivery.subscriptionId} given up after ${delivery.attempt} attempt(s): ${result.error}`);
    } else if (status === 'pending') {
      this.logger.debug(`webhook ${delivery.eventId} → ${delivery.subscriptionId} attempt ${delivery.attempt} failed, next in ${retryDelayMs} ms: ${result.error}`);
    }
  }

  private async send(delivery: ClaimedDelivery, signal: AbortSignal): Promise<WebhookAttemptResult> {
    let secrets: string[];
    try {
      secrets = delivery.storedSecrets.map((stored) => this.cipher.open(stored, delivery.subscriptionId));
    } catch (error) {
      return { ok: false, statusCode: null, durationMs: 0, error: describe(error) };
    }
    const timestamp = Math.floor(Date.now() / 1000);
    return postWebhook(
      { url: delivery.url, body: delivery.body, headers: webhookHeaders(secrets, delivery.eventId, timestamp, delivery.body) },
      { timeoutMs: this.settings.timeoutMs, refuse: this.refuse, signal },
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
