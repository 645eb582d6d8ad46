import { describe, expect, it } from '@jest/globals';
import { composeSql } from './compose-sql';
import { QueryParameters } from './sql';
import { OFFLINE_DATA_SOURCE } from './testing/offline-builders';

describe('composeSql', () => {
  const outer = () => OFFLINE_DATA_SOURCE.createQueryBuilder();

  it('parenthesises a builder once, whether or not it is a subQuery()', () => {
    const qb = outer();
    const sub = qb.subQuery().select('1').from('items', 't1');
    const plain = OFFLINE_DATA_SOURCE.createQueryBuilder().select('1').from('items', 't1');
    expect(composeSql.exists(sub)).toBe('EXISTS (SELECT 1 FROM "items" "t1")');
    expect(composeSql.exists(plain)).toBe('EXISTS (SELECT 1 FROM "items" "t1")');
    expect(composeSql.notExists(plain)).toBe('NOT EXISTS (SELECT 1 FROM "items" "t1")');
  });

  it('wraps values of subqueries in COALESCE, CAST and CASE', () => {
    const qb = outer();
    const probe = qb.subQuery().select('TRUE').from('items', 't0').limit(1);
    const count = qb.subQuery().select('count(*)').from('items', 't0');
    expect(composeSql.firstValueOr(probe, 'FALSE')).toBe('COALESCE((SELECT TRUE FROM "items" "t0" LIMIT 1), FALSE)');
    expect(composeSql.caseWhen('"m"."n" <= 5', '"m"."n"', composeSql.castSubquery(count, 'bigint'))).toBe(
      'CASE WHEN "m"."n" <= 5 THEN "m"."n" ELSE CAST((SELECT count(*) FROM "items" "t0") AS bigint) END',
    );
  });

  it('joins branches with UNION ALL, each keeping its ORDER BY and LIMIT, usable as a FROM source', () => {
    const qb = outer();
    const branch = (kind: string) =>
      qb.subQuery().select('"t0"."id"', 'id').from('items', 't0').where(`"t0"."kind" = '${kind}'`).orderBy('"t0"."id"', 'ASC', 'NULLS LAST').limit(2);
    const union = composeSql.unionAll([branch('a'), branch('b')]);
    expect(union).toBe(
      `((SELECT "t0"."id" AS "id" FROM "items" "t0" WHERE "t0"."kind" = 'a' ORDER BY "t0"."id" ASC NULLS LAST LIMIT 2) UNION ALL ` +
        `(SELECT "t0"."id" AS "id" FROM "items" "t0" WHERE "t0"."kind" = 'b' ORDER BY "t0"."id" ASC NULLS LAST LIMIT 2))`,
    );
    expect(qb.select('*').from(union, 'u').getQuery()).toBe(`SELECT * FROM ${union} "u"`);
    expect(() => composeSql.unionAll([])).toThrow('UNION ALL of no queries');
  });

  it('makes a LEFT JOIN LATERAL a FROM source whose parameters stay on the outer builder', () => {
    const qb = outer();
    const params = new QueryParameters(qb);
    const page = qb.subQuery().select('"t0"."id"', 'id').from('items', 't0').where(`"t0"."kind" = ${params.bind('a')}`).andWhere('"info"."total" > 0');
    const info = OFFLINE_DATA_SOURCE.createQueryBuilder().select('3', 'total').fromDummy();
    qb.addCommonTableExpression(info, 'info', { materialized: true })
      .select('"list"."total"', 'total')
      .addSelect('"list"."id"', 'id')
      .from(composeSql.leftJoinLateral('info', page, 'p'), 'list');
    expect(qb.getQueryAndParameters()).toEqual([
      'WITH "info" AS MATERIALIZED (SELECT 3 AS "total" FROM (SELECT 1 AS dummy_column) "dummy_table") ' +
        'SELECT "list"."total" AS "total", "list"."id" AS "id" FROM ("info" LEFT JOIN LATERAL (SELECT "t0"."id" AS "id" FROM "items" "t0" WHERE "t0"."kind" = $1 AND "info"."total" > 0) AS "p" ON TRUE) "list"',
      ['a'],
    ]);
  });
});
