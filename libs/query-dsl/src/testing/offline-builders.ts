import { DataSource, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';
import { QueryParameters } from '../sql';

/**
 * A DataSource that is never connected: TypeORM's PostgreSQL driver and
 * query builders, for tests that only build SQL.
 */
export const OFFLINE_DATA_SOURCE = new DataSource({ type: 'postgres' });

/** A fresh `SELECT 1 FROM "items" "t0"` (the sample entity's table) and the parameters of its statement. */
export function itemsQuery(alias = 't0'): { qb: SelectQueryBuilder<ObjectLiteral>; params: QueryParameters } {
  const qb = OFFLINE_DATA_SOURCE.createQueryBuilder().select('1').from('items', alias);
  return { qb, params: new QueryParameters(qb) };
}

/** The WHERE of a builder's SQL (`''` without one) and its parameters, placeholders still named. */
export function whereOf(qb: SelectQueryBuilder<ObjectLiteral>): { sql: string; params: Record<string, unknown> } {
  const sql = qb.getQuery();
  const at = sql.indexOf(' WHERE ');
  return { sql: at < 0 ? '' : sql.slice(at + ' WHERE '.length), params: qb.getParameters() };
}
