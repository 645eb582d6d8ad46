import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg, { type Pool, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import { DatabaseAvailability } from './database-availability';
import { clientConfig, directSettings, poolConfig, transactionPrelude, type DatabaseSettings, type PoolShape } from './database-settings';
import { SqlPool, type PoolStats } from './sql-pool';

export type { PoolStats } from './sql-pool';

/** Injection token of the process's DatabaseSettings. */
export const DATABASE_SETTINGS = Symbol('DATABASE_SETTINGS');

/** Where a statement runs: the executor's main pool (autocommit) or one transaction's client (a PoolClient). */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string | QueryConfig, values?: unknown[]): Promise<QueryResult<R>>;
}

/**
 * Connections kept for sessions of their own (session advisory locks: the
 * sweeps) when the main pool goes through a transaction pooler; one per
 * sweep that may run at once.
 */
const SESSION_POOL_SIZE = 4;

/**
 * The one way this application runs SQL by hand: repositories whose
 * statements are written out (the queue) or built by TypeORM's QueryBuilder
 * (`getQueryAndParameters()`) run them here, on `pg` pools built from one
 * DatabaseSettings. Plain `{ rows, rowCount }` results, named prepared
 * statements where a hot path wants them, transactions on one explicit
 * client, and side pools — bulkheads for work that holds connections long
 * (list queries, tree downloads), each with its own statement timeout.
 *
 * Behind a transaction pooler (DatabaseSettings.pooled) the same calls
 * work: statements go unnamed, session settings travel as SET LOCAL (see
 * SqlPool), and what needs a session of its own — advisory locks, LISTEN —
 * goes to the direct URL.
 *
 * TypeORM's DataSource (migrations, entity metadata, the entity
 * repositories of tokens and resources) keeps its own small pool.
 */
@Injectable()
export class SqlExecutor implements OnApplicationShutdown {
  /** Whether the calls made here last reached the database (readiness, metrics, outage handling). */
  readonly availability = new DatabaseAvailability();
  /** The main pool, with its settings (the read routing's `main` read pool on the primary). */
  readonly mainPool: SqlPool;
  private readonly sidePools = new Map<string, SqlPool>();
  /** Direct connections for session advisory locks, when the main pool goes through a pooler; opened on first use. */
  private sessions?: Pool;
  private ended = false;

  constructor(@Inject(DATABASE_SETTINGS) readonly settings: DatabaseSettings) {
    const shape = { max: settings.poolSize };
    this.mainPool = new SqlPool('main', this.createPool(settings, shape), transactionPrelude(settings, shape), false);
  }

  /** One statement on the main pool. */
  query<R extends QueryResultRow = QueryResultRow>(text: string | QueryConfig, values?: unknown[]): Promise<QueryResult<R>> {
    const main = this.mainPool.pool;
    return this.tracked(typeof text === 'string' ? main.query<R>(text, values) : main.query<R>(text));
  }

  /** A connection of the main pool; release it. */
  connect(): Promise<PoolClient> {
    return this.mainPool.pool.connect();
  }

  /**
   * Runs `work` in one READ COMMITTED transaction: on `client` if given (it
   * stays the caller's), else on a main-pool connection released afterwards.
   * ROLLBACK on any error, which is rethrown.
   */
  async transaction<T>(work: (tx: PoolClient) => Promise<T>, client?: PoolClient): Promise<T> {
    const tx = client ?? (await this.mainPool.pool.connect());
    try {
      // Behind a pooler the session settings ride on BEGIN (one message, no extra round trip).
      await tx.query(this.mainPool.beginStatement());
      const result = await work(tx);
      await tx.query('COMMIT');
      return result;
    } catch (error) {
      this.availability.failed(error);
      await tx.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      if (!client) tx.release();
    }
  }

  /**
   * Runs `work` while holding the session advisory lock `key`, if no other
   * session holds it; `acquired: false` otherwise. `work` gets the locked
   * connection (statements and transactions on it keep the lock). A session
   * lock needs a session: behind a pooler, a direct connection.
   */
  async withTryAdvisoryLock<T>(key: number, work: (client: PoolClient) => Promise<T>): Promise<{ acquired: boolean; result?: T }> {
    const client = await this.sessionPool().connect();
    try {
      const { rows } = await client.query<{ acquired: boolean }>('SELECT pg_try_advisory_lock($1) AS acquired', [key]);
      if (!rows[0].acquired) return { acquired: false };
      try {
        return { acquired: true, result: await work(client) };
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]);
      }
    } finally {
      client.release();
    }
  }

  /**
   * The side pool `name`, created on first use (processes that never list,
   * such as the worker, never open the list's connections). The first call's
   * shape holds for the pool's life. Its connections run every statement
   * with its settings (SqlSession), whether or not a pooler is in between.
   */
  sidePool(name: string, shape: Omit<PoolShape, 'name'>): SqlPool {
    let pool = this.sidePools.get(name);
    if (!pool) {
      if (this.ended) throw new Error(`the database connections are closed; cannot open the ${name} pool`);
      const named = { ...shape, name };
      pool = new SqlPool(name, this.createPool(this.settings, named), transactionPrelude(this.settings, named), true);
      this.sidePools.set(name, pool);
    }
    return pool;
  }

  /** A connection of its own, outside every pool (LISTEN), always direct: the caller connects and ends it. */
  createClient(name: string): pg.Client {
    return new pg.Client(clientConfig(this.settings, name));
  }

  /** Every pool's connections: total, idle, and callers waiting for one. */
  poolStats(): PoolStats[] {
    const sessions = this.sessions;
    return [
      this.mainPool.stats(),
      ...(sessions ? [{ pool: 'sessions', total: sessions.totalCount, idle: sessions.idleCount, waiting: sessions.waitingCount }] : []),
      ...[...this.sidePools.values()].map((pool) => pool.stats()),
    ];
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const pools = [this.mainPool.pool, ...(this.sessions ? [this.sessions] : []), ...[...this.sidePools.values()].map((side) => side.pool)];
    this.sidePools.clear();
    await Promise.allSettled(pools.map((pool) => pool.end()));
  }

  /** Where session advisory locks are taken: the main pool on a direct connection, else direct connections of their own. */
  private sessionPool(): Pool {
    if (!this.settings.pooled) return this.mainPool.pool;
    if (this.ended) throw new Error('the database connections are closed; cannot open a session');
    this.sessions ??= this.createPool(directSettings(this.settings), { name: 'sessions', max: SESSION_POOL_SIZE });
    return this.sessions;
  }

  private createPool(settings: DatabaseSettings, shape: PoolShape): Pool {
    const pool = new pg.Pool(poolConfig(settings, shape));
    // An idle connection's error (the server restarted) only drops that connection.
    pool.on('error', () => undefined);
    // A checked-out connection that breaks (the server stopped mid-transaction, or
    // while a tree download waits for its reader) emits 'error' too, with no pool
    // listener attached while it is out: unheard, that would end the process.
    // Its holder learns of it from its next query, which fails.
    pool.on('connect', (client) => client.on('error', () => undefined));
    // Every checkout (pool.query checks out too) tells whether the server was reachable.
    const connect = pool.connect.bind(pool) as (callback?: (error: Error | undefined, client?: PoolClient, done?: () => void) => void) => unknown;
    const availability = this.availability;
    pool.connect = function trackedConnect(callback?: (error: Error | undefined, client?: PoolClient, done?: () => void) => void) {
      if (callback) {
        return connect((error, client, done) => {
          if (error) availability.failed(error);
          else availability.succeeded();
          callback(error, client, done);
        });
      }
      return (connect() as Promise<PoolClient>).then(
        (client) => {
          availability.succeeded();
          return client;
        },
        (error: unknown) => {
          availability.failed(error);
          throw error;
        },
      );
    } as Pool['connect'];
    return pool;
  }

  private tracked<T>(result: Promise<T>): Promise<T> {
    return result.then(
      (value) => {
        this.availability.succeeded();
        return value;
      },
      (error: unknown) => {
        this.availability.failed(error);
        throw error;
      },
    );
  }
}
