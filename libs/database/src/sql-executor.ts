import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg, { type Pool, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import { DatabaseAvailability } from './database-availability';
import { clientConfig, poolConfig, type DatabaseSettings, type PoolShape } from './database-settings';

/** Injection token of the process's DatabaseSettings. */
export const DATABASE_SETTINGS = Symbol('DATABASE_SETTINGS');

/** Where a statement runs: the executor's main pool (autocommit) or one transaction's client (a PoolClient). */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string | QueryConfig, values?: unknown[]): Promise<QueryResult<R>>;
}

/** What a pool holds right now (for metrics and diagnostics). */
export interface PoolStats {
  pool: string;
  total: number;
  idle: number;
  waiting: number;
}

/**
 * The one way this application runs SQL by hand: repositories whose
 * statements are written out (the queue) or built by TypeORM's QueryBuilder
 * (`getQueryAndParameters()`) run them here, on `pg` pools built from one
 * DatabaseSettings. Plain `{ rows, rowCount }` results, named prepared
 * statements where a hot path wants them, transactions on one explicit
 * client, and side pools — bulkheads for work that holds connections long
 * (list queries, tree downloads), each with its own statement timeout.
 *
 * TypeORM's DataSource (migrations, entity metadata, the entity
 * repositories of tokens and resources) keeps its own small pool.
 */
@Injectable()
export class SqlExecutor implements OnApplicationShutdown {
  /** Whether the calls made here last reached the database (readiness, metrics, outage handling). */
  readonly availability = new DatabaseAvailability();
  private readonly main: Pool;
  private readonly sidePools = new Map<string, Pool>();
  private ended = false;

  constructor(@Inject(DATABASE_SETTINGS) readonly settings: DatabaseSettings) {
    this.main = this.createPool({ max: settings.poolSize });
  }

  /** One statement on the main pool. */
  query<R extends QueryResultRow = QueryResultRow>(text: string | QueryConfig, values?: unknown[]): Promise<QueryResult<R>> {
    return this.tracked(typeof text === 'string' ? this.main.query<R>(text, values) : this.main.query<R>(text));
  }

  /** A connection of the main pool; release it. */
  connect(): Promise<PoolClient> {
    return this.main.connect();
  }

  /**
   * Runs `work` in one READ COMMITTED transaction: on `client` if given (it
   * stays the caller's), else on a main-pool connection released afterwards.
   * ROLLBACK on any error, which is rethrown.
   */
  async transaction<T>(work: (tx: PoolClient) => Promise<T>, client?: PoolClient): Promise<T> {
    const tx = client ?? (await this.main.connect());
    try {
      await tx.query('BEGIN');
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
   * connection (statements and transactions on it keep the lock).
   */
  async withTryAdvisoryLock<T>(key: number, work: (client: PoolClient) => Promise<T>): Promise<{ acquired: boolean; result?: T }> {
    const client = await this.main.connect();
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
   * shape holds for the pool's life.
   */
  sidePool(name: string, shape: Omit<PoolShape, 'name'>): Pool {
    let pool = this.sidePools.get(name);
    if (!pool) {
      if (this.ended) throw new Error(`the database connections are closed; cannot open the ${name} pool`);
      pool = this.createPool({ ...shape, name });
      this.sidePools.set(name, pool);
    }
    return pool;
  }

  /** A connection of its own, outside every pool (LISTEN): the caller connects and ends it. */
  createClient(name: string): pg.Client {
    return new pg.Client(clientConfig(this.settings, name));
  }

  /** Every pool's connections: total, idle, and callers waiting for one. */
  poolStats(): PoolStats[] {
    const stats = (pool: string, p: Pool): PoolStats => ({ pool, total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount });
    return [stats('main', this.main), ...[...this.sidePools].map(([name, pool]) => stats(name, pool))];
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const pools = [this.main, ...this.sidePools.values()];
    this.sidePools.clear();
    await Promise.allSettled(pools.map((pool) => pool.end()));
  }

  private createPool(shape: PoolShape): Pool {
    const pool = new pg.Pool(poolConfig(this.settings, shape));
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
