import { describe, expect, it } from '@jest/globals';
import { filterNodes } from '../filter/filter-ast';
import { parseFilter } from '../filter/parse-filter';
import { scopeFieldIn } from '../filter/translate-filter';
import { parseOrderBy } from '../order-by/order-by';
import { QueryParameters } from '../sql';
import { OFFLINE_DATA_SOURCE } from '../testing/offline-builders';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import { planListQuery, type ListQueryInput, type ListQueryPlan } from './list-query';

const spec = SAMPLE_SPEC;
const orderBy = parseOrderBy(undefined, spec, { defaultOrderBy: [{ createdAt: 'asc' }] });
const T = '2024-01-01T00:00:00.000Z';

/** A plan for one statement (its parameters bound on `statement`). */
function plan(input: Partial<ListQueryInput> = {}) {
  const statement = OFFLINE_DATA_SOURCE.createQueryBuilder();
  const sut = planListQuery({ spec, orderBy, limit: 2, params: new QueryParameters(statement), ...input });
  return { sut, statement };
}

/** `SELECT "t0".* FROM items AS t0` with the plan's page applied, as SQL with named placeholders. */
function pageSql(sut: ListQueryPlan, statement = OFFLINE_DATA_SOURCE.createQueryBuilder()) {
  const qb = statement.select('"t0".*').from('items', 't0');
  sut.applyPage(qb);
  return qb.getQuery();
}
const countSql = (sut: ListQueryPlan) => sut.count(OFFLINE_DATA_SOURCE.createQueryBuilder()).getQuery();

describe('planListQuery', () => {
  it('plans a first page: WHERE without cursors, forward order, limit + 1, no probes', () => {
    const { sut, statement } = plan();
    expect(sut.direction).toBe('forward');
    expect(pageSql(sut)).toBe('SELECT "t0".* FROM "items" "t0" ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 3');
    expect(sut.fetchLimit).toBe(3);
    expect(sut.probes).toEqual({ hasPrevious: false, hasNext: false });
    expect(sut.probe(statement, 'hasPrevious')).toBeNull();
    expect(sut.probe(statement, 'hasNext')).toBeNull();
    expect(() => sut.applyProbeBound(statement, 'hasNext')).toThrow('the page needs no hasNext probe');
    expect(countSql(sut)).toBe('SELECT count(*) AS "total" FROM "items" "t0"');
  });

  it('collects scope, conditions and filter into one WHERE, in that order, with one parameter sequence', () => {
    const { sut, statement } = plan({
      scope: scopeFieldIn(spec, 'name', ['w']),
      conditions: [filterNodes.in('id', ['a', 'b']), filterNodes.eq('kind', 'c')],
      filter: parseFilter({ children: { some: { size: { gt: 1 } } } }, spec),
    });
    expect(countSql(sut)).toBe(
      'SELECT count(*) AS "total" FROM "items" "t0" WHERE "t0"."name" = :p1 AND "t0"."id" = ANY(CAST(:p2 AS text[])) AND "t0"."kind" = :p3 AND ' +
        'EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."parent_id" = "t0"."id" AND "t1"."name" = :p1 AND "t1"."size" > CAST(:p4 AS bigint))',
    );
    expect(statement.getParameters()).toEqual({ p1: 'w', p2: ['a', 'b'], p3: 'c', p4: 1 });
  });

  it('pages forward after a cursor: keyset bound in the page, hasPrevious probe = a matching row at or before it', () => {
    const { sut, statement } = plan({ filter: parseFilter({ size: { eq: 1 } }, spec), after: [T, 'x'] });
    expect(sut.direction).toBe('forward');
    expect(pageSql(sut, statement)).toBe(
      'SELECT "t0".* FROM "items" "t0" WHERE "t0"."size" = CAST(:p3 AS bigint) AND ("t0"."created_at", "t0"."id") > (CAST(:p1 AS timestamptz), :p2) ' +
        'ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 3',
    );
    expect(sut.probes).toEqual({ hasPrevious: true, hasNext: false });
    expect(sut.probe(statement, 'hasPrevious')).toBe(
      'COALESCE((SELECT TRUE FROM "items" "t0" WHERE "t0"."size" = CAST(:p3 AS bigint) AND ("t0"."created_at", "t0"."id") <= (CAST(:p1 AS timestamptz), :p2) ' +
        'ORDER BY "t0"."created_at" DESC NULLS FIRST, "t0"."id" DESC NULLS FIRST LIMIT 1), FALSE)',
    );
    expect(sut.probe(statement, 'hasNext')).toBeNull();
    expect(statement.getParameters()).toEqual({ p1: T, p2: 'x', p3: 1 });
  });

  it('pages backward before a cursor: reversed order (direction and NULLS), hasNext probe = a matching row at or after it', () => {
    const { sut, statement } = plan({ before: [T, 'x'] });
    expect(sut.direction).toBe('backward');
    expect(sut.fetchOrder).toEqual([
      { field: 'createdAt', direction: 'desc', nulls: 'first' },
      { field: 'id', direction: 'desc', nulls: 'first' },
    ]);
    expect(pageSql(sut)).toBe(
      'SELECT "t0".* FROM "items" "t0" WHERE ("t0"."created_at", "t0"."id") < (CAST(:p1 AS timestamptz), :p2) ' +
        'ORDER BY "t0"."created_at" DESC NULLS FIRST, "t0"."id" DESC NULLS FIRST LIMIT 3',
    );
    expect(sut.probe(statement, 'hasPrevious')).toBeNull();
    expect(sut.probe(statement, 'hasNext')).toBe(
      'COALESCE((SELECT TRUE FROM "items" "t0" WHERE ("t0"."created_at", "t0"."id") >= (CAST(:p1 AS timestamptz), :p2) ' +
        'ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 1), FALSE)',
    );
  });

  it("applies the cursor bounds and the probes' bounds alone, on another alias, for paging a set already narrowed to the WHERE", () => {
    const { sut, statement } = plan({ filter: parseFilter({ size: { eq: 1 } }, spec), after: [T, 'a'], before: [T, 'z'] });
    const over = (apply: (qb: ReturnType<typeof statement.subQuery>) => void) => {
      const qb = statement.subQuery().select('1').from('matches', 'm');
      apply(qb);
      return qb.getQuery();
    };
    expect(over((qb) => sut.applyCursorBounds(qb, 'm'))).toBe(
      '(SELECT 1 FROM "matches" "m" WHERE ("m"."created_at", "m"."id") > (CAST(:p1 AS timestamptz), :p2) AND ("m"."created_at", "m"."id") < (CAST(:p3 AS timestamptz), :p4))',
    );
    expect(over((qb) => sut.applyProbeBound(qb, 'hasPrevious', 'm'))).toBe('(SELECT 1 FROM "matches" "m" WHERE ("m"."created_at", "m"."id") <= (CAST(:p1 AS timestamptz), :p2))');
    expect(over((qb) => sut.applyProbeBound(qb, 'hasNext', 'm'))).toBe('(SELECT 1 FROM "matches" "m" WHERE ("m"."created_at", "m"."id") >= (CAST(:p3 AS timestamptz), :p4))');
    expect(over((qb) => sut.applyFetchOrder(qb, 'm'))).toBe('(SELECT 1 FROM "matches" "m" ORDER BY "m"."created_at" ASC NULLS LAST, "m"."id" ASC NULLS LAST)');
  });

  it('with both cursors pages forward between them and probes both sides', () => {
    const { sut, statement } = plan({ after: [T, 'a'], before: [T, 'z'] });
    expect(sut.direction).toBe('forward');
    expect(pageSql(sut)).toContain(
      'WHERE ("t0"."created_at", "t0"."id") > (CAST(:p1 AS timestamptz), :p2) AND ("t0"."created_at", "t0"."id") < (CAST(:p3 AS timestamptz), :p4) ORDER BY',
    );
    expect(sut.probes).toEqual({ hasPrevious: true, hasNext: true });
    expect(sut.probe(statement, 'hasPrevious')).toContain('("t0"."created_at", "t0"."id") <= (CAST(:p1 AS timestamptz), :p2) ORDER BY "t0"."created_at" DESC NULLS FIRST');
    expect(sut.probe(statement, 'hasNext')).toContain('("t0"."created_at", "t0"."id") >= (CAST(:p3 AS timestamptz), :p4) ORDER BY "t0"."created_at" ASC NULLS LAST');
  });

  it('gives identical SQL and parameters for identical input', () => {
    const input = { filter: parseFilter({ OR: [{ parent: {} }, { note: { like: 'a%' } }] }, spec), after: [T, 'x'] };
    const twice = [plan(input), plan(input)].map(({ sut, statement }) => [pageSql(sut, statement), statement.getParameters()]);
    expect(twice[0]).toEqual(twice[1]);
  });

  it('uses the alias given', () => {
    const { sut } = plan({ alias: 'task', filter: parseFilter({ size: { eq: 1 } }, spec) });
    expect(countSql(sut)).toBe('SELECT count(*) AS "total" FROM "items" "task" WHERE "task"."size" = CAST(:p1 AS bigint)');
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => plan({ limit: 0 })).toThrow('positive integer');
  });
});

describe('ListQueryPlan.resolvePage', () => {
  it('forward: trims the extra row, which means hasNextPage', () => {
    const { sut } = plan();
    expect(sut.resolvePage(['a', 'b', 'c'])).toEqual({ rows: ['a', 'b'], hasNextPage: true, hasPreviousPage: false });
    expect(sut.resolvePage(['a', 'b'])).toEqual({ rows: ['a', 'b'], hasNextPage: false, hasPreviousPage: false });
  });

  it('forward after a cursor: hasPreviousPage comes from the probe, which is required', () => {
    const { sut } = plan({ after: [T, 'x'] });
    expect(sut.resolvePage(['a'], { hasPrevious: true })).toEqual({ rows: ['a'], hasNextPage: false, hasPreviousPage: true });
    expect(sut.resolvePage([], { hasPrevious: false })).toEqual({ rows: [], hasNextPage: false, hasPreviousPage: false });
    expect(() => sut.resolvePage(['a'])).toThrow('hasPrevious probe result is required');
  });

  it('forward between cursors: no extra row still has a next page when rows exist at or after before', () => {
    const { sut } = plan({ after: [T, 'a'], before: [T, 'z'] });
    expect(sut.resolvePage(['b'], { hasPrevious: false, hasNext: true })).toEqual({ rows: ['b'], hasNextPage: true, hasPreviousPage: false });
    expect(sut.resolvePage(['b', 'c', 'd'], { hasPrevious: false, hasNext: false }).hasNextPage).toBe(true);
  });

  it('backward: trims the extra (oldest) row, reverses to forward order, extra row means hasPreviousPage', () => {
    const { sut } = plan({ before: [T, 'x'] });
    expect(sut.resolvePage(['w', 'v', 'u'], { hasNext: true })).toEqual({ rows: ['v', 'w'], hasNextPage: true, hasPreviousPage: true });
    expect(sut.resolvePage(['w'], { hasNext: false })).toEqual({ rows: ['w'], hasNextPage: false, hasPreviousPage: false });
  });
});

describe('ListQueryPlan with TypeORM and pg', () => {
  it("binds through TypeORM's Postgres driver: one $n per name, arrays as one value, ? and CAST untouched", () => {
    const { sut, statement } = plan({
      scope: scopeFieldIn(spec, 'name', ['w']),
      filter: parseFilter({ data: { hasKey: 'k', contains: { a: 1 } }, note: { in: ['x', 'y'] } }, spec),
      after: [T, 'x'],
    });
    pageSql(sut, statement);
    expect(statement.getQueryAndParameters()).toEqual([
      'SELECT "t0".* FROM "items" "t0" WHERE "t0"."name" = $1 AND "t0"."data" @> CAST($2 AS jsonb) AND "t0"."data" ? $3 AND ' +
        '("t0"."note" IS NOT NULL AND "t0"."note" = ANY(CAST($4 AS text[]))) AND ("t0"."created_at", "t0"."id") > (CAST($5 AS timestamptz), $6) ' +
        'ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 3',
      ['w', '{"a":1}', 'k', ['x', 'y'], T, 'x'],
    ]);
  });
});
