import { describe, expect, it } from '@jest/globals';
import type { QueryDslIssue } from '../errors';
import { issuesOf } from '../testing/issues-of';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import { itemsQuery } from '../testing/offline-builders';
import { applyOrderBy, orderByTerms, parseOrderBy, parseOrderByJson, reverseOrderBy, type OrderByItem } from './order-by';

const spec = SAMPLE_SPEC;
const DEFAULT = { defaultOrderBy: [{ createdAt: 'asc' as const }] };
const sut = (raw: unknown) => parseOrderBy(raw, spec, DEFAULT);
const ID: OrderByItem = { field: 'id', direction: 'asc', nulls: 'last' };

describe('parseOrderBy', () => {
  it('defaults to the given default order plus id when absent or empty', () => {
    const expected = [{ field: 'createdAt', direction: 'asc', nulls: 'last' }, ID];
    expect(sut(undefined)).toEqual(expected);
    expect(sut([])).toEqual(expected);
    expect(parseOrderByJson(undefined, spec, DEFAULT)).toEqual(expected);
  });

  it('defaults to the id alone without a default order', () => {
    expect(parseOrderBy(undefined, spec)).toEqual([ID]);
  });

  it.each<[string, string, 'asc' | 'desc', 'first' | 'last']>([
    ['asc', 'asc', 'asc', 'last'],
    ['desc', 'desc', 'desc', 'first'],
    ['asc_nulls_first', 'asc_nulls_first', 'asc', 'first'],
    ['asc_nulls_last', 'asc_nulls_last', 'asc', 'last'],
    ['desc_nulls_first', 'desc_nulls_first', 'desc', 'first'],
    ['desc_nulls_last', 'desc_nulls_last', 'desc', 'last'],
  ])('reads %s on a nullable field', (_name, input, direction, nulls) => {
    expect(sut([{ rank: input }])).toEqual([{ field: 'rank', direction, nulls }, ID]);
  });

  it('gives a non-nullable field its direction default NULLS placement', () => {
    expect(sut([{ size: 'desc_nulls_last' }, { createdAt: 'asc_nulls_first' }])).toEqual([
      { field: 'size', direction: 'desc', nulls: 'first' },
      { field: 'createdAt', direction: 'asc', nulls: 'last' },
      ID,
    ]);
  });

  it('does not append the id when present, and drops keys after it', () => {
    expect(sut([{ id: 'desc' }])).toEqual([{ field: 'id', direction: 'desc', nulls: 'first' }]);
    expect(sut([{ size: 'asc' }, { id: 'asc' }, { name: 'asc' }])).toEqual([{ field: 'size', direction: 'asc', nulls: 'last' }, ID]);
  });

  it.each<[string, unknown, QueryDslIssue[]]>([
    ['a non-array', { createdAt: 'asc' }, [{ path: 'orderBy', message: 'expected array' }]],
    ['an element with two fields', [{ size: 'asc', name: 'asc' }], [{ path: 'orderBy[0]', message: 'expected an object with exactly one field' }]],
    ['an empty element', [{ size: 'asc' }, {}], [{ path: 'orderBy[1]', message: 'expected an object with exactly one field' }]],
    ['a string element', ['size'], [{ path: 'orderBy[0]', message: 'expected an object with exactly one field' }]],
    ['an unknown field', [{ size: 'asc' }, { nope: 'asc' }], [{ path: 'orderBy[1].nope', message: 'unknown field' }]],
    ['__proto__', JSON.parse('[{"__proto__":"asc"}]'), [{ path: 'orderBy[0].__proto__', message: 'unknown field' }]],
    ['constructor', [{ constructor: 'asc' }], [{ path: 'orderBy[0].constructor', message: 'unknown field' }]],
    ['a json field', [{ data: 'asc' }], [{ path: 'orderBy[0].data', message: 'field is not sortable' }]],
    [
      'an unknown direction',
      [{ size: 'ASC' }],
      [{ path: 'orderBy[0].size', message: 'expected one of asc, desc, asc_nulls_first, asc_nulls_last, desc_nulls_first, desc_nulls_last' }],
    ],
    [
      'a direction that is an inherited property name',
      [{ size: 'toString' }],
      [{ path: 'orderBy[0].size', message: 'expected one of asc, desc, asc_nulls_first, asc_nulls_last, desc_nulls_first, desc_nulls_last' }],
    ],
    ['a field twice', [{ size: 'asc' }, { name: 'asc' }, { size: 'desc' }], [{ path: 'orderBy[2].size', message: 'field already ordered by at orderBy[0]' }]],
    ['more elements than sortable fields', Array.from({ length: 11 }, () => ({ size: 'asc' })), [{ path: 'orderBy', message: 'expected at most 10 elements' }]],
  ])('rejects %s', (_name, raw, issues) => {
    expect(issuesOf(() => sut(raw))).toEqual(issues);
  });

  it('reports every bad element', () => {
    expect(issuesOf(() => sut([{ nope: 'asc' }, { size: 'up' }]))).toEqual([
      { path: 'orderBy[0].nope', message: 'unknown field' },
      { path: 'orderBy[1].size', message: 'expected one of asc, desc, asc_nulls_first, asc_nulls_last, desc_nulls_first, desc_nulls_last' },
    ]);
  });

  it('rejects malformed JSON at orderBy', () => {
    expect(issuesOf(() => parseOrderByJson('[{', spec))).toEqual([{ path: 'orderBy', message: 'malformed JSON' }]);
  });
});

describe('reverseOrderBy', () => {
  it('flips both direction and NULLS placement', () => {
    expect(
      reverseOrderBy([
        { field: 'rank', direction: 'asc', nulls: 'first' },
        { field: 'note', direction: 'desc', nulls: 'first' },
        ID,
      ]),
    ).toEqual([
      { field: 'rank', direction: 'desc', nulls: 'last' },
      { field: 'note', direction: 'asc', nulls: 'last' },
      { field: 'id', direction: 'desc', nulls: 'first' },
    ]);
  });
});

describe('applyOrderBy / orderByTerms', () => {
  const items = sut([{ rank: 'desc_nulls_last' }, { createdAt: 'asc' }]);
  const orderedBy = (order: OrderByItem[], alias = 't0') => {
    const { qb } = itemsQuery(alias);
    qb.orderBy('"t0"."stale"');
    applyOrderBy(qb, order, alias, spec);
    return qb.getQuery();
  };

  it('replaces the ORDER BY, writing explicit NULLS placement on every term', () => {
    expect(orderedBy(items)).toBe('SELECT 1 FROM "items" "t0" ORDER BY "t0"."rank" DESC NULLS LAST, "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST');
  });

  it('gives TypeORM-shaped terms', () => {
    expect(orderByTerms(items, 'task', spec)[0]).toEqual({ expression: '"task"."rank"', direction: 'DESC', nulls: 'NULLS LAST' });
  });

  it('reversed, matches a backward index scan for non-nullable keys', () => {
    expect(orderedBy(reverseOrderBy(sut(undefined)), 'u')).toBe('SELECT 1 FROM "items" "u" ORDER BY "u"."created_at" DESC NULLS FIRST, "u"."id" DESC NULLS FIRST');
  });
});
