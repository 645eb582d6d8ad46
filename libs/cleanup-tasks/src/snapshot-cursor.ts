import { asDatabaseUnavailable, isQueryCanceled, QueryTimeoutError, type DatabaseReachability, type DomainError } from '@app/common';
import { ReadCheckoutError, type ReadPool, type ReadRouting } from '@app/database/read-routing';
import type { SqlSession } from '@app/database/sql-pool';

/** What a streamed read runs and how its failures are told. */
export interface SnapshotCursorOptions {
  /** The cursor's SQL name (a fixed identifier: one cursor per connection). */
  name: string;
  /** The statement, with `$n` placeholders, and their values. */
  query: string;
  parameters: unknown[];
  /** `array`: each row as its values in select order (pg's row mode), not as an object. */
  rowMode?: 'array';
  /** Rows per FETCH; the first batch is read as the cursor opens. */
  batchSize: number;
  /**
   * An empty first batch on the read replica means "not there yet" (a tree
   * enqueued a moment ago): the cursor is opened again on the primary.
   */
  emptyIsMiss?: boolean;
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
 * read connection of its own: every batch comes from the snapshot taken when
 * it was opened, however long the reader takes. Opened with its first batch
 * read, so that what can go wrong before the first byte (a statement
 * timeout: the first FETCH of a sorted query does most of the work) is known
 * before anything is sent. Hold it while a client reads, and always close it
 * (iterating `batches()` to the end or breaking out of it does).
 */
export class SnapshotCursor<Row> {
  private constructor(
    private readonly session: SqlSession,
    private readonly options: SnapshotCursorOptions,
    /** The first batch (empty: nothing matched, on the server it was opened on). */
    readonly first: Row[],
  ) {}

  /** DECLARE, then the first batch. Errors as PostgreSQL raised them (the read routing tells a recovery conflict by them). */
  static async open<Row>(session: SqlSession, options: SnapshotCursorOptions): Promise<SnapshotCursor<Row>> {
    await session.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // A cursor's statements (DECLARE, FETCH) are no query TypeORM builds: written out around the built query.
    await session.query(`DECLARE ${options.name} NO SCROLL CURSOR FOR ${options.query}`, options.parameters);
    return new SnapshotCursor<Row>(session, options, await fetchFrom<Row>(session, options, options.batchSize));
  }

  /**
   * The next rows (at most `count`); empty once exhausted. A read past the
   * statement timeout throws QueryTimeoutError (the transaction is then
   * aborted: close it).
   */
  async fetch(count: number): Promise<Row[]> {
    try {
      return await fetchFrom<Row>(this.session, this.options, count);
    } catch (error) {
      throw isQueryCanceled(error) ? new QueryTimeoutError(this.options.timeoutMs, this.options.timeoutHint) : error;
    }
  }

  /** Every batch, the first included, read on demand; the end, a break or an error closes the cursor. */
  async *batches(): AsyncGenerator<Row[]> {
    const size = this.options.batchSize;
    try {
      let batch = this.first;
      while (batch.length > 0) {
        yield batch;
        if (batch.length < size) return;
        batch = await this.fetch(size);
      }
    } finally {
      await this.close();
    }
  }

  /** Ends the transaction (which closes the cursor) and returns the connection (dropped if it broke). */
  close(): Promise<void> {
    return this.session.close();
  }
}

async function fetchFrom<Row>(session: SqlSession, options: SnapshotCursorOptions, count: number): Promise<Row[]> {
  const text = `FETCH FORWARD ${Math.trunc(count)} FROM ${options.name}`;
  const { rows } = options.rowMode === 'array' ? await session.query({ text, rowMode: 'array' }) : await session.query(text);
  return rows as Row[];
}

/**
 * Opens a SnapshotCursor on a read connection of `pool` (the read replica's
 * while it is healthy, see ReadRouting). No free connection within the
 * pool's wait: `options.busy()`, or DatabaseUnavailableError when the
 * database cannot be reached; the statement cancelled by its timeout:
 * QueryTimeoutError.
 */
export async function openSnapshotCursor<Row>(reads: ReadRouting, pool: ReadPool, options: SnapshotCursorOptions): Promise<SnapshotCursor<Row>> {
  try {
    return await reads.open(pool, (session) => SnapshotCursor.open<Row>(session, options), {
      missed: options.emptyIsMiss ? (cursor) => cursor.first.length === 0 : undefined,
    });
  } catch (error) {
    if (error instanceof ReadCheckoutError) throw asDatabaseUnavailable(error.cause, options.database) ?? options.busy();
    throw isQueryCanceled(error) ? new QueryTimeoutError(options.timeoutMs, options.timeoutHint) : error;
  }
}
