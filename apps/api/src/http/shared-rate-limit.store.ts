import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { JobRunner } from '@app/common';
import { RateLimitHitsRepository } from './rate-limit-hits.repository';

/** The flush's name in @nestjs/schedule's registry. */
export const RATE_LIMIT_FLUSH_JOB = 'api:rate-limit-flush';
/**
 * How often each process adds its counts to the shared rows and reads the
 * totals back. A client can overshoot its budget by what it sends in about
 * two of these (README, "Rate limits"); one statement per process per
 * interval, and none while the process served nobody.
 */
export const RATE_LIMIT_FLUSH_INTERVAL_MS = 500;
/** The purge of past windows; its period bounds the table to the clients of a few windows. */
export const RATE_LIMIT_PURGE_JOB = 'api:rate-limit-purge';
const RATE_LIMIT_PURGE_INTERVAL_MS = 60_000;
/**
 * Longest a flush waits for its answer. The pool bounds the wait for a
 * connection and the server the statement, but a server that vanished
 * without closing the connection would hold the flush (and every later one)
 * until TCP gives up. Past this the hits are kept for the next flush; should
 * the abandoned statement commit after all, they count twice, which errs on
 * the strict side.
 */
const FLUSH_TIMEOUT_MS = 3000;

/** One client's hits in the current window, as this process knows them. */
interface ClientCount {
  /** The total of every process as the last flush of this key returned it (this process's flushed hits included). */
  shared: number;
  /** Hits in the flush under way: not yet in `shared`. */
  sending: number;
  /** Hits counted here since (a delta: a request moved to another key takes one back). */
  pending: number;
}

const totalOf = (count: ClientCount): number => count.shared + count.sending + count.pending;

/** Logs the first failure of a job and its recovery, not every failed round in between. */
class FailureLog {
  private failing = false;

  constructor(
    private readonly logger: Logger,
    private readonly failed: string,
    private readonly recovered: string,
  ) {}

  failure(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn({ err: error }, this.failed);
  }

  success(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.log(this.recovered);
  }
}

/**
 * express-rate-limit's store for budgets shared by every API process through
 * PostgreSQL, without a database call per request: a request is counted in
 * memory and answered from the last shared total of its key plus the hits
 * this process has not flushed yet. Every RATE_LIMIT_FLUSH_INTERVAL_MS the
 * local counts of all keys go to `rate_limit_hits` in one upsert, which
 * returns the keys' totals across processes.
 *
 * Fixed windows aligned to the clock (minute :00 to :59): every process
 * names the same window without asking anyone, and a window's count is a sum
 * that any number of processes can add to in any order. The price is the
 * fixed window's edge (a client may spend one budget at the end of a minute
 * and the next at the start of the following one), as with the in-memory
 * store this replaces.
 *
 * The limiter never waits for the database: while it cannot be reached,
 * each process goes on with its own counts (logged once per outage), keeps
 * them, and adds them when a flush succeeds again.
 */
@Injectable()
export class SharedRateLimitStore implements Store, BeforeApplicationShutdown {
  /** Keys counted in one process's store affect the others (express-rate-limit's double-count check). */
  readonly localKeys = false;
  private readonly logger = new Logger('RateLimit');
  private windowMs = 60_000;
  private windowStart = 0;
  private counts = new Map<string, ClientCount>();
  private readonly flushFailures = new FailureLog(
    this.logger,
    'cannot share rate-limit budgets (the database did not take the counts); this process limits on its own counts until it does',
    'rate-limit budgets are shared again',
  );
  private readonly purgeFailures = new FailureLog(this.logger, 'cannot purge past rate-limit windows; retrying every minute', 'past rate-limit windows purged again');
  private readonly flusher: JobRunner;
  private readonly purger: JobRunner;

  constructor(private readonly hits: RateLimitHitsRepository) {
    this.flusher = new JobRunner(
      async () => {
        if (await this.flush()) this.flushFailures.success();
      },
      { onError: (error) => this.flushFailures.failure(error) },
    );
    this.purger = new JobRunner(
      async () => {
        await this.purge();
        this.purgeFailures.success();
      },
      { onError: (error) => this.purgeFailures.failure(error) },
    );
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  increment(key: string): ClientRateLimitInfo {
    const count = this.countOf(key);
    count.pending += 1;
    return { totalHits: totalOf(count), resetTime: new Date(this.windowStart + this.windowMs) };
  }

  decrement(key: string): void {
    this.roll();
    const count = this.counts.get(key);
    if (count && totalOf(count) > 0) count.pending -= 1;
  }

  /**
   * Moves one hit from `fromKey` to `toKey`, if it was counted in the window
   * that ends at `resetTime` (the one still current); a hit of a past window
   * stays where it was.
   */
  transfer(fromKey: string, toKey: string, resetTime: Date): void {
    this.roll();
    if (resetTime.getTime() !== this.windowStart + this.windowMs) return;
    this.decrement(fromKey);
    this.countOf(toKey).pending += 1;
  }

  /** Forgets this process's counts of `key`, its unflushed hits included; what other processes counted stays until the window ends. */
  resetKey(key: string): void {
    this.counts.delete(key);
  }

  /**
   * Adds the hits counted here since the last flush to the shared rows in
   * one statement, and takes the totals it returns as the keys' new shared
   * counts. On failure the hits stay pending for the next flush (within the
   * same window) and the error is thrown. False when there was nothing to send.
   */
  async flush(): Promise<boolean> {
    this.roll();
    const windowStart = this.windowStart;
    const batch = [...this.counts].filter(([, count]) => count.pending !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (batch.length === 0) return false;
    for (const [, count] of batch) {
      count.sending = count.pending;
      count.pending = 0;
    }
    let totals: Map<string, number>;
    try {
      totals = await this.addHitsWithinTimeout(
        new Date(windowStart),
        batch.map(([key]) => key),
        batch.map(([, count]) => count.sending),
      );
    } catch (error) {
      for (const [, count] of batch) {
        count.pending += count.sending;
        count.sending = 0;
      }
      throw error;
    }
    // Counts of a window that ended meanwhile (or of a key reset meanwhile) are no longer read: updating them is harmless.
    for (const [key, count] of batch) {
      count.shared = totals.get(key) ?? count.shared + count.sending;
      count.sending = 0;
    }
    return true;
  }

  /** Deletes the windows before the previous one (that one may still take a late flush); returns how many rows went. */
  purge(): Promise<number> {
    this.roll();
    return this.hits.purgeBefore(new Date(this.windowStart - this.windowMs));
  }

  @Interval(RATE_LIMIT_FLUSH_JOB, RATE_LIMIT_FLUSH_INTERVAL_MS)
  flushTick(): Promise<void> | undefined {
    return this.flusher.tick();
  }

  @Interval(RATE_LIMIT_PURGE_JOB, RATE_LIMIT_PURGE_INTERVAL_MS)
  purgeTick(): Promise<void> | undefined {
    return this.purger.tick();
  }

  /**
   * Waits for a flush or purge in progress (none starts afterwards), then
   * flushes what was counted since, so that a restart does not hand those
   * hits back to their clients.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([this.flusher.stop(), this.purger.stop()]);
    await this.flush().catch((error: unknown) => this.flushFailures.failure(error));
  }

  private async addHitsWithinTimeout(windowStart: Date, keys: string[], hits: number[]): Promise<Map<string, number>> {
    const adding = this.hits.addHits(windowStart, keys, hits);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${FLUSH_TIMEOUT_MS} ms`)), FLUSH_TIMEOUT_MS);
    });
    try {
      return await Promise.race([adding, timeout]);
    } finally {
      clearTimeout(timer);
      // An abandoned statement's late failure has nobody left to tell.
      adding.catch(() => undefined);
    }
  }

  private countOf(key: string): ClientCount {
    this.roll();
    let count = this.counts.get(key);
    if (!count) {
      count = { shared: 0, sending: 0, pending: 0 };
      this.counts.set(key, count);
    }
    return count;
  }

  /** Starts a new window's counts when the clock has left the current one. */
  private roll(): void {
    const start = Math.floor(Date.now() / this.windowMs) * this.windowMs;
    if (start === this.windowStart) return;
    this.windowStart = start;
    this.counts = new Map();
  }
}
