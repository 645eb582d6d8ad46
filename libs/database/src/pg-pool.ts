import type { Pool, PoolClient } from 'pg';
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
