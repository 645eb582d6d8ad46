import { describe, expect, it } from '@jest/globals';
import { AliasGenerator, QueryParameters, columnRef, quoteIdent } from './sql';
import { OFFLINE_DATA_SOURCE } from './testing/offline-builders';

const statement = () => OFFLINE_DATA_SOURCE.createQueryBuilder().select('1').from('items', 't0');

describe('QueryParameters', () => {
  it('names parameters from a counter in the order they are bound, and sets them on the statement', () => {
    const qb = statement();
    const sut = new QueryParameters(qb);
    expect([sut.bind('a'), sut.bind(2), sut.bind(['x'])]).toEqual([':p1', ':p2', ':p3']);
    expect(qb.getParameters()).toEqual({ p1: 'a', p2: 2, p3: ['x'] });
  });

  it('hands every placeholder to TypeORM\'s driver as one $n per name, arrays as one value', () => {
    const qb = statement();
    const sut = new QueryParameters(qb);
    const [a, b] = [sut.bind('x'), sut.bind([1, 2])];
    qb.where(`"t0"."a" = ${a} AND "t0"."b" = ANY(CAST(${b} AS bigint[])) AND "t0"."c" = ${a}`);
    expect(qb.getQueryAndParameters()).toEqual(['SELECT 1 FROM "items" "t0" WHERE "t0"."a" = $1 AND "t0"."b" = ANY(CAST($2 AS bigint[])) AND "t0"."c" = $1', ['x', [1, 2]]]);
  });

  it('binds a keyed value once and returns the same placeholder for the key', () => {
    const qb = statement();
    const sut = new QueryParameters(qb);
    const key = {};
    let computed = 0;
    const value = () => ++computed;
    expect([sut.bindOnce(key, value), sut.bind('other'), sut.bindOnce(key, value)]).toEqual([':p1', ':p2', ':p1']);
    expect(qb.getParameters()).toEqual({ p1: 1, p2: 'other' });
  });

  it('uses a custom prefix, rejects one TypeORM would not accept, and never overwrites a parameter', () => {
    const qb = statement().setParameter('q_1', 'mine');
    expect(() => new QueryParameters(qb, 'p-')).toThrow('invalid parameter prefix');
    expect(() => new QueryParameters(qb, 'q_').bind(1)).toThrow('parameter q_1 is already bound');
    expect(new QueryParameters(qb, 'w').bind(1)).toBe(':w1');
  });
});

describe('AliasGenerator', () => {
  it('hands out t1, t2, … in order', () => {
    const sut = new AliasGenerator();
    expect([sut.next(), sut.next()]).toEqual(['t1', 't2']);
  });
});

describe('quoteIdent / columnRef', () => {
  it('double-quote identifiers, doubling embedded quotes', () => {
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(columnRef('t0', 'created_at')).toBe('"t0"."created_at"');
  });
});
