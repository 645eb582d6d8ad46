import type { Pool, PoolClient } from 'pg';
import { asDatabaseUnavailable, isQueryCanceled, QueryTimeoutError, type DatabaseReachability, type DomainError } from '@app/common';

/** What a streamed read runs and how its failures are told. */
export interface SnapshotCursorOptions {
  /** The cursor's SQL name (a fixed identifier: one cursor per connection). */
  name: string;
  /** The statement, with `$n` placeholders, and their values. */
  query: string;
  parameters: unknown[];
  /** `array`: each row as its values in select order (pg's row mode), not as an object. */
  rowMode?: 'array';
  /** The pool's statement_timeout, for the 504's `limitMs`. */
  timeoutMs: number;
  /** How to get what timed out in time (the 504's detail). */
  timeoutHint: string;
  /** The error when no connection became free (a 503 with Retry-After). */
  busy: () => DomainError;
  /** What this process's calls last found: a failed checkout while the database is down is 503 database-unavailable, not busy. */
  database: DatabaseReachability;
}

/**
 * A server-side cursor in a REPEATABLE READ, read-only transaction on a
 * connection of its own: every batch comes from the snapshot taken when it
 * was opened, however long the reader takes. Hold it while a client reads,
 * and always close it.
 */
export class SnapshotCursor<Row> {
  private closed = false;
  /** Set when the connection failed between statements (the server ended it): pg reports that as an event, not to a query. */
  private broken: Error | undefined;
  private readonly onError = (error: Error) => {
    this.broken ??= error;
  };

  constructor(
    private readonly client: PoolClient,
    private readonly options: SnapshotCursorOptions,
  ) {
    // Without a listener, a checked-out connection's 'error' would be an uncaught exception.
    client.on('error', this.onError);
  }

  /**
   * The next rows (at most `count`); empty once exhausted. A read past the
   * statement timeout throws QueryTimeoutError (the transaction is then
   * aborted: close it).
   */
  async fetch(count: number): Promise<Row[]> {
    if (this.broken) throw this.broken;
    try {
      const text = `FETCH FORWARD ${Math.trunc(count)} FROM ${this.options.name}`;
      const { rows } = this.options.rowMode === 'array' ? await this.client.query({ text, rowMode: 'array' }) : await this.client.query(text);
      return rows as Row[];
    } catch (error) {
      throw isQueryCanceled(error) ? new QueryTimeoutError(this.options.timeoutMs, this.options.timeoutHint) : error;
    }
  }

  /** Ends the transaction (which closes the cursor) and returns the connection (dropped if it broke). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.broken) throw this.broken;
      await this.client.query('ROLLBACK');
      this.client.off('error', this.onError);
      this.client.release();
    } catch (error) {
      this.client.off('error', this.onError);
      this.client.release(error as Error);
    }
  }
}

/**
 * Opens a SnapshotCursor on a connection of `pool` (DECLARE in a REPEATABLE
 * READ READ ONLY transaction). No free connection within the pool's wait:
 * `options.busy()`, or DatabaseUnavailableError when the database cannot be
 * reached; the statement cancelled by its timeout: QueryTimeoutError.
 */
export async function openSnapshotCursor<Row>(pool: Pool, options: SnapshotCursorOptions): Promise<SnapshotCursor<Row>> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw asDatabaseUnavailable(error, options.database) ?? options.busy();
  }
  const cursor = new SnapshotCursor<Row>(client, options);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // A cursor's statements (DECLARE, FETCH) are no query TypeORM builds: written out around the built query.
    await client.query(`DECLARE ${options.name} NO SCROLL CURSOR FOR ${options.query}`, options.parameters);
  } catch (error) {
    await cursor.close();
    throw isQueryCanceled(error) ? new QueryTimeoutError(options.timeoutMs, options.timeoutHint) : error;
  }
  return cursor;
}

/**
 * Reads the cursor's first batch now, so that what can go wrong before the
 * first byte (a statement timeout: the first FETCH of a sorted query does
 * most of the work) is known before anything is sent; the rest is read on
 * demand, `size` rows at a time, as `batches` is iterated (first batch
 * included). Iterating to the end, breaking out, or an error there closes
 * the cursor; so does a failing first read. A caller that does not iterate
 * `batches` closes the cursor itself.
 */
export async function readAhead<Row>(cursor: SnapshotCursor<Row>, size: number): Promise<{ first: Row[]; batches: AsyncIterable<Row[]> }> {
  let first: Row[];
  try {
    first = await cursor.fetch(size);
  } catch (error) {
    await cursor.close();
    throw error;
  }
  async function* batches(): AsyncGenerator<Row[]> {
    try {
      let batch = first;
      while (batch.length > 0) {
        yield batch;
        if (batch.length < size) return;
        batch = await cursor.fetch(size);
      }
    } finally {
      await cursor.close();
    }
  }
  return { first, batches: batches() };
}
