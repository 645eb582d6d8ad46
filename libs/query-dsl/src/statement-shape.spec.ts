import { describe, expect, it } from '@jest/globals';
import { filterNodes, type FilterNode } from './filter/filter-ast';
import { ParameterSlot, ShapeValues, StatementCache, compileParameters, cursorShape, deriveParameter, filterShape, shapeKey } from './statement-shape';

describe('ParameterSlot', () => {
  it('refuses to become text, so a builder cannot write it into SQL', () => {
    const slot = new ParameterSlot(3);
    expect(() => `"c" = ${String(slot)}`).toThrow('parameter slot 3 stands for a bound value');
    expect(() => `"c" = ${slot as unknown as string}`).toThrow('parameter slot 3');
    expect(() => JSON.stringify({ value: slot })).toThrow('parameter slot 3');
  });
});

describe('deriveParameter and compileParameters', () => {
  const pattern = (text: unknown) => `%${text as string}%`;

  it('computes a real value at once', () => {
    expect(deriveParameter('abc', pattern)).toBe('%abc%');
  });

  it('records a slot, and computes it from each request of the shape', () => {
    const values = new ShapeValues();
    const [a, b, c] = [values.slot('x'), values.slot(['ws_1']), values.slot({ k: 1 })];
    const bind = compileParameters([deriveParameter(a, pattern), b, [c, a], deriveParameter([a, c], (list) => list.length), 'constant', 7]);
    expect(values.values).toEqual(['x', ['ws_1'], { k: 1 }]);
    expect(bind(['one', ['ws_a', 'ws_b'], 'three'])).toEqual(['%one%', ['ws_a', 'ws_b'], ['three', 'one'], 2, 'constant', 7]);
    expect(bind(['two', [], null])).toEqual(['%two%', [], [null, 'two'], 2, 'constant', 7]);
  });

  it('fails loudly when a request has fewer values than its shape', () => {
    const bind = compileParameters([new ParameterSlot(1)]);
    expect(() => bind(['only one'])).toThrow('no value for parameter slot 1');
  });
});

describe('filterShape and cursorShape', () => {
  it('slots every bound value, lists as one slot; keeps isNull and NULL cursor keys, which change the SQL', () => {
    const values = new ShapeValues();
    const filter: FilterNode = {
      kind: 'or',
      items: [
        filterNodes.in('status', ['failed', 'pending']),
        { kind: 'not', item: { kind: 'condition', field: 'completedAt', operator: 'isNull', value: true } },
        { kind: 'relation', relation: 'parent', quantifier: 'is', filter: filterNodes.eq('resourceId', 'app_1') },
      ],
    };
    const shape = filterShape(filter, values);
    const after = cursorShape(['2026-01-01T00:00:00.000Z', null, 'ct_1'], values);
    expect(values.values).toEqual([['failed', 'pending'], 'app_1', '2026-01-01T00:00:00.000Z', 'ct_1']);
    expect(shapeKey({ filter: shape, after })).toBe(
      '{"filter":{"kind":"or","items":[{"kind":"condition","field":"status","operator":"in","value":$0},' +
        '{"kind":"not","item":{"kind":"condition","field":"completedAt","operator":"isNull","value":true}},' +
        '{"kind":"relation","relation":"parent","quantifier":"is","filter":{"kind":"condition","field":"resourceId","operator":"eq","value":$1}}]},' +
        '"after":[$2,null,$3]}',
    );
    expect(cursorShape(undefined, values)).toBeUndefined();
  });
});

describe('shapeKey', () => {
  it('tells a slot from any literal, and leaves undefined members out', () => {
    const values = new ShapeValues();
    const slot = values.slot('v');
    const keys = [shapeKey({ value: slot }), shapeKey({ value: '$0' }), shapeKey({ value: { index: 0 } }), shapeKey({ value: 0 }), shapeKey({ value: null })];
    expect(new Set(keys).size).toBe(keys.length);
    expect(shapeKey({ a: 1, b: undefined, c: [true, 'x'] })).toBe('{"a":1,"c":[true,"x"]}');
  });

  it('refuses values a shape cannot hold', () => {
    expect(() => shapeKey([undefined])).toThrow('not undefined');
    expect(() => shapeKey({ f: () => 1 })).toThrow('not function');
  });
});

describe('StatementCache', () => {
  it('builds a key once and keeps the most recently used', () => {
    const cache = new StatementCache<string>(2);
    let builds = 0;
    const get = (key: string) => cache.get(key, () => `${key}#${++builds}`);
    expect([get('a'), get('b'), get('a')]).toEqual(['a#1', 'b#2', 'a#1']);
    // 'b' is now the least recently used: 'c' evicts it, not 'a'.
    expect([get('c'), get('a'), get('b')]).toEqual(['c#3', 'a#1', 'b#4']);
    expect(cache.count).toBe(2);
    expect(cache.stats).toEqual({ hits: 2, misses: 4 });
  });

  it('holds no more than its budget, oldest out first, and keeps nothing larger than the whole budget', () => {
    const cache = new StatementCache<string>(100, { max: 10, sizeOf: (key, sql) => key.length + sql.length });
    const get = (key: string, sql: string) => cache.get(key, () => sql);
    get('a', '1234'); // 5
    get('b', '1234'); // 10 in all
    expect([cache.count, cache.size]).toEqual([2, 10]);
    get('c', '12'); // 13: 'a' goes
    expect([cache.count, cache.size]).toEqual([2, 8]);
    expect(get('huge', '12345678901')).toBe('12345678901');
    expect([cache.count, cache.size]).toEqual([2, 8]);
    let rebuilt = false;
    cache.get('b', () => ((rebuilt = true), 'again'));
    expect(rebuilt).toBe(false);
  });

  it('rejects a capacity below one and an empty budget', () => {
    expect(() => new StatementCache(0)).toThrow('at least one');
    expect(() => new StatementCache(1, { max: 0, sizeOf: () => 1 })).toThrow('budget must be positive');
  });
});
