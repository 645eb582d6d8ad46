import type { Pool, PoolClient, QueryArrayConfig, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { isQueryCanceled } from '@app/common/errors/sql-state';

/** What a pool holds right now (for metrics and diagnostics). */
export interface PoolStats {
  pool: string;
  total: number;
  idle: number;
  waiting: number;
}

/**
 * A pool whose connections must run under settings of their own (a
 * statement timeout, the planner's cost model): on a direct connection the
 * session carries them from start-up; behind a transaction pooler each
 * transaction must set them again (`prelude`, SET LOCAL). `perStatement`
 * pools (the read pools of lists and trees) give those settings to a
 * statement run on its own too, by wrapping it in a transaction; the main
 * pool's short statements run as they are.
 */
export class SqlPool {
  constructor(
    readonly name: string,
    readonly pool: Pool,
    private readonly prelude: string | undefined,
    private readonly perStatement: boolean,
  ) {}

  /** A connection of this pool with its settings; close it. */
  async connect(): Promise<SqlSession> {
    return new SqlSession(await this.pool.connect(), this.prelude, this.perStatement);
  }

  /** One statement on a connection of this pool, with its settings (SqlSession.query); the connection goes back afterwards. */
  async query<R extends QueryResultRow = QueryResultRow>(statement: string | QueryConfig, values?: unknown[]): Promise<QueryResult<R>> {
    const session = await this.connect();
    let result: QueryResult<R>;
    try {
      result = await session.query<R>(statement, values);
    } catch (error) {
      await session.close(error);
      throw error;
    }
    await session.close();
    return result;
  }

  /** `BEGIN <mode>` with this pool's settings, one message. */
  beginStatement(mode = ''): string {
    return beginStatement(mode, this.prelude);
  }

  stats(): PoolStats {
    return { pool: this.name, total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** One checked-out connection of a SqlPool: its statements run with the pool's settings. */
export class SqlSession {
  private closed = false;
  /** Set when the connection failed between statements (the server ended it): pg reports that as an event, not to a query. */
  private broken: Error | undefined;
  private readonly onError = (error: Error) => {
    this.broken ??= error;
  };

  constructor(
    private readonly client: PoolClient,
    private readonly prelude: string | undefined,
    private readonly perStatement: boolean,
  ) {
    // Held for long (a cursor a client reads), the connection may break while idle; unheard, its 'error' would be uncaught.
    client.on('error', this.onError);
  }

  /** Opens a transaction (`mode`: e.g. `ISOLATION LEVEL REPEATABLE READ READ ONLY`) with the pool's settings, in one round trip. */
  async begin(mode = ''): Promise<void> {
    if (this.broken) throw this.broken;
    await this.client.query(beginStatement(mode, this.prelude));
  }

  /**
   * A statement. Inside a transaction (begin) it runs as it is; on its own,
   * with the pool's settings: as it is on a direct connection, else as
   * BEGIN + SET LOCAL, the statement, COMMIT — written at once (the pool's
   * connections are in pipeline mode), so still one round trip. A failed
   * statement aborts that transaction and COMMIT ends it (as a rollback).
   */
  async query<R extends QueryResultRow = QueryResultRow>(statement: string | QueryConfig | QueryArrayConfig, values?: unknown[]): Promise<QueryResult<R>> {
    if (this.broken) throw this.broken;
    // A QueryArrayConfig (rowMode 'array') gives each row as its values: R is then the caller's to say.
    const run = () => (typeof statement === 'string' ? this.client.query<R>(statement, values) : this.client.query<R>(statement as QueryConfig));
    if (!this.prelude || !this.perStatement || this.client.getTransactionStatus() !== 'I') return run();
    const [begin, result, commit] = await Promise.allSettled([this.client.query(beginStatement('', this.prelude)), run(), this.client.query('COMMIT')]);
    for (const step of [begin, result, commit]) if (step.status === 'rejected') throw step.reason;
    return (result as PromiseFulfilledResult<QueryResult<R>>).value;
  }

  /**
   * Returns the connection to its pool, after ending a transaction still
   * open. After a failure (`error`) other than a cancelled statement (a
   * timeout: the connection is fine), or once the connection broke, it is
   * dropped, since its state is unknown.
   */
  async close(error?: unknown): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failure = this.broken ?? (error === undefined || isQueryCanceled(error) ? undefined : toError(error));
    try {
      if (!failure && this.client.getTransactionStatus() !== 'I') await this.client.query('ROLLBACK');
      this.release(failure);
    } catch (rollbackError) {
      this.release(toError(rollbackError));
    }
  }

  private release(error: Error | undefined): void {
    this.client.off('error', this.onError);
    this.client.release(error);
  }
}

function beginStatement(mode: string, prelude: string | undefined): string {
  const begin = mode ? `BEGIN ${mode}` : 'BEGIN';
  return prelude ? `${begin}; ${prelude}` : begin;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
