import { describe, expect, it } from '@jest/globals';
import { AliasGenerator } from '../sql';
import { itemsQuery, whereOf } from '../testing/offline-builders';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import type { FilterNode } from './filter-ast';
import { parseFilter } from './parse-filter';
import { applyFilter, escapeLike, foldConstants, scopeFieldIn, type ScopeBuilder } from './translate-filter';

const spec = SAMPLE_SPEC;

/** The WHERE (and parameters) that applying the filter to `SELECT 1 FROM items AS t0` gives. */
function translate(node: FilterNode, options: { scope?: ScopeBuilder; alias?: string; before?: unknown[] } = {}) {
  const { qb, params } = itemsQuery(options.alias);
  for (const value of options.before ?? []) qb.andWhere(`"earlier" = ${params.bind(value)}`);
  applyFilter(qb, node, options.alias ?? 't0', { spec, params, aliases: new AliasGenerator(), scope: options.scope });
  return whereOf(qb);
}
const sut = (json: unknown, options: Parameters<typeof translate>[1] = {}) => translate(parseFilter(json, spec), options);

describe('applyFilter: operators on non-nullable fields', () => {
  it.each<[string, unknown, string, Record<string, unknown>]>([
    // free string
    ['string eq', { name: { eq: 'a' } }, '"t0"."name" = :p1', { p1: 'a' }],
    ['string neq', { name: { neq: 'a' } }, '"t0"."name" <> :p1', { p1: 'a' }],
    ['string in', { name: { in: ['a', 'b'] } }, '"t0"."name" = ANY(CAST(:p1 AS text[]))', { p1: ['a', 'b'] }],
    ['string notIn', { name: { notIn: ['a'] } }, '"t0"."name" <> ALL(CAST(:p1 AS text[]))', { p1: ['a'] }],
    ['string lt', { name: { lt: 'm' } }, '"t0"."name" < :p1', { p1: 'm' }],
    ['string lte', { name: { lte: 'm' } }, '"t0"."name" <= :p1', { p1: 'm' }],
    ['string gt', { name: { gt: 'm' } }, '"t0"."name" > :p1', { p1: 'm' }],
    ['string gte', { name: { gte: 'm' } }, '"t0"."name" >= :p1', { p1: 'm' }],
    ['string isNull true', { name: { isNull: true } }, '"t0"."name" IS NULL', {}],
    ['string isNull false', { name: { isNull: false } }, '"t0"."name" IS NOT NULL', {}],
    ['string contains (literal)', { name: { contains: '50%_a\\b' } }, '"t0"."name" LIKE :p1', { p1: '%50\\%\\_a\\\\b%' }],
    ['string startsWith (literal)', { name: { startsWith: 'a_' } }, '"t0"."name" LIKE :p1', { p1: 'a\\_%' }],
    ['string endsWith (literal)', { name: { endsWith: '%z' } }, '"t0"."name" LIKE :p1', { p1: '%\\%z' }],
    ['string like (as is)', { name: { like: 'a_%\\%' } }, '"t0"."name" LIKE :p1', { p1: 'a_%\\%' }],
    ['string ilike (as is)', { name: { ilike: 'A%' } }, '"t0"."name" ILIKE :p1', { p1: 'A%' }],
    // enum
    ['enum eq', { kind: { eq: 'a' } }, '"t0"."kind" = :p1', { p1: 'a' }],
    ['enum neq', { kind: { neq: 'a' } }, '"t0"."kind" <> :p1', { p1: 'a' }],
    ['enum in', { kind: { in: ['a', 'c'] } }, '"t0"."kind" = ANY(CAST(:p1 AS text[]))', { p1: ['a', 'c'] }],
    ['enum notIn', { kind: { notIn: ['b'] } }, '"t0"."kind" <> ALL(CAST(:p1 AS text[]))', { p1: ['b'] }],
    ['enum isNull', { kind: { isNull: true } }, '"t0"."kind" IS NULL', {}],
    // integer
    ['integer eq', { size: { eq: 3 } }, '"t0"."size" = CAST(:p1 AS bigint)', { p1: 3 }],
    ['integer neq', { size: { neq: 3 } }, '"t0"."size" <> CAST(:p1 AS bigint)', { p1: 3 }],
    ['integer in', { size: { in: [1, 2] } }, '"t0"."size" = ANY(CAST(:p1 AS bigint[]))', { p1: [1, 2] }],
    ['integer notIn', { size: { notIn: [1] } }, '"t0"."size" <> ALL(CAST(:p1 AS bigint[]))', { p1: [1] }],
    ['integer lt', { size: { lt: 3 } }, '"t0"."size" < CAST(:p1 AS bigint)', { p1: 3 }],
    ['integer lte', { size: { lte: 3 } }, '"t0"."size" <= CAST(:p1 AS bigint)', { p1: 3 }],
    ['integer gt', { size: { gt: 2 ** 40 } }, '"t0"."size" > CAST(:p1 AS bigint)', { p1: 2 ** 40 }],
    ['integer gte', { size: { gte: -1 } }, '"t0"."size" >= CAST(:p1 AS bigint)', { p1: -1 }],
    ['integer isNull', { size: { isNull: false } }, '"t0"."size" IS NOT NULL', {}],
    // timestamp
    ['timestamp eq', { createdAt: { eq: '2024-01-01' } }, '"t0"."created_at" = CAST(:p1 AS timestamptz)', { p1: '2024-01-01T00:00:00.000Z' }],
    ['timestamp neq', { createdAt: { neq: '2024-01-01T00:00:00Z' } }, '"t0"."created_at" <> CAST(:p1 AS timestamptz)', { p1: '2024-01-01T00:00:00.000Z' }],
    [
      'timestamp in',
      { createdAt: { in: ['2024-01-01', '2024-01-02T01:00:00+01:00'] } },
      '"t0"."created_at" = ANY(CAST(:p1 AS timestamptz[]))',
      { p1: ['2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z'] },
    ],
    ['timestamp notIn', { createdAt: { notIn: ['2024-01-01'] } }, '"t0"."created_at" <> ALL(CAST(:p1 AS timestamptz[]))', { p1: ['2024-01-01T00:00:00.000Z'] }],
    ['timestamp lt', { createdAt: { lt: '2024-01-01T00:00:00.5Z' } }, '"t0"."created_at" < CAST(:p1 AS timestamptz)', { p1: '2024-01-01T00:00:00.500Z' }],
    ['timestamp lte', { createdAt: { lte: '2024-01-01' } }, '"t0"."created_at" <= CAST(:p1 AS timestamptz)', { p1: '2024-01-01T00:00:00.000Z' }],
    ['timestamp gt', { createdAt: { gt: '2024-01-01T00:00:00.000001Z' } }, '"t0"."created_at" > CAST(:p1 AS timestamptz)', { p1: '2024-01-01T00:00:00.000001Z' }],
    ['timestamp gte', { createdAt: { gte: '2024-01-01' } }, '"t0"."created_at" >= CAST(:p1 AS timestamptz)', { p1: '2024-01-01T00:00:00.000Z' }],
    ['timestamp isNull', { createdAt: { isNull: true } }, '"t0"."created_at" IS NULL', {}],
    // json
    ['json contains', { data: { contains: { a: [1, { b: 'x' }] } } }, '"t0"."data" @> CAST(:p1 AS jsonb)', { p1: '{"a":[1,{"b":"x"}]}' }],
    ['json hasKey', { data: { hasKey: 'k' } }, '"t0"."data" ? :p1', { p1: 'k' }],
    ['json isNull', { data: { isNull: false } }, '"t0"."data" IS NOT NULL', {}],
  ])('%s', (_name, json, sql, params) => {
    expect(sut(json)).toEqual({ sql, params });
  });
});

describe('applyFilter: operators on nullable fields never yield NULL', () => {
  it.each<[string, unknown, string, Record<string, unknown>]>([
    ['string eq is guarded', { note: { eq: 'a' } }, '("t0"."note" IS NOT NULL AND "t0"."note" = :p1)', { p1: 'a' }],
    ['string neq is IS DISTINCT FROM (true for NULL)', { note: { neq: 'a' } }, '"t0"."note" IS DISTINCT FROM :p1', { p1: 'a' }],
    ['string in is guarded', { note: { in: ['a'] } }, '("t0"."note" IS NOT NULL AND "t0"."note" = ANY(CAST(:p1 AS text[])))', { p1: ['a'] }],
    ['string notIn is true for NULL', { note: { notIn: ['a'] } }, '("t0"."note" IS NULL OR "t0"."note" <> ALL(CAST(:p1 AS text[])))', { p1: ['a'] }],
    ['string lt is guarded', { note: { lt: 'a' } }, '("t0"."note" IS NOT NULL AND "t0"."note" < :p1)', { p1: 'a' }],
    ['string lte is guarded', { note: { lte: 'a' } }, '("t0"."note" IS NOT NULL AND "t0"."note" <= :p1)', { p1: 'a' }],
    ['string gt is guarded', { note: { gt: 'a' } }, '("t0"."note" IS NOT NULL AND "t0"."note" > :p1)', { p1: 'a' }],
    ['string gte is guarded', { note: { gte: 'a' } }, '("t0"."note" IS NOT NULL AND "t0"."note" >= :p1)', { p1: 'a' }],
    ['string isNull', { note: { isNull: true } }, '"t0"."note" IS NULL', {}],
    ['string contains is guarded', { note: { contains: 'x' } }, '("t0"."note" IS NOT NULL AND "t0"."note" LIKE :p1)', { p1: '%x%' }],
    ['string startsWith is guarded', { note: { startsWith: 'x' } }, '("t0"."note" IS NOT NULL AND "t0"."note" LIKE :p1)', { p1: 'x%' }],
    ['string endsWith is guarded', { note: { endsWith: 'x' } }, '("t0"."note" IS NOT NULL AND "t0"."note" LIKE :p1)', { p1: '%x' }],
    ['string like is guarded', { note: { like: 'x' } }, '("t0"."note" IS NOT NULL AND "t0"."note" LIKE :p1)', { p1: 'x' }],
    ['string ilike is guarded', { note: { ilike: 'x' } }, '("t0"."note" IS NOT NULL AND "t0"."note" ILIKE :p1)', { p1: 'x' }],
    ['enum eq is guarded', { phase: { eq: 'x' } }, '("t0"."phase" IS NOT NULL AND "t0"."phase" = :p1)', { p1: 'x' }],
    ['enum neq', { phase: { neq: 'x' } }, '"t0"."phase" IS DISTINCT FROM :p1', { p1: 'x' }],
    ['enum in', { phase: { in: ['x'] } }, '("t0"."phase" IS NOT NULL AND "t0"."phase" = ANY(CAST(:p1 AS text[])))', { p1: ['x'] }],
    ['enum notIn', { phase: { notIn: ['x'] } }, '("t0"."phase" IS NULL OR "t0"."phase" <> ALL(CAST(:p1 AS text[])))', { p1: ['x'] }],
    ['integer eq', { rank: { eq: 1 } }, '("t0"."rank" IS NOT NULL AND "t0"."rank" = CAST(:p1 AS bigint))', { p1: 1 }],
    ['integer neq', { rank: { neq: 1 } }, '"t0"."rank" IS DISTINCT FROM CAST(:p1 AS bigint)', { p1: 1 }],
    ['integer in', { rank: { in: [1] } }, '("t0"."rank" IS NOT NULL AND "t0"."rank" = ANY(CAST(:p1 AS bigint[])))', { p1: [1] }],
    ['integer notIn', { rank: { notIn: [1] } }, '("t0"."rank" IS NULL OR "t0"."rank" <> ALL(CAST(:p1 AS bigint[])))', { p1: [1] }],
    ['integer lt', { rank: { lt: 1 } }, '("t0"."rank" IS NOT NULL AND "t0"."rank" < CAST(:p1 AS bigint))', { p1: 1 }],
    ['integer gte', { rank: { gte: 1 } }, '("t0"."rank" IS NOT NULL AND "t0"."rank" >= CAST(:p1 AS bigint))', { p1: 1 }],
    ['timestamp eq', { doneAt: { eq: '2024-01-01' } }, '("t0"."done_at" IS NOT NULL AND "t0"."done_at" = CAST(:p1 AS timestamptz))', { p1: '2024-01-01T00:00:00.000Z' }],
    ['timestamp neq', { doneAt: { neq: '2024-01-01' } }, '"t0"."done_at" IS DISTINCT FROM CAST(:p1 AS timestamptz)', { p1: '2024-01-01T00:00:00.000Z' }],
    ['timestamp notIn', { doneAt: { notIn: ['2024-01-01'] } }, '("t0"."done_at" IS NULL OR "t0"."done_at" <> ALL(CAST(:p1 AS timestamptz[])))', { p1: ['2024-01-01T00:00:00.000Z'] }],
    ['timestamp gt', { doneAt: { gt: '2024-01-01' } }, '("t0"."done_at" IS NOT NULL AND "t0"."done_at" > CAST(:p1 AS timestamptz))', { p1: '2024-01-01T00:00:00.000Z' }],
    ['timestamp lte', { doneAt: { lte: '2024-01-01' } }, '("t0"."done_at" IS NOT NULL AND "t0"."done_at" <= CAST(:p1 AS timestamptz))', { p1: '2024-01-01T00:00:00.000Z' }],
    ['json contains', { extra: { contains: {} } }, '("t0"."extra" IS NOT NULL AND "t0"."extra" @> CAST(:p1 AS jsonb))', { p1: '{}' }],
    ['json hasKey', { extra: { hasKey: 'k' } }, '("t0"."extra" IS NOT NULL AND "t0"."extra" ? :p1)', { p1: 'k' }],
    ['json isNull', { extra: { isNull: true } }, '"t0"."extra" IS NULL', {}],
  ])('%s', (_name, json, sql, params) => {
    expect(sut(json)).toEqual({ sql, params });
  });
});

describe('applyFilter: logic', () => {
  it('adds nothing for {} and drops TRUE from AND lists', () => {
    expect(sut({})).toEqual({ sql: '', params: {} });
    expect(sut({ AND: [{}, { size: { eq: 1 } }] }).sql).toBe('"t0"."size" = CAST(:p1 AS bigint)');
  });

  it('adds FALSE for OR [] and drops FALSE from OR lists', () => {
    expect(sut({ OR: [] }).sql).toBe('FALSE');
    expect(sut({ OR: [{ OR: [] }, { size: { eq: 1 } }] }).sql).toBe('"t0"."size" = CAST(:p1 AS bigint)');
  });

  it('folds constants: NOT of a constant, an absorbing item, a double NOT', () => {
    expect(sut({ NOT: {} }).sql).toBe('FALSE');
    expect(sut({ NOT: { OR: [] } }).sql).toBe('');
    expect(sut({ AND: [{ size: { eq: 1 } }, { OR: [] }] }).sql).toBe('FALSE');
    expect(sut({ OR: [{ size: { eq: 1 } }, {}] }).sql).toBe('');
    expect(sut({ NOT: { NOT: { size: { eq: 1 } } } }).sql).toBe('"t0"."size" = CAST(:p1 AS bigint)');
  });

  it('ANDs object keys with andWhere and ORs items in Brackets, numbering parameters in AST order', () => {
    expect(sut({ size: { gt: 1, lt: 9 }, OR: [{ name: { eq: 'a' } }, { NOT: { note: { eq: 'b' } } }] })).toEqual({
      sql:
        '("t0"."name" = :p1 OR NOT(("t0"."note" IS NOT NULL AND "t0"."note" = :p2))) AND "t0"."size" > CAST(:p3 AS bigint) AND "t0"."size" < CAST(:p4 AS bigint)',
      params: { p1: 'a', p2: 'b', p3: 1, p4: 9 },
    });
  });

  it('groups an AND inside an OR, and negates a list with NotBrackets', () => {
    expect(sut({ OR: [{ AND: [{ size: { eq: 1 } }, { kind: { eq: 'a' } }] }, { name: { eq: 'x' } }] }).sql).toBe(
      '(("t0"."size" = CAST(:p1 AS bigint) AND "t0"."kind" = :p2) OR "t0"."name" = :p3)',
    );
    expect(sut({ NOT: { AND: [{ size: { eq: 1 } }, { kind: { eq: 'a' } }] } }).sql).toBe('NOT(("t0"."size" = CAST(:p1 AS bigint) AND "t0"."kind" = :p2))');
    expect(sut({ NOT: { size: { eq: 1 } } }).sql).toBe('NOT("t0"."size" = CAST(:p1 AS bigint))');
  });

  it('gives the same SQL and parameters for the same input', () => {
    const json = { OR: [{ children: { some: { name: { eq: 'x' } } } }, { parent: { size: { in: [1, 2] } } }] };
    expect(sut(json)).toEqual(sut(JSON.parse(JSON.stringify(json))));
  });

  it('uses the given alias and continues the statement\'s parameter sequence', () => {
    expect(sut({ name: { eq: 'a' } }, { alias: 'task', before: ['earlier'] })).toEqual({
      sql: '"earlier" = :p1 AND "task"."name" = :p2',
      params: { p1: 'earlier', p2: 'a' },
    });
  });

  it('binds a condition once per statement, however often it is applied', () => {
    const node = parseFilter({ name: { eq: 'a' } }, spec);
    const { qb, params } = itemsQuery();
    const ctx = { spec, params, aliases: new AliasGenerator() };
    applyFilter(qb, node, 't0', ctx);
    applyFilter(qb, node, 't0', ctx);
    expect(whereOf(qb)).toEqual({ sql: '"t0"."name" = :p1 AND "t0"."name" = :p1', params: { p1: 'a' } });
  });
});

describe('applyFilter: relations as EXISTS subqueries', () => {
  it('builds a relation subquery once per context and outer alias, however often the filter is applied', () => {
    const node = parseFilter({ children: { some: { name: { eq: 'x' } } } }, spec);
    const { qb, params } = itemsQuery();
    const ctx = { spec, params, aliases: new AliasGenerator() };
    applyFilter(qb, node, 't0', ctx);
    applyFilter(qb, node, 't0', ctx);
    applyFilter(qb, node, 'other', ctx);
    const exists = (alias: string, related: string) => `EXISTS (SELECT 1 FROM "items" "${related}" WHERE "${related}"."parent_id" = "${alias}"."id" AND "${related}"."name" = :p1)`;
    expect(whereOf(qb)).toEqual({ sql: `${exists('t0', 't1')} AND ${exists('t0', 't1')} AND ${exists('other', 't2')}`, params: { p1: 'x' } });
  });


  it('parent: EXISTS on the row referenced by the FK', () => {
    expect(sut({ parent: { kind: { eq: 'a' } } })).toEqual({
      sql: 'EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."id" = "t0"."parent_id" AND "t1"."kind" = :p1)',
      params: { p1: 'a' },
    });
  });

  it('parent: {} means "has a parent"', () => {
    expect(sut({ parent: {} }).sql).toBe('EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."id" = "t0"."parent_id")');
  });

  it('children.some: EXISTS child matching', () => {
    expect(sut({ children: { some: { size: { gt: 1 } } } }).sql).toBe(
      'EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."parent_id" = "t0"."id" AND "t1"."size" > CAST(:p1 AS bigint))',
    );
  });

  it('children.every: NOT EXISTS child failing (vacuously true without children)', () => {
    expect(sut({ children: { every: { size: { gt: 1 } } } }).sql).toBe(
      'NOT EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."parent_id" = "t0"."id" AND NOT("t1"."size" > CAST(:p1 AS bigint)))',
    );
    expect(sut({ children: { every: {} } }).sql).toBe('');
    expect(sut({ children: { every: { OR: [] } } }).sql).toBe('NOT EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."parent_id" = "t0"."id")');
  });

  it('children.none: NOT EXISTS child matching', () => {
    expect(sut({ children: { none: { note: { isNull: true } } } }).sql).toBe(
      'NOT EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."parent_id" = "t0"."id" AND "t1"."note" IS NULL)',
    );
  });

  it('folds relations over a FALSE filter: some/is fail, none holds', () => {
    expect(sut({ children: { some: { OR: [] } } }).sql).toBe('FALSE');
    expect(sut({ parent: { OR: [] } }).sql).toBe('FALSE');
    expect(sut({ children: { none: { OR: [] } } }).sql).toBe('');
  });

  it('numbers nested subquery aliases from a counter, outer first', () => {
    expect(sut({ children: { some: { parent: { children: { none: {} } } } }, parent: {} }).sql).toBe(
      'EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."parent_id" = "t0"."id" AND ' +
        'EXISTS (SELECT 1 FROM "items" "t2" WHERE "t2"."id" = "t1"."parent_id" AND ' +
        'NOT EXISTS (SELECT 1 FROM "items" "t3" WHERE "t3"."parent_id" = "t2"."id"))) AND ' +
        'EXISTS (SELECT 1 FROM "items" "t4" WHERE "t4"."id" = "t0"."parent_id")',
    );
  });

  it('applies the scope inside every relation subquery, binding its values once', () => {
    const scope = scopeFieldIn(spec, 'name', ['w1', 'w2']);
    expect(sut({ children: { every: { parent: { size: { eq: 1 } } } } }, { scope })).toEqual({
      sql:
        'NOT EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."parent_id" = "t0"."id" AND "t1"."name" = ANY(CAST(:p1 AS text[])) AND ' +
        'NOT(EXISTS (SELECT 1 FROM "items" "t2" WHERE "t2"."id" = "t1"."parent_id" AND "t2"."name" = ANY(CAST(:p1 AS text[])) AND "t2"."size" = CAST(:p2 AS bigint))))',
      params: { p1: ['w1', 'w2'], p2: 1 },
    });
  });

  it('guards a scope on a nullable field', () => {
    const { params } = itemsQuery();
    expect(scopeFieldIn(spec, 'note', ['n', 'm'])('t5', params)).toBe('("t5"."note" IS NOT NULL AND "t5"."note" = ANY(CAST(:p1 AS text[])))');
  });

  it('binds a single scope value as a scalar (index-friendly), an empty scope as an empty list', () => {
    const { qb, params } = itemsQuery();
    expect(scopeFieldIn(spec, 'size', [7])('t0', params)).toBe('"t0"."size" = CAST(:p1 AS bigint)');
    expect(scopeFieldIn(spec, 'name', [])('t0', params)).toBe('"t0"."name" = ANY(CAST(:p2 AS text[]))');
    expect(qb.getParameters()).toEqual({ p1: 7, p2: [] });
  });
});

describe('applyFilter: programmatic nodes', () => {
  it('translates an empty in list (no ids) to a predicate matching nothing', () => {
    const node: FilterNode = { kind: 'condition', field: 'id', operator: 'in', value: [] };
    expect(translate(node)).toEqual({ sql: '"t0"."id" = ANY(CAST(:p1 AS text[]))', params: { p1: [] } });
  });
});

describe('foldConstants', () => {
  it('flattens nested lists of the same kind and keeps condition nodes as they are', () => {
    const a = parseFilter({ size: { eq: 1 } }, spec);
    const b = parseFilter({ kind: { eq: 'a' } }, spec);
    const sut = foldConstants({ kind: 'and', items: [a, { kind: 'and', items: [b, { kind: 'and', items: [] }] }] });
    expect(sut).toEqual({ kind: 'and', items: [a, b] });
    expect((sut as { items: FilterNode[] }).items[0]).toBe(a);
  });

  it('returns a filter that needs no folding as it is', () => {
    const node = parseFilter({ OR: [{ size: { eq: 1 } }, { NOT: { kind: { eq: 'a' } } }], children: { every: { name: { eq: 'x' }, note: { isNull: true } } } }, spec);
    expect(foldConstants(node)).toBe(node);
  });
});

describe('escapeLike', () => {
  it('escapes backslash, percent and underscore only', () => {
    expect(escapeLike('a\\b%c_d*e')).toBe('a\\\\b\\%c\\_d*e');
  });
});
