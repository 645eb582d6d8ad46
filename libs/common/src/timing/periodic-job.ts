/** The part of `@nestjs/schedule`'s SchedulerRegistry a job registers its timers with (named, inspectable). */
export interface TimerRegistry {
  addInterval(name: string, intervalId: NodeJS.Timeout): void;
  addTimeout(name: string, timeoutId: NodeJS.Timeout): void;
  deleteInterval(name: string): void;
  deleteTimeout(name: string): void;
  doesExist(type: 'interval' | 'timeout', name: string): boolean;
}

export interface PeriodicJobOptions {
  /** Names the job's timers (and the registry entries): `<name>` and `<name>:first`. */
  name: string;
  /** Between two rounds. */
  everyMs: number;
  /** Before the first round; default `everyMs`. */
  firstAfterMs?: number;
  /** Told of a failed round; the next tick tries again. */
  onError: (error: unknown) => void;
  /** Where the timers are registered, if anywhere. */
  registry?: TimerRegistry;
}

/**
 * Runs `round` every `everyMs` in the background: never two rounds at once
 * (a tick that finds one running is skipped), a failed round is reported and
 * the next tick tries again, and `stop()` waits for the round in progress, so
 * that nothing runs after shutdown. The timers do not keep the process alive.
 */
export class PeriodicJob {
  private interval?: NodeJS.Timeout;
  private first?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly round: () => Promise<unknown>,
    private readonly options: PeriodicJobOptions,
  ) {}

  get started(): boolean {
    return this.first !== undefined || this.interval !== undefined;
  }

  start(): void {
    if (this.started) return;
    const { name, everyMs, registry } = this.options;
    const startInterval = () => {
      this.interval = setInterval(() => this.tick(), everyMs);
      this.interval.unref();
      registry?.addInterval(name, this.interval);
    };
    if (this.options.firstAfterMs === undefined) {
      startInterval();
      return;
    }
    this.first = setTimeout(() => {
      this.forget('timeout', `${name}:first`);
      this.first = undefined;
      startInterval();
      this.tick();
    }, this.options.firstAfterMs);
    this.first.unref();
    registry?.addTimeout(`${name}:first`, this.first);
  }

  /** Clears the timers and waits for a round in progress. */
  async stop(): Promise<void> {
    if (this.first) {
      clearTimeout(this.first);
      this.forget('timeout', `${this.options.name}:first`);
      this.first = undefined;
    }
    if (this.interval) {
      clearInterval(this.interval);
      this.forget('interval', this.options.name);
      this.interval = undefined;
    }
    await this.running;
  }

  private tick(): void {
    if (this.running || !this.started) return;
    this.running = this.round()
      .then(() => undefined)
      .catch((error: unknown) => this.options.onError(error))
      .finally(() => (this.running = undefined));
  }

  private forget(type: 'interval' | 'timeout', name: string): void {
    const registry = this.options.registry;
    if (!registry?.doesExist(type, name)) return;
    if (type === 'interval') registry.deleteInterval(name);
    else registry.deleteTimeout(name);
  }
}
