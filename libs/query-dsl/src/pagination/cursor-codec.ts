import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { QueryDslError } from '../errors';
import type { EntitySpec } from '../field-map';
import type { OrderByItem } from '../order-by/order-by';
import { ISO_MILLIS_PATTERN, parseTimestamp } from '../timestamp';
import type { CursorValue } from './keyset';

/** Longest cursor text accepted (a cursor of 11 keys is far below). */
const MAX_CURSOR_LENGTH = 4096;
const MAC_BYTES = 32;
/** Domain separation: a MAC made for anything else never verifies as a cursor. */
const MAC_CONTEXT = 'query-dsl/cursor/v1\n';

export const CURSOR_MESSAGES = {
  malformed: 'malformed cursor',
  foreign: 'cursor does not belong to this query',
} as const;

/**
 * JSON with object keys sorted (recursively), `undefined` members dropped:
 * equal data always gives the same text. Rejects what JSON cannot carry.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  throw new Error(`canonicalJson: cannot encode ${typeof value}`);
}

/**
 * Fingerprint of a query's identity: the caller passes everything that must
 * be equal for a cursor to be reused — typically `{ orderBy, filter, shortcuts }`
 * with the normalised orderBy and the filter AST. 128 bits of SHA-256 of its
 * canonical JSON, base64url.
 */
export function queryFingerprint(identity: unknown): string {
  return createHash('sha256').update(canonicalJson(identity)).digest().subarray(0, 16).toString('base64url');
}

export interface DecodeCursorOptions {
  orderBy: readonly OrderByItem[];
  spec: EntitySpec;
  /** The fingerprint of the current request's query identity. */
  fingerprint: string;
  /** Error path: `after` or `before`. */
  path: string;
}

/**
 * Opaque, authenticated cursors: base64url of `HMAC-SHA256(secret, payload) ‖
 * payload`, payload = JSON `{"f": fingerprint, "v": [sort-key values…, id]}`.
 * The values are the row's own sort keys (not a row lookup), so a cursor
 * still works after its row was deleted or changed.
 */
export class CursorCodec {
  private readonly secret: Buffer;

  constructor(secret: string | Buffer) {
    this.secret = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (this.secret.length < 16) throw new Error('cursor secret must be at least 16 bytes');
  }

  encode(values: readonly CursorValue[], fingerprint: string): string {
    const payload = Buffer.from(JSON.stringify({ f: fingerprint, v: values }), 'utf8');
    return Buffer.concat([this.mac(payload), payload]).toString('base64url');
  }

  /**
   * Validates base64url, MAC (timing-safe), JSON shape, fingerprint, and the
   * values' count and types against `orderBy` (NULL only where the field is
   * nullable; timestamps as `YYYY-MM-DDTHH:MM:SS.mmmZ`). Any failure →
   * `QueryDslError` at `options.path`: `malformed cursor` or, for a valid
   * cursor of another orderBy/filter, `cursor does not belong to this query`.
   */
  decode(raw: unknown, options: DecodeCursorOptions): CursorValue[] {
    const malformed = () => QueryDslError.at(options.path, CURSOR_MESSAGES.malformed);
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(raw)) {
      throw malformed();
    }
    const bytes = Buffer.from(raw, 'base64url');
    // Non-canonical encodings (stray trailing bits) are rejected: one cursor, one text.
    if (bytes.toString('base64url') !== raw || bytes.length <= MAC_BYTES) throw malformed();
    const mac = bytes.subarray(0, MAC_BYTES);
    const payload = bytes.subarray(MAC_BYTES);
    if (!timingSafeEqual(mac, this.mac(payload))) throw malformed();

    let decoded: unknown;
    try {
      decoded = JSON.parse(payload.toString('utf8'));
    } catch {
      throw malformed();
    }
    if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw malformed();
    const { f, v } = decoded as { f?: unknown; v?: unknown };
    if (typeof f !== 'string' || !Array.isArray(v) || Object.keys(decoded).length !== 2) throw malformed();
    if (f !== options.fingerprint) throw QueryDslError.at(options.path, CURSOR_MESSAGES.foreign);
    if (v.length !== options.orderBy.length) throw malformed();
    v.forEach((value: unknown, i) => {
      if (!isValidCursorValue(value, options.orderBy[i], options.spec)) throw malformed();
    });
    return v as CursorValue[];
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(MAC_CONTEXT).update(payload).digest();
  }
}

function isValidCursorValue(value: unknown, item: OrderByItem, spec: EntitySpec): boolean {
  const field = spec.fields[item.field];
  if (!field) return false;
  if (value === null) return field.nullable;
  switch (field.type) {
    case 'string':
      return typeof value === 'string';
    case 'enum':
      return typeof value === 'string' && field.enumValues!.includes(value);
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'timestamp':
      return typeof value === 'string' && ISO_MILLIS_PATTERN.test(value) && parseTimestamp(value)?.canonical === value;
    case 'json':
      return false;
  }
}

/**
 * A row's sort-key values in orderBy order, for its cursor. Reads the row by
 * field name (entity property); Dates become `toISOString()`; timestamp
 * strings are normalised. Throws (a programming error) on a missing value.
 */
export function cursorValuesOf(row: Record<string, unknown>, orderBy: readonly OrderByItem[], spec: EntitySpec): CursorValue[] {
  return orderBy.map((item) => {
    const field = spec.fields[item.field];
    const value = row[item.field];
    if (value === undefined) throw new Error(`row has no value for ${item.field}`);
    if (value === null) {
      if (!field.nullable) throw new Error(`row value of non-nullable ${item.field} is null`);
      return null;
    }
    if (field.type === 'timestamp') {
      const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? parseTimestamp(value)?.canonical : undefined;
      if (text === undefined || !ISO_MILLIS_PATTERN.test(text)) throw new Error(`row value of ${item.field} is not a millisecond timestamp`);
      return text;
    }
    if (field.type === 'integer' ? typeof value !== 'number' : typeof value !== 'string') {
      throw new Error(`row value of ${item.field} has the wrong type`);
    }
    return value as string | number;
  });
}
