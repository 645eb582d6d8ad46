import pg, { type Pool, type PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * The `pg` pool inside TypeORM's PostgreSQL driver. Repositories whose SQL is
 * hand-written run it there directly: plain `{ rows }` results (TypeORM's
 * `query` wraps UPDATE results as `[rows, count]`), named prepared statements
 * on hot paths, and transactions on one explicit client.
 * (A leaf module: import it as `@app/database/pg-pool`, not through the
 * library index, which loads every entity.)
 */
export function pgPoolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('pgPoolOf: the DataSource is not an initialised PostgreSQL DataSource');
  return pool;
}

/**
 * Runs `work` in one READ COMMITTED transaction: on `client` if given (it
 * stays the caller's), else on a connection of `pool` that is released
 * afterwards. ROLLBACK on any error, which is rethrown.
 */
export async function withTransaction<T>(pool: Pool, work: (tx: PoolClient) => Promise<T>, client?: PoolClient): Promise<T> {
  const tx = client ?? (await pool.connect());
  try {
    await tx.query('BEGIN');
    const result = await work(tx);
    await tx.query('COMMIT');
    return result;
  } catch (error) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    if (!client) tx.release();
  }
}

export interface SidePoolOptions {
  /** Appended to the app's application_name (`cleanup-tasks-list`), so the connections are recognisable in pg_stat_activity. */
  name: string;
  /** Connections at most; opened on demand. */
  max: number;
  /** PostgreSQL's statement_timeout on these connections (0: none): a session setting, so no round trip per query. */
  statementTimeoutMs: number;
  /** How long a caller waits for a free (or new) connection before pg rejects it. */
  waitMs: number;
}

/**
 * A pool of its own beside TypeORM's, on the app's connection settings
 * (`buildDataSourceOptions`: URL, application name, session options): a
 * bulkhead for work that may hold connections long (list queries, tree
 * downloads), so it cannot take the connections everything else needs.
 * An idle connection's error (the server restarted) only drops it.
 */
export function createSidePool(dataSource: DataSource, options: SidePoolOptions): Pool {
  const app = dataSource.options as { url?: string; applicationName?: string; extra?: { options?: string } };
  const settings = options.statementTimeoutMs > 0 ? [`-c statement_timeout=${options.statementTimeoutMs}`] : [];
  const pool = new pg.Pool({
    connectionString: app.url,
    max: options.max,
    application_name: `${app.applicationName ?? 'cleanup-tasks'}-${options.name}`,
    connectionTimeoutMillis: options.waitMs,
    options: [app.extra?.options, ...settings].filter(Boolean).join(' '),
  });
  pool.on('error', () => undefined);
  return pool;
}
