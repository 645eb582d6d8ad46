export interface JobRunnerOptions {
  /** Told of a failed round; the next tick tries again. */
  onError: (error: unknown) => void;
  /**
   * Least time between the starts of two rounds: a tick that comes sooner is
   * skipped. Lets a job declared with a fixed tick (`@Interval`) run at a
   * period taken from the configuration. Default 0: every tick.
   */
  minGapMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * The body of a periodic job whose timer `@nestjs/schedule` owns (`@Interval`,
 * `@Cron`, `@Timeout`): never two rounds at once (a tick that finds one
 * running is skipped), a failed round is reported and the next tick tries
 * again, and `stop()` waits for the round in progress and ignores later ticks,
 * so that nothing runs once shutdown began (Nest's schedule module clears its
 * timers only after the `beforeApplicationShutdown` hooks).
 */
export class JobRunner {
  private running?: Promise<void>;
  private lastStart?: number;
  private stopped = false;

  constructor(
    private readonly round: () => Promise<unknown>,
    private readonly options: JobRunnerOptions,
  ) {}

  /** Starts a round unless one is running, the last started less than `minGapMs` ago, or the job stopped; returns the round started. */
  tick(): Promise<void> | undefined {
    if (this.stopped || this.running) return undefined;
    const now = (this.options.now ?? Date.now)();
    if (this.lastStart !== undefined && now - this.lastStart < (this.options.minGapMs ?? 0)) return undefined;
    this.lastStart = now;
    const round = this.round()
      .then(() => undefined)
      .catch((error: unknown) => this.options.onError(error))
      .finally(() => (this.running = undefined));
    this.running = round;
    return round;
  }

  /** Ends the job: later ticks do nothing; waits for the round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
