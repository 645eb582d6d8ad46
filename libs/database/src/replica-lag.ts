/** Checks run at most this often, and only when a read asks. */
export const REPLICA_CHECK_INTERVAL_MS = 1000;

/**
 * The replica's lag as PostgreSQL tells it, in ms: 0 when the replica has
 * replayed all the WAL it received (or is not in recovery at all), else the
 * age of the last transaction it replayed; NULL when it has replayed none
 * since it started (unknown: not used).
 */
export const REPLICA_LAG_SQL = `
  SELECT CASE
           WHEN NOT pg_is_in_recovery() THEN 0
           WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
           ELSE (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8
         END AS lag_ms`;

export type ReplicaState = 'unknown' | 'usable' | 'lagging' | 'unreachable';

/**
 * Whether reads may go to the replica, from a cached measurement: never a
 * round trip per read. A read that finds the last check a second old starts
 * the next one and goes by the cached value meanwhile. The cached lag ages
 * with its measurement (a replica 0 ms behind a second ago may be a second
 * behind now), so an old or missing measurement sends reads to the primary
 * until a check says otherwise.
 */
export class ReplicaLag {
  private lagMs?: number;
  private measuredAt = 0;
  private lastCheckAt = Number.NEGATIVE_INFINITY;
  private checking = false;
  private state: ReplicaState = 'unknown';

  constructor(
    private readonly measure: () => Promise<number | null>,
    readonly maxLagMs: number,
    /** Told when the state the checks find changes (for the log). */
    private readonly onChange: (state: ReplicaState, lagMs?: number) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a read now may go to the replica; at most once a second, starts a check (not awaited). */
  usable(): boolean {
    const now = this.now();
    if (!this.checking && now - this.lastCheckAt >= REPLICA_CHECK_INTERVAL_MS) void this.check(now);
    return this.lagMs !== undefined && this.lagMs + (now - this.measuredAt) <= this.maxLagMs;
  }

  /** A read could not reach the replica: reads go to the primary until a check reaches it again. */
  unreachable(): void {
    this.lagMs = undefined;
    this.report('unreachable');
  }

  /** The last measurement and when it was taken (epoch ms); none while unknown or unreachable. */
  get last(): { lagMs: number; measuredAt: number } | undefined {
    return this.lagMs === undefined ? undefined : { lagMs: this.lagMs, measuredAt: this.measuredAt };
  }

  /** Runs one check (a read starts them; tests call it to skip the wait). */
  async check(startedAt = this.now()): Promise<void> {
    this.checking = true;
    this.lastCheckAt = startedAt;
    try {
      const lagMs = await this.measure();
      // As of the check's start: what it reports is at least that old.
      this.lagMs = lagMs ?? undefined;
      this.measuredAt = startedAt;
      this.report(lagMs === null ? 'unknown' : lagMs <= this.maxLagMs ? 'usable' : 'lagging');
    } catch {
      this.unreachable();
    } finally {
      this.checking = false;
    }
  }

  private report(state: ReplicaState): void {
    if (state === this.state) return;
    this.state = state;
    this.onChange(state, this.lagMs);
  }
}
