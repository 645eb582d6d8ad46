import { describe, expect, it } from '@jest/globals';
import type { OrderByItem } from '../order-by/order-by';
import { itemsQuery, whereOf } from '../testing/offline-builders';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import { bindCursor, keysetAfter, keysetBefore, type CursorValue } from './keyset';

const spec = SAMPLE_SPEC;
const ID: OrderByItem = { field: 'id', direction: 'asc', nulls: 'last' };

/** The WHERE that one bound gives on `SELECT 1 FROM items AS t0`. */
function run(side: 'after' | 'before', orderBy: OrderByItem[], values: CursorValue[], options: { inclusive?: boolean } = {}) {
  const { qb, params } = itemsQuery();
  (side === 'after' ? keysetAfter : keysetBefore)(qb, bindCursor(orderBy, values, spec, params), 't0', options);
  return whereOf(qb);
}

const R = '"t0"."rank"';
const T0 = '2024-01-01T00:00:00.000Z';
const V = 'CAST(:p1 AS bigint)';

describe('keyset predicates on a nullable leading key (rank, id)', () => {
  // Each row: placement, cursor rank, side, expected SQL. Derivation: "after" in
  // the order is the OR over keys of (earlier keys equal AND this key after);
  // NULL-first/last decides whether NULL ranks are after/before a value; the
  // leading bound is "not before on rank".
  it.each<[string, 'asc' | 'desc', 'first' | 'last', number | null, 'after' | 'before', string]>([
    ['asc nulls first, value, after: NULLs precede, excluded', 'asc', 'first', 5, 'after',
      `(${R} IS NOT NULL AND ${R} >= ${V}) AND ((${R} IS NOT NULL AND ${R} > ${V}) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" > :p2))`],
    ['asc nulls first, value, before: NULLs precede, included', 'asc', 'first', 5, 'before',
      `(${R} <= ${V} OR ${R} IS NULL) AND ((${R} < ${V} OR ${R} IS NULL) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" < :p2))`],
    ['asc nulls first, NULL, after: every non-NULL follows', 'asc', 'first', null, 'after',
      `(${R} IS NOT NULL OR (${R} IS NULL AND "t0"."id" > :p1))`],
    ['asc nulls first, NULL, before: only NULLs with a smaller id', 'asc', 'first', null, 'before',
      `${R} IS NULL AND ${R} IS NULL AND "t0"."id" < :p1`],
    ['asc nulls last, value, after: NULLs follow', 'asc', 'last', 5, 'after',
      `(${R} >= ${V} OR ${R} IS NULL) AND ((${R} > ${V} OR ${R} IS NULL) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" > :p2))`],
    ['asc nulls last, value, before: NULLs excluded', 'asc', 'last', 5, 'before',
      `(${R} IS NOT NULL AND ${R} <= ${V}) AND ((${R} IS NOT NULL AND ${R} < ${V}) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" < :p2))`],
    ['asc nulls last, NULL, after: only NULLs with a greater id (bound: rank IS NULL)', 'asc', 'last', null, 'after',
      `${R} IS NULL AND ${R} IS NULL AND "t0"."id" > :p1`],
    ['asc nulls last, NULL, before: every non-NULL precedes', 'asc', 'last', null, 'before',
      `(${R} IS NOT NULL OR (${R} IS NULL AND "t0"."id" < :p1))`],
    ['desc nulls first, value, after: smaller ranks follow, NULLs excluded', 'desc', 'first', 5, 'after',
      `(${R} IS NOT NULL AND ${R} <= ${V}) AND ((${R} IS NOT NULL AND ${R} < ${V}) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" > :p2))`],
    ['desc nulls first, value, before: greater ranks and NULLs', 'desc', 'first', 5, 'before',
      `(${R} >= ${V} OR ${R} IS NULL) AND ((${R} > ${V} OR ${R} IS NULL) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" < :p2))`],
    ['desc nulls first, NULL, after', 'desc', 'first', null, 'after', `(${R} IS NOT NULL OR (${R} IS NULL AND "t0"."id" > :p1))`],
    ['desc nulls first, NULL, before', 'desc', 'first', null, 'before', `${R} IS NULL AND ${R} IS NULL AND "t0"."id" < :p1`],
    ['desc nulls last, value, after: smaller ranks and NULLs', 'desc', 'last', 5, 'after',
      `(${R} <= ${V} OR ${R} IS NULL) AND ((${R} < ${V} OR ${R} IS NULL) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" > :p2))`],
    ['desc nulls last, value, before: greater ranks only', 'desc', 'last', 5, 'before',
      `(${R} IS NOT NULL AND ${R} >= ${V}) AND ((${R} IS NOT NULL AND ${R} > ${V}) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" < :p2))`],
    ['desc nulls last, NULL, after', 'desc', 'last', null, 'after', `${R} IS NULL AND ${R} IS NULL AND "t0"."id" > :p1`],
    ['desc nulls last, NULL, before', 'desc', 'last', null, 'before', `(${R} IS NOT NULL OR (${R} IS NULL AND "t0"."id" < :p1))`],
  ])('%s', (_name, direction, nulls, value, side, sql) => {
    const result = run(side, [{ field: 'rank', direction, nulls }, ID], [value, 'x']);
    expect(result).toEqual({ sql, params: value === null ? { p1: 'x' } : { p1: 5, p2: 'x' } });
  });
});

describe('keyset predicates: index-friendly shapes', () => {
  it('uses one row-value comparison when every key is non-nullable and ascending', () => {
    const orderBy: OrderByItem[] = [{ field: 'createdAt', direction: 'asc', nulls: 'last' }, ID];
    const values = ['2024-01-01T00:00:00.000Z', 'x'];
    expect(run('after', orderBy, values)).toEqual({
      sql: '("t0"."created_at", "t0"."id") > (CAST(:p1 AS timestamptz), :p2)',
      params: { p1: '2024-01-01T00:00:00.000Z', p2: 'x' },
    });
    expect(run('before', orderBy, values).sql).toBe('("t0"."created_at", "t0"."id") < (CAST(:p1 AS timestamptz), :p2)');
  });

  it('uses a row-value comparison for all-descending non-nullable keys', () => {
    const orderBy: OrderByItem[] = [{ field: 'size', direction: 'desc', nulls: 'first' }, { field: 'id', direction: 'desc', nulls: 'first' }];
    expect(run('after', orderBy, [3, 'x']).sql).toBe('("t0"."size", "t0"."id") < (CAST(:p1 AS bigint), :p2)');
    expect(run('before', orderBy, [3, 'x']).sql).toBe('("t0"."size", "t0"."id") > (CAST(:p1 AS bigint), :p2)');
  });

  it('uses a plain comparison for the id alone', () => {
    expect(run('after', [ID], ['x'])).toEqual({ sql: '"t0"."id" > :p1', params: { p1: 'x' } });
  });

  it('adds a single-key range bound when the directions differ', () => {
    const orderBy: OrderByItem[] = [{ field: 'createdAt', direction: 'desc', nulls: 'first' }, ID];
    expect(run('after', orderBy, ['2024-01-01T00:00:00.000Z', 'x']).sql).toBe(
      '"t0"."created_at" <= CAST(:p1 AS timestamptz) AND ("t0"."created_at" < CAST(:p1 AS timestamptz) OR ("t0"."created_at" = CAST(:p1 AS timestamptz) AND "t0"."id" > :p2))',
    );
  });

  it('adds a row-value bound on the longest non-nullable same-direction prefix', () => {
    const orderBy: OrderByItem[] = [
      { field: 'kind', direction: 'asc', nulls: 'last' },
      { field: 'createdAt', direction: 'asc', nulls: 'last' },
      { field: 'doneAt', direction: 'asc', nulls: 'first' },
      ID,
    ];
    const result = run('after', orderBy, ['a', '2024-01-01T00:00:00.000Z', null, 'x']);
    expect(result.sql).toBe(
      '("t0"."kind", "t0"."created_at") >= (:p1, CAST(:p2 AS timestamptz)) AND (' +
        '"t0"."kind" > :p1 OR ' +
        '("t0"."kind" = :p1 AND "t0"."created_at" > CAST(:p2 AS timestamptz)) OR ' +
        '("t0"."kind" = :p1 AND "t0"."created_at" = CAST(:p2 AS timestamptz) AND "t0"."done_at" IS NOT NULL) OR ' +
        '("t0"."kind" = :p1 AND "t0"."created_at" = CAST(:p2 AS timestamptz) AND "t0"."done_at" IS NULL AND "t0"."id" > :p3))',
    );
    expect(result.params).toEqual({ p1: 'a', p2: '2024-01-01T00:00:00.000Z', p3: 'x' });
  });

  it('never uses a row-value comparison over a nullable key', () => {
    const orderBy: OrderByItem[] = [{ field: 'note', direction: 'asc', nulls: 'last' }, ID];
    expect(run('after', orderBy, ['n', 'x']).sql).not.toMatch(/\("t0"\."note", /);
  });
});

describe('keyset predicates: inclusive (at or after / at or before)', () => {
  it('relaxes only the final id comparison, in both shapes', () => {
    const fast: OrderByItem[] = [{ field: 'createdAt', direction: 'asc', nulls: 'last' }, ID];
    expect(run('after', fast, [T0, 'x'], { inclusive: true }).sql).toBe('("t0"."created_at", "t0"."id") >= (CAST(:p1 AS timestamptz), :p2)');
    expect(run('before', fast, [T0, 'x'], { inclusive: true }).sql).toBe('("t0"."created_at", "t0"."id") <= (CAST(:p1 AS timestamptz), :p2)');
    const expanded: OrderByItem[] = [{ field: 'rank', direction: 'asc', nulls: 'last' }, ID];
    expect(run('after', expanded, [null, 'x'], { inclusive: true }).sql).toBe(`${R} IS NULL AND ${R} IS NULL AND "t0"."id" >= :p1`);
    expect(run('before', expanded, [5, 'x'], { inclusive: true }).sql).toBe(
      `(${R} IS NOT NULL AND ${R} <= ${V}) AND ((${R} IS NOT NULL AND ${R} < ${V}) OR ((${R} IS NOT NULL AND ${R} = ${V}) AND "t0"."id" <= :p2))`,
    );
  });

  it('binds a cursor once: every bound of it reuses its parameters', () => {
    const { qb, params } = itemsQuery();
    const cursor = bindCursor([{ field: 'createdAt', direction: 'asc', nulls: 'last' }, ID], [T0, 'x'], spec, params);
    keysetAfter(qb, cursor, 't0');
    keysetBefore(qb, cursor, 't0', { inclusive: true });
    expect(whereOf(qb)).toEqual({
      sql: '("t0"."created_at", "t0"."id") > (CAST(:p1 AS timestamptz), :p2) AND ("t0"."created_at", "t0"."id") <= (CAST(:p1 AS timestamptz), :p2)',
      params: { p1: T0, p2: 'x' },
    });
  });
});

describe('keyset predicates: misuse', () => {
  it('requires the orderBy to end with the id', () => {
    expect(() => run('after', [{ field: 'size', direction: 'asc', nulls: 'last' }], [1])).toThrow('must end with the id field');
  });

  it('requires one value per key', () => {
    expect(() => run('after', [ID], [])).toThrow('expected 1 cursor values, got 0');
  });

  it('rejects NULL for a non-nullable key', () => {
    expect(() => run('after', [{ field: 'size', direction: 'asc', nulls: 'last' }, ID], [null, 'x'])).toThrow('non-nullable size is null');
  });
});
