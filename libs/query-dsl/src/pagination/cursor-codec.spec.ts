import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { parseOrderBy, type OrderByItem } from '../order-by/order-by';
import { issuesOf } from '../testing/issues-of';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import { CursorCodec, canonicalJson, cursorValuesOf, queryFingerprint } from './cursor-codec';

const spec = SAMPLE_SPEC;
const SECRET = 'a-test-secret-of-at-least-16-bytes';
const orderBy: OrderByItem[] = parseOrderBy([{ doneAt: 'desc' }, { rank: 'asc_nulls_first' }, { kind: 'asc' }, { name: 'asc' }], spec);
const fingerprint = queryFingerprint({ orderBy, filter: { kind: 'and', items: [] } });
const values = [null, 7, 'b', 'n\u00e9', 'id_1'];
const options = { orderBy, spec, fingerprint, path: 'after' };

const MALFORMED = [{ path: 'after', message: 'malformed cursor' }];

/** A cursor with a valid MAC over an arbitrary payload text (to reach the checks behind the MAC). */
function signedRaw(payload: string, secret = SECRET): string {
  const bytes = Buffer.from(payload, 'utf8');
  const mac = createHmac('sha256', secret).update('query-dsl/cursor/v1\n').update(bytes).digest();
  return Buffer.concat([mac, bytes]).toString('base64url');
}

describe('CursorCodec', () => {
  const sut = new CursorCodec(SECRET);

  it('round-trips the sort-key values, NULLs included, as an opaque base64url string', () => {
    const cursor = sut.encode(values, fingerprint);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain('id_1');
    expect(sut.decode(cursor, options)).toEqual(values);
  });

  it('round-trips a millisecond timestamp', () => {
    const withTime = ['2024-05-01T12:00:00.123Z', 0, 'a', '', 'z'];
    expect(sut.decode(sut.encode(withTime, fingerprint), options)).toEqual(withTime);
  });

  it('is deterministic for the same values and fingerprint', () => {
    expect(sut.encode(values, fingerprint)).toBe(sut.encode(values, fingerprint));
  });

  it('rejects a cursor with any single byte flipped', () => {
    const bytes = Buffer.from(sut.encode(values, fingerprint), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 0x01;
      expect(issuesOf(() => sut.decode(tampered.toString('base64url'), options))).toEqual(MALFORMED);
    }
  });

  it('rejects a cursor made with another secret', () => {
    const other = new CursorCodec('another-secret-of-enough-length');
    expect(issuesOf(() => sut.decode(other.encode(values, fingerprint), options))).toEqual(MALFORMED);
  });

  it('rejects a cursor of another query (orderBy or filter) with its own message, at the given path', () => {
    const otherFilter = queryFingerprint({ orderBy, filter: { kind: 'or', items: [] } });
    const cursor = sut.encode(values, otherFilter);
    expect(issuesOf(() => sut.decode(cursor, { ...options, path: 'before' }))).toEqual([
      { path: 'before', message: 'cursor does not belong to this query' },
    ]);
    const otherOrder = parseOrderBy([{ size: 'asc' }], spec);
    const fromOtherOrder = sut.encode([1, 'x'], queryFingerprint({ orderBy: otherOrder, filter: { kind: 'and', items: [] } }));
    expect(issuesOf(() => sut.decode(fromOtherOrder, options))).toEqual([{ path: 'after', message: 'cursor does not belong to this query' }]);
  });

  it.each<[string, unknown]>([
    ['a non-string', 42],
    ['an empty string', ''],
    ['padding', `${'A'.repeat(60)}==`],
    ['non-base64url characters', 'abc+/def'],
    ['too short for a MAC', Buffer.alloc(20).toString('base64url')],
    ['a very long string', 'A'.repeat(5000)],
  ])('rejects %s as malformed', (_name, raw) => {
    expect(issuesOf(() => sut.decode(raw, options))).toEqual(MALFORMED);
  });

  it('rejects a non-canonical base64url encoding of a valid cursor', () => {
    const cursor = sut.encode(values, fingerprint);
    // Find a trailing character that decodes to the same bytes (unused low bits).
    const variants = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      .split('')
      .map((ch) => cursor.slice(0, -1) + ch)
      .filter((text) => text !== cursor && Buffer.from(text, 'base64url').equals(Buffer.from(cursor, 'base64url')));
    expect(variants.length).toBeGreaterThan(0);
    for (const variant of variants) expect(issuesOf(() => sut.decode(variant, options))).toEqual(MALFORMED);
  });

  it.each<[string, string]>([
    ['not JSON', 'nope'],
    ['a JSON array', '[]'],
    ['an extra key', JSON.stringify({ f: fingerprint, v: values, x: 1 })],
    ['a missing fingerprint', JSON.stringify({ v: values })],
    ['values that are not an array', JSON.stringify({ f: fingerprint, v: 'x' })],
    ['too few values', JSON.stringify({ f: fingerprint, v: values.slice(1) })],
    ['too many values', JSON.stringify({ f: fingerprint, v: [...values, 'x'] })],
    ['NULL for a non-nullable key', JSON.stringify({ f: fingerprint, v: [null, 7, null, 'n', 'id'] })],
    ['a string for an integer', JSON.stringify({ f: fingerprint, v: [null, '7', 'b', 'n', 'id'] })],
    ['a fraction for an integer', JSON.stringify({ f: fingerprint, v: [null, 7.5, 'b', 'n', 'id'] })],
    ['a value outside the enum', JSON.stringify({ f: fingerprint, v: [null, 7, 'q', 'n', 'id'] })],
    ['a number for a string', JSON.stringify({ f: fingerprint, v: [null, 7, 'b', 1, 'id'] })],
    ['a timestamp without milliseconds', JSON.stringify({ f: fingerprint, v: ['2024-05-01T12:00:00Z', 7, 'b', 'n', 'id'] })],
    ['an impossible timestamp', JSON.stringify({ f: fingerprint, v: ['2024-02-30T12:00:00.000Z', 7, 'b', 'n', 'id'] })],
  ])('rejects an authentic cursor with %s as malformed', (_name, payload) => {
    expect(issuesOf(() => sut.decode(signedRaw(payload), options))).toEqual(MALFORMED);
  });

  it('accepts an authentic cursor built the same way (the helper above is faithful)', () => {
    expect(sut.decode(signedRaw(JSON.stringify({ f: fingerprint, v: values })), options)).toEqual(values);
  });

  it('requires a secret of at least 16 bytes', () => {
    expect(() => new CursorCodec('short')).toThrow('at least 16 bytes');
  });
});

describe('queryFingerprint / canonicalJson', () => {
  it('ignores object key order at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(queryFingerprint({ a: 1, b: [2] })).toBe(queryFingerprint({ b: [2], a: 1 }));
  });

  it('drops undefined members and keeps array order significant', () => {
    expect(queryFingerprint({ a: 1, b: undefined })).toBe(queryFingerprint({ a: 1 }));
    expect(queryFingerprint([1, 2])).not.toBe(queryFingerprint([2, 1]));
  });

  it('differs for different orderBy', () => {
    expect(queryFingerprint({ orderBy: parseOrderBy([{ size: 'asc' }], spec) })).not.toBe(
      queryFingerprint({ orderBy: parseOrderBy([{ size: 'desc' }], spec) }),
    );
  });

  it('is 22 base64url characters (128 bits)', () => {
    expect(queryFingerprint({})).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('rejects what JSON cannot carry', () => {
    expect(() => canonicalJson({ a: NaN })).toThrow('non-finite');
    expect(() => canonicalJson({ a: 1n })).toThrow('cannot encode bigint');
  });
});

describe('cursorValuesOf', () => {
  const order = parseOrderBy([{ doneAt: 'asc' }, { createdAt: 'desc' }, { rank: 'asc' }], spec);

  it('reads sort keys by field name, Dates as ISO milliseconds, NULLs as null', () => {
    const row = { id: 'i1', doneAt: null, createdAt: new Date('2024-05-01T12:00:00.120Z'), rank: 3, name: 'ignored' };
    expect(cursorValuesOf(row, order, spec)).toEqual([null, '2024-05-01T12:00:00.120Z', 3, 'i1']);
  });

  it('normalises timestamp strings', () => {
    const row = { id: 'i1', doneAt: '2024-05-01T14:00:00+02:00', createdAt: '2024-05-01', rank: null };
    expect(cursorValuesOf(row, order, spec)).toEqual(['2024-05-01T12:00:00.000Z', '2024-05-01T00:00:00.000Z', null, 'i1']);
  });

  it('throws on a missing value or NULL in a non-nullable key', () => {
    expect(() => cursorValuesOf({ id: 'i1', doneAt: null, rank: null }, order, spec)).toThrow('no value for createdAt');
    expect(() => cursorValuesOf({ id: 'i1', doneAt: null, createdAt: null, rank: null }, order, spec)).toThrow('non-nullable createdAt');
  });
});
