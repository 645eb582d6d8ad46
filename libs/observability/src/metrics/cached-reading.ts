/**
 * A value read at most once every `maxAgeMs` (gauges that need SQL), and
 * served from memory in between. A caller waits at most `waitMs` for a
 * refresh: past that (the database is slow or down), it gets the last value
 * read, while the refresh goes on and serves the callers after it. A failed
 * read keeps the last value and counts as a read (no retry storm).
 */
export class CachedReading<T> {
  private value: T | undefined;
  private startedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: { maxAgeMs: number; waitMs: number; onError?: (error: unknown) => void; now?: () => number },
  ) {}

  /** The latest value (undefined until a read succeeded), refreshed first when it is older than `maxAgeMs`. */
  async get(): Promise<T | undefined> {
    const now = (this.options.now ?? Date.now)();
    if (!this.refreshing && now - this.startedAt >= this.options.maxAgeMs) {
      this.startedAt = now;
      // A read that throws before its promise exists fails like one that rejects.
      this.refreshing = new Promise<T>((resolve) => resolve(this.read())).then(
        (value) => {
          this.value = value;
        },
        (error: unknown) => this.options.onError?.(error),
      );
      void this.refreshing.finally(() => (this.refreshing = undefined));
    }
    if (this.refreshing) await waitAtMost(this.refreshing, this.options.waitMs);
    return this.value;
  }
}

async function waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
