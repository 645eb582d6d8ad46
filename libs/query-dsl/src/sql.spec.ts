import { describe, expect, it } from '@jest/globals';
import { AliasGenerator, SqlParams, joinAnd, joinOr, quoteIdent, toPositional } from './sql';

describe('SqlParams', () => {
  it('names parameters from a counter in the order they are added', () => {
    const sut = new SqlParams();
    expect([sut.add('a'), sut.add(2), sut.add(['x'])]).toEqual([':p1', ':p2', ':p3']);
    expect(sut.values).toEqual({ p1: 'a', p2: 2, p3: ['x'] });
  });

  it('uses a custom prefix and rejects one TypeORM would not accept', () => {
    const sut = new SqlParams('q_');
    expect(sut.add(1)).toBe(':q_1');
    expect(() => new SqlParams('p-')).toThrow('invalid parameter prefix');
  });
});

describe('AliasGenerator', () => {
  it('hands out t1, t2, … in order', () => {
    const sut = new AliasGenerator();
    expect([sut.next(), sut.next()]).toEqual(['t1', 't2']);
  });
});

describe('joinAnd / joinOr', () => {
  it('give the identities for no items, the item for one, a group for more', () => {
    expect(joinAnd([])).toBe('TRUE');
    expect(joinOr([])).toBe('FALSE');
    expect(joinAnd(['a'])).toBe('a');
    expect(joinAnd(['a', 'b'])).toBe('(a AND b)');
    expect(joinOr(['a', 'b'])).toBe('(a OR b)');
  });
});

describe('quoteIdent', () => {
  it('doubles embedded quotes', () => {
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });
});

describe('toPositional', () => {
  it('turns named parameters into $n, reusing a position for a repeated name', () => {
    const sut = toPositional({ sql: 'a = :p1 AND b = :p2 AND c = :p1', params: { p1: 'x', p2: 5 } });
    expect(sut).toEqual({ text: 'a = $1 AND b = $2 AND c = $1', values: ['x', 5] });
  });

  it('keeps ::casts, unknown names and distinguishes p1 from p10', () => {
    const sut = toPositional({ sql: "x::jsonb = :p10 AND y = :p1 AND z = ':other'", params: { p1: 1, p10: 10 } });
    expect(sut).toEqual({ text: "x::jsonb = $1 AND y = $2 AND z = ':other'", values: [10, 1] });
  });

  it('expands :...name into a list and drops parameters the text does not use', () => {
    const sut = toPositional({ sql: 'id IN (:...p1)', params: { p1: ['a', 'b'], p2: 'unused' } });
    expect(sut).toEqual({ text: 'id IN ($1, $2)', values: ['a', 'b'] });
  });
});
