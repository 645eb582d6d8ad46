import { describe, expect, it } from '@jest/globals';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import { filterNodes } from './filter-ast';
import { filterReadsOnly } from './filter-fields';
import { parseFilter } from './parse-filter';

describe('filterReadsOnly', () => {
  const fields = new Set(['kind', 'name']);
  const sut = (filter: unknown) => filterReadsOnly(parseFilter(filter, SAMPLE_SPEC), fields);

  it('accepts any AND/OR/NOT combination of conditions on the given fields', () => {
    expect(sut({})).toBe(true);
    expect(sut({ kind: { in: ['a', 'b'] }, NOT: { name: { startsWith: 'x' } } })).toBe(true);
    expect(sut({ OR: [{ kind: { eq: 'a' } }, { AND: [{ name: { neq: 'y' } }, { kind: { isNull: false } }] }] })).toBe(true);
    expect(filterReadsOnly(filterNodes.eq('kind', 'a'), fields)).toBe(true);
  });

  it('rejects a condition on another field anywhere in the tree', () => {
    expect(sut({ size: { gt: 1 } })).toBe(false);
    expect(sut({ OR: [{ kind: { eq: 'a' } }, { NOT: { note: { isNull: true } } }] })).toBe(false);
  });

  it('rejects relation traversal, even on the given fields', () => {
    expect(sut({ parent: { kind: { eq: 'a' } } })).toBe(false);
    expect(sut({ children: { none: {} } })).toBe(false);
  });
});
