import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * The `pg` pool inside TypeORM's PostgreSQL driver. The queue runs its SQL on
 * it directly: plain `{ rows }` results (TypeORM's `query` wraps UPDATE results
 * as `[rows, count]`), named prepared statements on the hot path, and
 * transactions on one explicit client.
 */
export function pgPoolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('pgPoolOf: the DataSource is not an initialised PostgreSQL DataSource');
  return pool;
}
