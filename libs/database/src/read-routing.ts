import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import pg, { type Pool } from 'pg';
import { isDatabaseUnavailable, sqlStateOf } from '@app/common/errors/sql-state';
import { poolConfig, transactionPrelude, type DatabaseSettings, type PoolShape } from './database-settings';
import { REPLICA_LAG_SQL, ReplicaLag, type ReplicaState } from './replica-lag';
import type { SqlExecutor } from './sql-executor';
import { SqlPool, type PoolStats, type SqlSession } from './sql-pool';

/** Where a read ran. */
export type ReadSource = 'primary' | 'replica';

/**
 * A named read pool: `main` (short look-ups: the main pool on the primary)
 * or a bulkhead of its own shape (the list, tree downloads, …), one on each
 * server.
 */
export interface ReadPool {
  name: string;
  /** The bulkhead's shape; none for `main`. */
  shape?: Omit<PoolShape, 'name'>;
}

export const MAIN_READ_POOL: ReadPool = Object.freeze({ name: 'main' });

/** DATABASE_READ_URL and READ_REPLICA_MAX_LAG_MS. */
export interface ReadReplicaSettings {
  database: DatabaseSettings;
  maxLagMs: number;
}

export interface ReadOptions<T> {
  /** The replica's answer means "not there (yet)": read it again from the primary (read-your-writes after an enqueue). */
  missed?: (result: T) => boolean;
  /** Read from the primary whatever the replica's state (right after this process's own write). */
  primary?: boolean;
}

/** No connection of the read pool on the primary came free in time, or the primary could not be reached (`cause`). */
export class ReadCheckoutError extends Error {
  constructor(
    readonly pool: string,
    cause: unknown,
  ) {
    super(`no ${pool} connection: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ReadCheckoutError';
  }
}

/**
 * Whether the replica cancelled the statement, or ended the session, to
 * replay WAL that conflicted with it (hot standby): serialization_failure
 * (40001), or deadlock_detected (40P01) for a buffer-pin deadlock with the
 * startup process; nothing else on a read-only standby raises those. Not
 * query_canceled (57014): a cancelled statement that also passed its
 * statement_timeout is reported as the timeout, and a timeout repeated on
 * the primary would only load it with the same slow query.
 */
export function isRecoveryConflict(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state === '40001' || state === '40P01';
}

/** Connections of the pool that measures the replica's lag. */
const CHECK_POOL_SIZE = 1;

/**
 * Chooses the server of each read that may be a little stale (list, counts,
 * export, get by id, tree): the replica of DATABASE_READ_URL while its
 * cached lag is within READ_REPLICA_MAX_LAG_MS and it answers, else the
 * primary. Repositories ask for "a read connection of pool X" and never
 * learn which server gave it:
 *
 * - the replica unreachable (no connection, or one lost mid-read) or
 *   lagging: the primary, and back once a check finds it healthy;
 * - a result the replica does not have (`missed`): read again on the primary;
 * - a read the replica cancelled for a recovery conflict: again on the primary.
 *
 * Writes, claims and token checks never come here: they use SqlExecutor
 * and TypeORM, which reach the primary only. Without a replica every read
 * goes to the primary's pools, as before.
 */
export class ReadRouting implements OnApplicationShutdown {
  private readonly logger = new Logger('ReadRouting');
  private readonly lag?: ReplicaLag;
  private readonly replicaPools = new Map<string, SqlPool>();
  private checkPool?: Pool;
  private ended = false;

  constructor(
    private readonly db: SqlExecutor,
    private readonly replica?: ReadReplicaSettings,
  ) {
    if (replica) this.lag = new ReplicaLag(() => this.measureLag(), replica.maxLagMs, (state, lagMs) => this.logChange(state, lagMs));
  }

  /** The replica's last measured lag (ms) and when it was measured; undefined without a replica or while unknown. */
  get replicaLag(): { lagMs: number; measuredAt: number } | undefined {
    return this.lag?.last;
  }

  /** Measures the replica's lag now rather than on the next read (tests: no wait for the first check). */
  async checkReplica(): Promise<void> {
    await this.lag?.check();
  }

  /**
   * Runs `work` on a read connection of `pool` and returns it to the pool
   * afterwards. `work` may run twice — on the replica, then on the primary —
   * so it must only read.
   */
  read<T>(pool: ReadPool, work: (session: SqlSession, source: ReadSource) => Promise<T>, options: ReadOptions<T> = {}): Promise<T> {
    return this.route(pool, work, options, true);
  }

  /**
   * Like read, for a read that keeps its connection once `work` succeeds (a
   * cursor handed to a streaming response): what `work` returns owns the
   * session and closes it. On a miss or a failure the session is closed here.
   */
  open<T>(pool: ReadPool, work: (session: SqlSession, source: ReadSource) => Promise<T>, options: ReadOptions<T> = {}): Promise<T> {
    return this.route(pool, work, options, false);
  }

  /** The replica's pools (`replica:<name>`): total, idle, waiting. */
  poolStats(): PoolStats[] {
    return [...this.replicaPools.values()].map((pool) => ({ ...pool.stats(), pool: `replica:${pool.name}` }));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const pools = [...[...this.replicaPools.values()].map((pool) => pool.pool), ...(this.checkPool ? [this.checkPool] : [])];
    this.replicaPools.clear();
    await Promise.allSettled(pools.map((pool) => pool.end()));
  }

  private async route<T>(pool: ReadPool, work: (session: SqlSession, source: ReadSource) => Promise<T>, options: ReadOptions<T>, close: boolean): Promise<T> {
    const session = !options.primary && this.lag?.usable() ? await this.replicaSession(pool) : undefined;
    if (session) {
      let result: T;
      try {
        result = await work(session, 'replica');
      } catch (error) {
        await session.close(error);
        if (isDatabaseUnavailable(error)) this.lag?.unreachable();
        else if (!isRecoveryConflict(error)) throw error;
        return this.onPrimary(pool, work, close);
      }
      if (!options.missed?.(result)) {
        if (close) await session.close();
        return result;
      }
      await session.close();
    }
    return this.onPrimary(pool, work, close);
  }

  private async onPrimary<T>(pool: ReadPool, work: (session: SqlSession, source: ReadSource) => Promise<T>, close: boolean): Promise<T> {
    let session: SqlSession;
    try {
      session = await (pool.shape ? this.db.sidePool(pool.name, pool.shape) : this.db.mainPool).connect();
    } catch (error) {
      throw new ReadCheckoutError(pool.name, error);
    }
    try {
      const result = await work(session, 'primary');
      if (close) await session.close();
      return result;
    } catch (error) {
      // A connection lost mid-read says the primary went away (outage handling reads it).
      this.db.availability.failed(error);
      await session.close(error);
      throw error;
    }
  }

  /** A connection of the replica's pool `pool`; undefined when none could be had (the read goes to the primary). */
  private async replicaSession(pool: ReadPool): Promise<SqlSession | undefined> {
    try {
      return await this.replicaPool(pool).connect();
    } catch (error) {
      // A busy replica pool says nothing about the replica; a refused or lost connection does.
      if (isDatabaseUnavailable(error)) this.lag?.unreachable();
      return undefined;
    }
  }

  private replicaPool(pool: ReadPool): SqlPool {
    let replicaPool = this.replicaPools.get(pool.name);
    if (!replicaPool) {
      if (this.ended) throw new Error(`the database connections are closed; cannot open the replica's ${pool.name} pool`);
      const settings = this.replica!.database;
      const shape: PoolShape = pool.shape ? { ...pool.shape, name: pool.name } : { max: settings.poolSize };
      replicaPool = new SqlPool(pool.name, createPool(poolConfig(settings, shape)), transactionPrelude(settings, shape), pool.shape !== undefined);
      this.replicaPools.set(pool.name, replicaPool);
    }
    return replicaPool;
  }

  private async measureLag(): Promise<number | null> {
    if (this.ended) throw new Error('the database connections are closed');
    const settings = this.replica!.database;
    // Bounded, so that a replica that stopped answering cannot hold the one check open.
    this.checkPool ??= createPool({ ...poolConfig(settings, { name: 'replica-check', max: CHECK_POOL_SIZE }), query_timeout: settings.connectTimeoutMs });
    const { rows } = await this.checkPool.query<{ lag_ms: number | null }>(REPLICA_LAG_SQL);
    return rows[0].lag_ms;
  }

  private logChange(state: ReplicaState, lagMs?: number): void {
    if (state === 'usable') this.logger.log({ msg: 'reads go to the read replica', lagMs });
    else if (state === 'lagging') this.logger.warn({ msg: 'read replica lags too far behind; reads go to the primary', lagMs, maxLagMs: this.lag!.maxLagMs });
    else if (state === 'unreachable') this.logger.warn({ msg: 'read replica unreachable; reads go to the primary' });
  }
}

function createPool(config: pg.PoolConfig): Pool {
  const pool = new pg.Pool(config);
  // An idle or checked-out connection that breaks (the replica restarted) only
  // drops that connection; its holder learns of it from its next query.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
