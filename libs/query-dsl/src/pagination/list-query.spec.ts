import { describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { filterNodes } from '../filter/filter-ast';
import { parseFilter } from '../filter/parse-filter';
import { scopeFieldIn } from '../filter/translate-filter';
import { parseOrderBy } from '../order-by/order-by';
import { toPositional } from '../sql';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import { planListQuery, type ListQueryInput } from './list-query';

const spec = SAMPLE_SPEC;
const orderBy = parseOrderBy(undefined, spec, { defaultOrderBy: [{ createdAt: 'asc' }] });
const T = '2024-01-01T00:00:00.000Z';
const base: ListQueryInput = { spec, orderBy, limit: 2 };

describe('planListQuery', () => {
  it('plans a first page: WHERE without cursors, forward order, limit + 1, no probes', () => {
    const sut = planListQuery(base);
    expect(sut.direction).toBe('forward');
    expect(sut.where).toEqual({ sql: 'TRUE', params: {} });
    expect(sut.pageQuery('"t0".*')).toEqual({
      sql: 'SELECT "t0".* FROM "items" AS "t0" WHERE TRUE ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 3',
      params: {},
    });
    expect(sut.fetchLimit).toBe(3);
    expect(sut.hasPreviousProbe).toBeNull();
    expect(sut.hasNextProbe).toBeNull();
    expect(sut.countQuery().sql).toBe('SELECT count(*) AS total FROM "items" AS "t0" WHERE TRUE');
    expect(sut.pageInfoQuery().sql).toBe('SELECT (SELECT count(*) AS total FROM "items" AS "t0" WHERE TRUE) AS total, NULL AS has_previous, NULL AS has_next');
  });

  it('collects scope, conditions and filter into one WHERE, in that order, with one parameter sequence', () => {
    const sut = planListQuery({
      ...base,
      scope: scopeFieldIn(spec, 'name', ['w']),
      conditions: [filterNodes.in('id', ['a', 'b']), filterNodes.eq('kind', 'c')],
      filter: parseFilter({ children: { some: { size: { gt: 1 } } } }, spec),
    });
    expect(sut.where).toEqual({
      sql:
        '("t0"."name" = :p1 AND "t0"."id" = ANY(CAST(:p2 AS text[])) AND "t0"."kind" = :p3 AND ' +
        'EXISTS (SELECT 1 FROM "items" AS "t1" WHERE "t1"."parent_id" = "t0"."id" AND "t1"."name" = :p1 AND "t1"."size" > CAST(:p4 AS bigint)))',
      params: { p1: 'w', p2: ['a', 'b'], p3: 'c', p4: 1 },
    });
  });

  it('pages forward after a cursor: keyset bound in the page, hasPrevious probe = a matching row at or before it', () => {
    const sut = planListQuery({ ...base, filter: parseFilter({ size: { eq: 1 } }, spec), after: [T, 'x'] });
    expect(sut.direction).toBe('forward');
    expect(sut.pageWhere.sql).toBe('("t0"."size" = CAST(:p1 AS bigint) AND ("t0"."created_at", "t0"."id") > (CAST(:p2 AS timestamptz), :p3))');
    expect(sut.params).toEqual({ p1: 1, p2: T, p3: 'x', p4: T, p5: 'x' });
    expect(sut.hasPreviousProbe?.sql).toBe(
      'COALESCE((SELECT TRUE FROM "items" AS "t0" WHERE ("t0"."size" = CAST(:p1 AS bigint) AND ("t0"."created_at", "t0"."id") <= (CAST(:p4 AS timestamptz), :p5)) ' +
        'ORDER BY "t0"."created_at" DESC NULLS FIRST, "t0"."id" DESC NULLS FIRST LIMIT 1), FALSE)',
    );
    expect(sut.hasNextProbe).toBeNull();
    expect(sut.countQuery().sql).toBe('SELECT count(*) AS total FROM "items" AS "t0" WHERE "t0"."size" = CAST(:p1 AS bigint)');
  });

  it('pages backward before a cursor: reversed order (direction and NULLS), hasNext probe = a matching row at or after it', () => {
    const sut = planListQuery({ ...base, before: [T, 'x'] });
    expect(sut.direction).toBe('backward');
    expect(sut.pageWhere.sql).toBe('("t0"."created_at", "t0"."id") < (CAST(:p1 AS timestamptz), :p2)');
    expect(sut.orderBySql).toBe('"t0"."created_at" DESC NULLS FIRST, "t0"."id" DESC NULLS FIRST');
    expect(sut.orderBy[0]).toEqual({ expression: '"t0"."created_at"', direction: 'DESC', nulls: 'NULLS FIRST' });
    expect(sut.hasPreviousProbe).toBeNull();
    expect(sut.hasNextProbe?.sql).toBe(
      'COALESCE((SELECT TRUE FROM "items" AS "t0" WHERE ("t0"."created_at", "t0"."id") >= (CAST(:p3 AS timestamptz), :p4) ' +
        'ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 1), FALSE)',
    );
  });

  it('exposes the cursor bounds and the probes\' bounds on their own, for paging a set already narrowed to `where`', () => {
    const filter = parseFilter({ size: { eq: 1 } }, spec);
    const first = planListQuery({ ...base, filter });
    expect(first.cursorBounds.sql).toBe('TRUE');
    expect(first.probeBounds).toEqual({ hasPrevious: null, hasNext: null });

    const sut = planListQuery({ ...base, filter, after: [T, 'a'], before: [T, 'z'] });
    expect(sut.cursorBounds.sql).toBe('(("t0"."created_at", "t0"."id") > (CAST(:p2 AS timestamptz), :p3) AND ("t0"."created_at", "t0"."id") < (CAST(:p4 AS timestamptz), :p5))');
    expect(sut.probeBounds).toEqual({
      hasPrevious: '("t0"."created_at", "t0"."id") <= (CAST(:p6 AS timestamptz), :p7)',
      hasNext: '("t0"."created_at", "t0"."id") >= (CAST(:p8 AS timestamptz), :p9)',
    });
    // The probes are exactly `where` AND these bounds; the page is `where` AND the cursor bounds.
    expect(sut.hasPreviousProbe?.sql).toContain(`AND ${sut.probeBounds.hasPrevious})`);
    expect(sut.hasNextProbe?.sql).toContain(`AND ${sut.probeBounds.hasNext})`);
    expect(sut.pageWhere.sql).toContain(sut.cursorBounds.sql.slice(1, -1));
    expect(sut.params).toMatchObject({ p2: T, p3: 'a', p4: T, p5: 'z', p6: T, p7: 'a', p8: T, p9: 'z' });
  });

  it('with both cursors pages forward between them and probes both sides', () => {
    const sut = planListQuery({ ...base, after: [T, 'a'], before: [T, 'z'] });
    expect(sut.direction).toBe('forward');
    expect(sut.pageWhere.sql).toBe(
      '(("t0"."created_at", "t0"."id") > (CAST(:p1 AS timestamptz), :p2) AND ("t0"."created_at", "t0"."id") < (CAST(:p3 AS timestamptz), :p4))',
    );
    expect(sut.hasPreviousProbe).not.toBeNull();
    expect(sut.hasNextProbe).not.toBeNull();
    expect(sut.pageInfoQuery().sql).toBe(
      'SELECT (SELECT count(*) AS total FROM "items" AS "t0" WHERE TRUE) AS total, ' +
        'COALESCE((SELECT TRUE FROM "items" AS "t0" WHERE ("t0"."created_at", "t0"."id") <= (CAST(:p5 AS timestamptz), :p6) ' +
        'ORDER BY "t0"."created_at" DESC NULLS FIRST, "t0"."id" DESC NULLS FIRST LIMIT 1), FALSE) AS has_previous, ' +
        'COALESCE((SELECT TRUE FROM "items" AS "t0" WHERE ("t0"."created_at", "t0"."id") >= (CAST(:p7 AS timestamptz), :p8) ' +
        'ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 1), FALSE) AS has_next',
    );
  });

  it('gives identical SQL and parameters for identical input', () => {
    const input = { ...base, filter: parseFilter({ OR: [{ parent: {} }, { note: { like: 'a%' } }] }, spec), after: [T, 'x'] };
    expect(planListQuery(input).pageQuery('*')).toEqual(planListQuery(input).pageQuery('*'));
  });

  it('uses the alias and parameter prefix given', () => {
    const sut = planListQuery({ ...base, alias: 'task', paramPrefix: 'q', filter: parseFilter({ size: { eq: 1 } }, spec) });
    expect(sut.where).toEqual({ sql: '"task"."size" = CAST(:q1 AS bigint)', params: { q1: 1 } });
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => planListQuery({ ...base, limit: 0 })).toThrow('positive integer');
  });
});

describe('ListQueryPlan.resolvePage', () => {
  it('forward: trims the extra row, which means hasNextPage', () => {
    const sut = planListQuery(base);
    expect(sut.resolvePage(['a', 'b', 'c'])).toEqual({ rows: ['a', 'b'], hasNextPage: true, hasPreviousPage: false });
    expect(sut.resolvePage(['a', 'b'])).toEqual({ rows: ['a', 'b'], hasNextPage: false, hasPreviousPage: false });
  });

  it('forward after a cursor: hasPreviousPage comes from the probe, which is required', () => {
    const sut = planListQuery({ ...base, after: [T, 'x'] });
    expect(sut.resolvePage(['a'], { hasPrevious: true })).toEqual({ rows: ['a'], hasNextPage: false, hasPreviousPage: true });
    expect(sut.resolvePage([], { hasPrevious: false })).toEqual({ rows: [], hasNextPage: false, hasPreviousPage: false });
    expect(() => sut.resolvePage(['a'])).toThrow('hasPrevious probe result is required');
  });

  it('forward between cursors: no extra row still has a next page when rows exist at or after before', () => {
    const sut = planListQuery({ ...base, after: [T, 'a'], before: [T, 'z'] });
    expect(sut.resolvePage(['b'], { hasPrevious: false, hasNext: true })).toEqual({ rows: ['b'], hasNextPage: true, hasPreviousPage: false });
    expect(sut.resolvePage(['b', 'c', 'd'], { hasPrevious: false, hasNext: false }).hasNextPage).toBe(true);
  });

  it('backward: trims the extra (oldest) row, reverses to forward order, extra row means hasPreviousPage', () => {
    const sut = planListQuery({ ...base, before: [T, 'x'] });
    expect(sut.resolvePage(['w', 'v', 'u'], { hasNext: true })).toEqual({ rows: ['v', 'w'], hasNextPage: true, hasPreviousPage: true });
    expect(sut.resolvePage(['w'], { hasNext: false })).toEqual({ rows: ['w'], hasNextPage: false, hasPreviousPage: false });
  });
});

describe('ListQueryPlan with TypeORM and pg', () => {
  const input = {
    ...base,
    scope: scopeFieldIn(spec, 'name', ['w']),
    filter: parseFilter({ data: { hasKey: 'k', contains: { a: 1 } }, note: { in: ['x', 'y'] } }, spec),
    after: [T, 'x'],
  };

  it('binds through TypeORM\'s Postgres driver: one $n per name, arrays as one value, ? and CAST untouched', () => {
    const sut = planListQuery(input);
    const driver = new DataSource({ type: 'postgres' }).driver;
    const [sql, values] = driver.escapeQueryWithParameters(sut.pageWhere.sql, sut.params);
    expect(sql).toBe(
      '("t0"."name" = $1 AND (("t0"."data" @> CAST($2 AS jsonb) AND "t0"."data" ? $3) AND ' +
        '("t0"."note" IS NOT NULL AND "t0"."note" = ANY(CAST($4 AS text[])))) AND ("t0"."created_at", "t0"."id") > (CAST($5 AS timestamptz), $6))',
    );
    expect(values).toEqual(['w', '{"a":1}', 'k', ['x', 'y'], T, 'x']);
  });

  it('gives the same statement through toPositional', () => {
    const sut = planListQuery(input);
    const driver = new DataSource({ type: 'postgres' }).driver;
    expect(toPositional(sut.pageWhere)).toEqual((([text, values]) => ({ text, values }))(driver.escapeQueryWithParameters(sut.pageWhere.sql, sut.params)));
  });
});
