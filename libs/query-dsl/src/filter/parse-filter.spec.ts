import { describe, expect, it } from '@jest/globals';
import { QueryDslError, type QueryDslIssue } from '../errors';
import { issuesOf } from '../testing/issues-of';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import type { FilterNode } from './filter-ast';
import { DEFAULT_FILTER_LIMITS, parseEqualityShortcut, parseFilter, parseFilterJson } from './parse-filter';

const spec = SAMPLE_SPEC;
const sut = (json: unknown, limits = DEFAULT_FILTER_LIMITS) => parseFilter(json, spec, limits);

const cond = (field: string, operator: string, value: unknown): FilterNode =>
  ({ kind: 'condition', field, operator, value }) as FilterNode;

describe('parseFilter: accepted filters', () => {
  it('parses {} as an empty AND (match all)', () => {
    expect(sut({})).toEqual({ kind: 'and', items: [] });
  });

  it('parses one field operator as a bare condition', () => {
    expect(sut({ name: { eq: 'x' } })).toEqual(cond('name', 'eq', 'x'));
  });

  it('ANDs several operators of one field, sorted by operator', () => {
    expect(sut({ size: { lt: 5, gt: 1 } })).toEqual({ kind: 'and', items: [cond('size', 'gt', 1), cond('size', 'lt', 5)] });
  });

  it('ANDs the keys of one object sorted by key, so key order does not matter', () => {
    const a = sut({ size: { eq: 1 }, name: { eq: 'n' }, kind: { in: ['a'] } });
    const b = sut({ kind: { in: ['a'] }, name: { eq: 'n' }, size: { eq: 1 } });
    expect(a).toEqual(b);
    expect(a).toEqual({ kind: 'and', items: [cond('kind', 'in', ['a']), cond('name', 'eq', 'n'), cond('size', 'eq', 1)] });
  });

  it('keeps AND/OR item order and parses NOT', () => {
    expect(sut({ OR: [{ size: { eq: 2 } }, { size: { eq: 1 } }], NOT: { note: { isNull: true } } })).toEqual({
      kind: 'and',
      items: [
        { kind: 'not', item: cond('note', 'isNull', true) },
        { kind: 'or', items: [cond('size', 'eq', 2), cond('size', 'eq', 1)] },
      ],
    });
  });

  it('parses empty AND as TRUE (empty and) and empty OR as FALSE (empty or)', () => {
    expect(sut({ AND: [] })).toEqual({ kind: 'and', items: [] });
    expect(sut({ OR: [] })).toEqual({ kind: 'or', items: [] });
  });

  it('parses parent and children quantifiers, nested', () => {
    expect(sut({ parent: { kind: { eq: 'a' } }, children: { none: {}, some: { children: { every: { size: { gt: 0 } } } } } })).toEqual({
      kind: 'and',
      items: [
        {
          kind: 'and',
          items: [
            { kind: 'relation', relation: 'children', quantifier: 'none', filter: { kind: 'and', items: [] } },
            {
              kind: 'relation',
              relation: 'children',
              quantifier: 'some',
              filter: { kind: 'relation', relation: 'children', quantifier: 'every', filter: cond('size', 'gt', 0) },
            },
          ],
        },
        { kind: 'relation', relation: 'parent', quantifier: 'is', filter: cond('kind', 'eq', 'a') },
      ],
    });
  });

  it('treats an empty operator object and an empty quantifier object as match-all', () => {
    expect(sut({ size: {} })).toEqual({ kind: 'and', items: [] });
    expect(sut({ children: {} })).toEqual({ kind: 'and', items: [] });
  });

  it('normalises timestamps to UTC ISO and -0 to 0', () => {
    expect(sut({ createdAt: { gte: '2024-05-01T14:30:00+02:00' } })).toEqual(cond('createdAt', 'gte', '2024-05-01T12:30:00.000Z'));
    expect(sut({ doneAt: { in: ['2024-05-01'] } })).toEqual(cond('doneAt', 'in', ['2024-05-01T00:00:00.000Z']));
    expect(Object.is((sut({ size: { eq: -0 } }) as { value: number }).value, 0)).toBe(true);
  });

  it('accepts a LIKE pattern ending with an escaped backslash', () => {
    expect(sut({ name: { like: 'a\\\\' } })).toEqual(cond('name', 'like', 'a\\\\'));
  });

  it('accepts every operator the contract lists for each field type', () => {
    const ok = {
      name: { eq: 's', neq: 's', in: ['s'], notIn: ['s'], lt: 's', lte: 's', gt: 's', gte: 's', isNull: false, contains: 's', startsWith: 's', endsWith: 's', like: 's%', ilike: 'S%' },
      kind: { eq: 'a', neq: 'b', in: ['a', 'c'], notIn: ['b'], isNull: false },
      size: { eq: 1, neq: 1, in: [1], notIn: [2], lt: 3, lte: 3, gt: -1, gte: -9007199254740991, isNull: false },
      doneAt: { eq: '2024-01-01', neq: '2024-01-01', in: ['2024-01-01'], notIn: ['2024-01-01'], lt: '2024-01-01', lte: '2024-01-01', gt: '2024-01-01', gte: '2024-01-01', isNull: true },
      data: { contains: { a: [1, { b: null }] }, hasKey: 'a', isNull: false },
    };
    const ast = sut(ok) as { kind: 'and'; items: { items: unknown[] }[] };
    // keys sorted: data, doneAt, kind, name, size
    expect(ast.items.map((item) => item.items.length)).toEqual([3, 9, 5, 14, 9]);
  });
});

describe('parseFilter: errors with their paths', () => {
  it.each<[string, unknown, QueryDslIssue[]]>([
    ['a non-object root', null, [{ path: 'filter', message: 'expected object' }]],
    ['an array root', [], [{ path: 'filter', message: 'expected object' }]],
    ['an unknown field', { nope: { eq: 1 } }, [{ path: 'filter.nope', message: 'unknown field' }]],
    ['a key that is not an identifier', { 'a b': {} }, [{ path: 'filter["a b"]', message: 'unknown field' }]],
    ['lower-case and', { and: [] }, [{ path: 'filter.and', message: 'unknown field' }]],
    ['an unknown operator', { size: { over: 1 } }, [{ path: 'filter.size.over', message: 'unknown operator' }]],
    [
      'an operator the enum does not take',
      { kind: { lt: 'a' } },
      [{ path: 'filter.kind.lt', message: 'operator not allowed for this field (allowed: eq, neq, in, notIn, isNull)' }],
    ],
    [
      'a string operator on an integer',
      { size: { contains: '1' } },
      [{ path: 'filter.size.contains', message: 'operator not allowed for this field (allowed: eq, neq, in, notIn, lt, lte, gt, gte, isNull)' }],
    ],
    ['eq on json', { data: { eq: {} } }, [{ path: 'filter.data.eq', message: 'operator not allowed for this field (allowed: contains, hasKey, isNull)' }]],
    ['a field value that is not an object', { size: 5 }, [{ path: 'filter.size', message: 'expected object of operators' }]],
    ['eq: null', { name: { eq: null } }, [{ path: 'filter.name.eq', message: 'null is not allowed here, use isNull' }]],
    ['neq: null', { note: { neq: null } }, [{ path: 'filter.note.neq', message: 'null is not allowed here, use isNull' }]],
    ['null in an in list', { name: { in: ['a', null] } }, [{ path: 'filter.name.in[1]', message: 'null is not allowed here, use isNull' }]],
    ['a fraction for an integer', { OR: [{}, { size: { gt: 1.5 } }] }, [{ path: 'filter.OR[1].size.gt', message: 'expected integer' }]],
    ['a numeric string for an integer', { size: { eq: '1' } }, [{ path: 'filter.size.eq', message: 'expected integer' }]],
    ['an unsafe integer', { size: { eq: 2 ** 53 } }, [{ path: 'filter.size.eq', message: 'expected integer' }]],
    ['infinity for an integer', { size: { lt: Infinity } }, [{ path: 'filter.size.lt', message: 'expected integer' }]],
    ['a number for a string', { name: { eq: 1 } }, [{ path: 'filter.name.eq', message: 'expected string' }]],
    ['a value outside the enum', { kind: { eq: 'z' } }, [{ path: 'filter.kind.eq', message: 'expected one of a, b, c' }]],
    ['an enum list item outside the enum', { phase: { notIn: ['x', 'q'] } }, [{ path: 'filter.phase.notIn[1]', message: 'expected one of x, y' }]],
    [
      'an impossible date',
      { createdAt: { gt: '2020-13-45' } },
      [{ path: 'filter.createdAt.gt', message: 'expected an ISO 8601 date-time with an offset (e.g. 2024-05-01T12:00:00.000Z, 2024-05-01T14:00+02:00) or a date (2024-05-01, UTC midnight)' }],
    ],
    [
      'a timestamp without offset',
      { doneAt: { lt: '2020-01-01T00:00:00' } },
      [{ path: 'filter.doneAt.lt', message: 'expected an ISO 8601 date-time with an offset (e.g. 2024-05-01T12:00:00.000Z, 2024-05-01T14:00+02:00) or a date (2024-05-01, UTC midnight)' }],
    ],
    ['an empty in list', { size: { in: [] } }, [{ path: 'filter.size.in', message: 'expected non-empty array' }]],
    ['a scalar for in', { size: { notIn: 1 } }, [{ path: 'filter.size.notIn', message: 'expected non-empty array' }]],
    ['isNull that is not boolean', { note: { isNull: 'true' } }, [{ path: 'filter.note.isNull', message: 'expected boolean' }]],
    ['json contains with an array', { data: { contains: [1] } }, [{ path: 'filter.data.contains', message: 'expected JSON object' }]],
    ['json contains with a string', { data: { contains: 'a' } }, [{ path: 'filter.data.contains', message: 'expected JSON object' }]],
    ['json contains with null', { extra: { contains: null } }, [{ path: 'filter.extra.contains', message: 'expected JSON object' }]],
    ['json contains with NUL in a string', { data: { contains: { a: ['ok', 'x\u0000'] } } }, [{ path: 'filter.data.contains.a[1]', message: 'must not contain NUL (\\u0000) characters' }]],
    ['json contains with NUL in a key', { data: { contains: { 'a\u0000': 1 } } }, [{ path: 'filter.data.contains["a\\u0000"]', message: 'key must not contain NUL (\\u0000) characters' }]],
    ['json contains nested past 32 levels', { data: { contains: { a: JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`) } } }, [{ path: `filter.data.contains.a${'[0]'.repeat(31)}`, message: 'must not nest arrays and objects more than 32 levels deep' }]],
    ['hasKey that is not a string', { data: { hasKey: 5 } }, [{ path: 'filter.data.hasKey', message: 'expected string' }]],
    ['contains that is not a string', { name: { contains: 5 } }, [{ path: 'filter.name.contains', message: 'expected string' }]],
    ['a string with NUL', { name: { startsWith: 'a\u0000' } }, [{ path: 'filter.name.startsWith', message: 'must not contain NUL (\\u0000) characters' }]],
    ['a lone surrogate', { name: { eq: '\ud800x' } }, [{ path: 'filter.name.eq', message: 'must be valid Unicode text (lone surrogate)' }]],
    [
      'a LIKE pattern ending with the escape character',
      { note: { ilike: 'ab\\' } },
      [{ path: 'filter.note.ilike', message: 'LIKE pattern must not end with the escape character \\' }],
    ],
    ['AND that is not an array', { AND: {} }, [{ path: 'filter.AND', message: 'expected array' }]],
    ['NOT with an array', { NOT: [] }, [{ path: 'filter.NOT', message: 'expected object' }]],
    ['a non-object AND item', { AND: [{}, 3] }, [{ path: 'filter.AND[1]', message: 'expected object' }]],
    ['parent that is not an object', { parent: 'x' }, [{ path: 'filter.parent', message: 'expected object' }]],
    ['parent: null', { parent: null }, [{ path: 'filter.parent', message: 'expected object' }]],
    ['children that is not an object', { children: [] }, [{ path: 'filter.children', message: 'expected object with some, every or none' }]],
    ['an unknown quantifier', { children: { any: {} } }, [{ path: 'filter.children.any', message: 'unknown quantifier (expected some, every or none)' }]],
    ['a filter as the children value', { children: { size: { eq: 1 } } }, [{ path: 'filter.children.size', message: 'unknown quantifier (expected some, every or none)' }]],
    ['a bad value deep inside relations', { children: { some: { parent: { NOT: { size: { eq: 'x' } } } } } }, [{ path: 'filter.children.some.parent.NOT.size.eq', message: 'expected integer' }]],
  ])('rejects %s', (_name, json, issues) => {
    expect(issuesOf(() => sut(json))).toEqual(issues);
  });

  it('reports every problem, in input order', () => {
    expect(issuesOf(() => sut({ zz: {}, size: { eq: 'a', lt: null }, AND: [{ kind: { eq: 'q' } }] }))).toEqual([
      { path: 'filter.zz', message: 'unknown field' },
      { path: 'filter.size.eq', message: 'expected integer' },
      { path: 'filter.size.lt', message: 'null is not allowed here, use isNull' },
      { path: 'filter.AND[0].kind.eq', message: 'expected one of a, b, c' },
    ]);
  });

  it('stops listing problems at 50', () => {
    const json = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}`, {}]));
    expect(issuesOf(() => sut(json))).toHaveLength(50);
  });

  it('rejects more than 100 list items and accepts 100', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i);
    expect(sut({ size: { in: hundred } })).toEqual(cond('size', 'in', hundred));
    expect(issuesOf(() => sut({ size: { notIn: [...hundred, 100] } }))).toEqual([{ path: 'filter.size.notIn', message: 'expected at most 100 items' }]);
  });

  it('uses the given path prefix', () => {
    expect(issuesOf(() => parseFilter({ x: {} }, spec, DEFAULT_FILTER_LIMITS, 'where'))).toEqual([{ path: 'where.x', message: 'unknown field' }]);
  });
});

describe('parseFilter: prototype keys', () => {
  it.each(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'])('treats %s as an unknown field, operator or quantifier', (key) => {
    const raw = `{"${key}":{"polluted":1},"name":{"${key}":1},"children":{"${key}":{}}}`;
    expect(issuesOf(() => parseFilterJson(raw, spec))).toEqual([
      { path: `filter.${key}`, message: 'unknown field' },
      { path: `filter.name.${key}`, message: 'unknown operator' },
      { path: `filter.children.${key}`, message: 'unknown quantifier (expected some, every or none)' },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('keeps a __proto__ key inside json contains as plain data', () => {
    const ast = parseFilterJson('{"data":{"contains":{"__proto__":{"x":1}}}}', spec) as { value: object };
    expect(Object.keys(ast.value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('parseFilter: limits', () => {
  /** `{"NOT":{"NOT":…{}}}` with `levels` filter objects in total. */
  const nested = (levels: number): unknown => (levels === 1 ? {} : { NOT: nested(levels - 1) });

  it('accepts nesting depth 8 and rejects 9 at the path of the ninth level', () => {
    expect(() => sut(nested(8))).not.toThrow();
    expect(issuesOf(() => sut(nested(9)))).toEqual([
      { path: 'filter.NOT.NOT.NOT.NOT.NOT.NOT.NOT.NOT', message: 'filter is nested deeper than 8 levels' },
    ]);
  });

  it('counts relation levels: children.some and parent each add one', () => {
    const deep = { children: { some: { parent: { children: { every: { parent: { children: { none: { parent: { children: { some: { parent: {} } } } } } } } } } } } };
    expect(issuesOf(() => sut(deep))).toEqual([
      { path: 'filter.children.some.parent.children.every.parent.children.none.parent.children.some.parent', message: 'filter is nested deeper than 8 levels' },
    ]);
    expect(() => sut({ children: { some: { parent: { children: { every: { parent: { children: { none: { parent: {} } } } } } } } } })).not.toThrow();
  });

  it('counts one node per filter object and per operator entry', () => {
    const json = { size: { gt: 1, lt: 5 } }; // 1 filter object + 2 operators
    expect(() => sut(json, { ...DEFAULT_FILTER_LIMITS, maxNodes: 3 })).not.toThrow();
    expect(issuesOf(() => sut(json, { ...DEFAULT_FILTER_LIMITS, maxNodes: 2 }))).toEqual([{ path: 'filter', message: 'filter has more than 2 nodes' }]);
    const two = { AND: [{}, {}] }; // 3 filter objects
    expect(() => sut(two, { ...DEFAULT_FILTER_LIMITS, maxNodes: 3 })).not.toThrow();
    expect(() => sut(two, { ...DEFAULT_FILTER_LIMITS, maxNodes: 2 })).toThrow(QueryDslError);
  });

  it('accepts 200 nodes and rejects 201', () => {
    const ops = (n: number) => ({ OR: Array.from({ length: n }, (_, i) => ({ size: { eq: i } })) }); // 1 + 2n nodes
    const at200 = { ...ops(99), name: { eq: 'x' } }; // 1 + 198 + 1
    expect(() => sut(at200)).not.toThrow();
    expect(issuesOf(() => sut({ ...at200, note: { eq: 'y' } }))).toEqual([{ path: 'filter', message: 'filter has more than 200 nodes' }]);
  });

  it('accepts 16384 bytes of JSON and rejects 16385, counting UTF-8 bytes', () => {
    const padded = (bytes: number, filler: string) => {
      const base = '{"name":{"eq":""}}';
      const fillerBytes = Buffer.byteLength(filler);
      const count = (bytes - base.length) / fillerBytes;
      return `{"name":{"eq":"${filler.repeat(count)}"}}`;
    };
    expect(() => parseFilterJson(padded(16384, 'a'), spec)).not.toThrow();
    expect(issuesOf(() => parseFilterJson(padded(16385, 'a'), spec))).toEqual([{ path: 'filter', message: 'filter JSON is longer than 16384 bytes' }]);
    const twoByte = padded(16386, 'é'); // 8184 characters of é: under 16384 characters, over 16384 bytes
    expect(twoByte.length).toBeLessThan(16384);
    expect(issuesOf(() => parseFilterJson(twoByte, spec))).toEqual([{ path: 'filter', message: 'filter JSON is longer than 16384 bytes' }]);
  });

  it('rejects malformed JSON at filter', () => {
    expect(issuesOf(() => parseFilterJson('{"name":', spec))).toEqual([{ path: 'filter', message: 'malformed JSON' }]);
  });

  it('rejects 1e400 (Infinity after JSON.parse) as an integer', () => {
    expect(issuesOf(() => parseFilterJson('{"size":{"gt":1e400}}', spec))).toEqual([{ path: 'filter.size.gt', message: 'expected integer' }]);
  });
});

describe('parseEqualityShortcut', () => {
  it('validates enum values and returns an eq condition', () => {
    expect(parseEqualityShortcut(spec, 'kind', 'b', 'kind')).toEqual(cond('kind', 'eq', 'b'));
    expect(issuesOf(() => parseEqualityShortcut(spec, 'kind', 'q', 'resource_type'))).toEqual([
      { path: 'resource_type', message: 'expected one of a, b, c' },
    ]);
  });

  it('reads integers from query-string text', () => {
    expect(parseEqualityShortcut(spec, 'size', '-12', 'size')).toEqual(cond('size', 'eq', -12));
    expect(issuesOf(() => parseEqualityShortcut(spec, 'size', '1.5', 'size'))).toEqual([{ path: 'size', message: 'expected integer' }]);
  });
});
