import { describe, expect, it } from '@jest/globals';
import { parseFilter } from '../filter/parse-filter';
import { parseOrderBy } from '../order-by/order-by';
import { jsonContains, jsonHasKey, referenceList, referencePage, type ReferenceRow } from './reference-evaluator';
import { SAMPLE_SPEC } from './sample-entity';

const spec = SAMPLE_SPEC;
const byId = parseOrderBy([{ id: 'asc' }], spec);

function row(id: string, fields: Partial<ReferenceRow> = {}): ReferenceRow {
  return {
    id, parentId: null, name: id, note: null, kind: 'a', phase: null, size: 0, rank: null,
    createdAt: '2024-01-01T00:00:00.000Z', doneAt: null, data: {}, extra: null, ...fields,
  };
}

const ids = (rows: ReferenceRow[]) => rows.map((r) => r.id);
const sut = (rows: ReferenceRow[], filter: unknown, extra: { scope?: (r: ReferenceRow) => boolean } = {}) =>
  ids(referenceList(rows, { spec, filter: parseFilter(filter, spec), orderBy: byId, ...extra }));

describe('referenceList: scalar semantics', () => {
  const rows = [row('1', { note: 'x' }), row('2', { note: null }), row('3', { note: 'y' })];

  it('is false for comparisons on NULL except neq and notIn', () => {
    expect(sut(rows, { note: { eq: 'x' } })).toEqual(['1']);
    expect(sut(rows, { note: { neq: 'x' } })).toEqual(['2', '3']);
    expect(sut(rows, { note: { in: ['x', 'y'] } })).toEqual(['1', '3']);
    expect(sut(rows, { note: { notIn: ['x'] } })).toEqual(['2', '3']);
    expect(sut(rows, { note: { gte: 'a' } })).toEqual(['1', '3']);
    expect(sut(rows, { note: { isNull: true } })).toEqual(['2']);
  });

  it('makes NOT the exact complement', () => {
    expect(sut(rows, { NOT: { note: { gte: 'y' } } })).toEqual(['1', '2']);
    expect(sut(rows, { NOT: { note: { neq: 'x' } } })).toEqual(['1']);
  });

  it('compares strings by code point (UTF-8 byte order), not UTF-16 units', () => {
    const names = ['a', 'Z', 'é', '\uffff', '𝔸', 'ab'];
    const data = names.map((name, i) => row(String(i), { name }));
    const sorted = referenceList(data, { spec, orderBy: parseOrderBy([{ name: 'asc' }], spec) }).map((r) => r.name);
    expect(sorted).toEqual(['Z', 'a', 'ab', 'é', '\uffff', '𝔸']);
    expect(sut(data, { name: { gt: '\uffff' } })).toEqual(['4']);
  });

  it('compares timestamps as instants, with microseconds', () => {
    const data = [row('1', { createdAt: new Date('2024-01-01T00:00:00.001Z') }), row('2', { createdAt: '2024-01-01T02:00:00.000+02:00' })];
    expect(sut(data, { createdAt: { gt: '2024-01-01T00:00:00.000999Z' } })).toEqual(['1']);
    expect(sut(data, { createdAt: { eq: '2024-01-01' } })).toEqual(['2']);
  });

  it('matches contains/startsWith/endsWith literally and LIKE with wildcards and \\ escapes', () => {
    const data = [row('1', { name: 'a%b' }), row('2', { name: 'axb' }), row('3', { name: 'A_B' }), row('4', { name: 'é' })];
    expect(sut(data, { name: { contains: '%' } })).toEqual(['1']);
    expect(sut(data, { name: { like: 'a%b' } })).toEqual(['1', '2']);
    expect(sut(data, { name: { like: 'a\\%b' } })).toEqual(['1']);
    expect(sut(data, { name: { like: '_' } })).toEqual(['4']);
    expect(sut(data, { name: { ilike: 'a\\_b' } })).toEqual(['3']);
    expect(sut(data, { name: { ilike: 'É' } })).toEqual([]); // ASCII-only case folding under COLLATE "C"
    expect(sut(data, { name: { startsWith: 'A_' } })).toEqual(['3']);
    expect(sut(data, { name: { endsWith: 'b' } })).toEqual(['1', '2']);
  });
});

describe('jsonContains / jsonHasKey (PostgreSQL @> and ?)', () => {
  it.each<[unknown, unknown, boolean]>([
    [{ a: 1, b: 2 }, { a: 1 }, true],
    [{ a: 1 }, {}, true],
    [{ a: { b: [1, 2, 3] } }, { a: { b: [3, 1] } }, true],
    [{ a: [1, [2, 3]] }, { a: [[3]] }, true],
    [{ a: [1, [2, 3]] }, { a: [3] }, false],
    [{ a: ['x'] }, { a: 'x' }, false],
    [{ a: 'x' }, { a: ['x'] }, false],
    [{ a: null }, { a: null }, true],
    [{ a: 1 }, { a: '1' }, false],
    [{ a: [{ b: 1, c: 2 }] }, { a: [{ b: 1 }] }, true],
    [['foo', 'bar'], 'foo', true], // top-level array contains a scalar
    [[['foo']], ['foo'], false],
  ])('%j @> %j is %s', (left, right, expected) => {
    expect(jsonContains(left, right)).toBe(expected);
  });

  it('hasKey tests top-level keys only', () => {
    expect(jsonHasKey({ a: { b: 1 } }, 'a')).toBe(true);
    expect(jsonHasKey({ a: { b: 1 } }, 'b')).toBe(false);
    expect(jsonHasKey({}, 'constructor')).toBe(false);
  });
});

describe('referenceList: relations and scope', () => {
  const rows = [
    row('p', { name: 'w1' }),
    row('c1', { parentId: 'p', size: 1, name: 'w1' }),
    row('c2', { parentId: 'p', size: 5, name: 'w2' }),
    row('leaf', { name: 'w1' }),
  ];
  const inW1 = (r: ReferenceRow) => r.name === 'w1';

  it('resolves parent and children quantifiers; every is vacuously true', () => {
    expect(sut(rows, { parent: { id: { eq: 'p' } } })).toEqual(['c1', 'c2']);
    expect(sut(rows, { children: { some: { size: { gt: 2 } } } })).toEqual(['p']);
    expect(sut(rows, { children: { every: { size: { gt: 2 } } } })).toEqual(['c1', 'c2', 'leaf']);
    expect(sut(rows, { children: { none: { size: { gt: 2 } } } })).toEqual(['c1', 'c2', 'leaf']);
  });

  it('sees only rows in scope through relations', () => {
    expect(sut(rows, { children: { some: { size: { gt: 2 } } } }, { scope: inW1 })).toEqual([]);
    expect(sut(rows, { children: { every: { size: { lt: 2 } } } }, { scope: inW1 })).toEqual(['c1', 'leaf', 'p']);
    expect(sut([...rows, row('orphan', { parentId: 'c2', name: 'w1' })], { parent: {} }, { scope: inW1 })).toEqual(['c1']);
  });
});

describe('referencePage', () => {
  const rows = ['a', 'b', 'c', 'd', 'e'].map((id, i) => row(id, { rank: i % 2 === 0 ? i : null }));
  const order = parseOrderBy([{ rank: 'asc' }], spec); // NULLs last: a(0) c(2) e(4) b d
  const page = (extra: { after?: (string | number | null)[]; before?: (string | number | null)[]; limit: number }) => {
    const result = referencePage(rows, { spec, orderBy: order, ...extra });
    return { ids: ids(result.rows), next: result.hasNextPage, prev: result.hasPreviousPage, total: result.total };
  };

  it('orders NULLs last for asc and pages forward', () => {
    expect(page({ limit: 2 })).toEqual({ ids: ['a', 'c'], next: true, prev: false, total: 5 });
    expect(page({ after: [2, 'c'], limit: 2 })).toEqual({ ids: ['e', 'b'], next: true, prev: true, total: 5 });
    expect(page({ after: [null, 'b'], limit: 2 })).toEqual({ ids: ['d'], next: false, prev: true, total: 5 });
  });

  it('pages backward: the rows closest to before, in forward order', () => {
    expect(page({ before: [null, 'd'], limit: 2 })).toEqual({ ids: ['e', 'b'], next: true, prev: true, total: 5 });
    expect(page({ before: [2, 'c'], limit: 5 })).toEqual({ ids: ['a'], next: true, prev: false, total: 5 });
  });

  it('takes the rows between after and before, from after', () => {
    expect(page({ after: [0, 'a'], before: [null, 'd'], limit: 2 })).toEqual({ ids: ['c', 'e'], next: true, prev: true, total: 5 });
  });

  it('answers an empty page by what lies beyond its cursors', () => {
    expect(page({ after: [null, 'd'], limit: 2 })).toEqual({ ids: [], next: false, prev: true, total: 5 });
    expect(page({ before: [0, 'a'], limit: 2 })).toEqual({ ids: [], next: true, prev: false, total: 5 });
  });
});
