import { Brackets, type WhereExpressionBuilder } from 'typeorm';
import type { EntitySpec, FieldSpec } from '../field-map';
import { bindScalar } from '../filter/translate-filter';
import { reverseOrderBy, type OrderByItem } from '../order-by/order-by';
import { QueryParameters, columnRef } from '../sql';

/** A row's value of one sort key: string (also timestamps, as UTC ISO), integer, or NULL. */
export type CursorValue = string | number | null;

/**
 * A cursor's sort-key values bound as parameters of one statement, once:
 * the page's bound and the probes' bounds of that cursor share them.
 */
export interface BoundCursor {
  readonly orderBy: readonly OrderByItem[];
  readonly spec: EntitySpec;
  /** Per key, in orderBy order: the placeholder (with cast) of the value, `null` for a NULL value. */
  readonly values: readonly (string | null)[];
}

/**
 * Binds the cursor row's sort-key values (in orderBy order). The orderBy must
 * end with the entity's id (unique, non-null): that makes the order total.
 */
export function bindCursor(orderBy: readonly OrderByItem[], values: readonly CursorValue[], spec: EntitySpec, params: QueryParameters): BoundCursor {
  if (orderBy.length === 0 || orderBy[orderBy.length - 1].field !== spec.idField) {
    throw new Error('a keyset orderBy must end with the id field');
  }
  if (values.length !== orderBy.length) throw new Error(`expected ${orderBy.length} cursor values, got ${values.length}`);
  const bound = orderBy.map((item, i) => {
    const field = spec.fields[item.field];
    if (!field || !field.sortable) throw new Error(`cannot order by ${item.field}`);
    const value = values[i];
    if (value === null && !field.nullable) throw new Error(`cursor value of non-nullable ${item.field} is null`);
    return value === null ? null : bindScalar(field, value, params);
  });
  return Object.freeze({ orderBy: [...orderBy], spec, values: Object.freeze(bound) });
}

interface Key {
  item: OrderByItem;
  field: FieldSpec;
  col: string;
  /** Placeholder (with cast) of the cursor value; `null` when the cursor value is NULL. */
  value: string | null;
}

/**
 * ANDs "strictly after the cursor row in its orderBy" into `where`, on
 * `alias`. The condition is never NULL, so its negation is exactly "at or
 * before".
 *
 * Shapes, fastest first:
 * 1. Every key non-nullable with one direction (e.g. the default
 *    `created_at, id`): a row-value comparison `(k1, k2) > (:p1, :p2)`
 *    (`<` for desc), which PostgreSQL turns into an index range.
 * 2. Otherwise the expanded form `after1 OR (eq1 AND after2) OR …` (Brackets
 *    of `orWhere`), with NULL handled explicitly per key (the cursor value is
 *    known, so each key specialises on whether it is NULL), AND-ed with a
 *    redundant bound on the leading keys that an index can use: a row-value
 *    `>=` on the longest non-nullable same-direction prefix, or for a nullable
 *    first key "not before on key 1" (`k1 >= :p`, `k1 IS NULL` when the
 *    cursor's k1 is NULL and NULLs sort last, none when NULLs sort first). The
 *    bound never excludes a row the expanded form admits.
 *
 * Per key "after" (cursor value v, column c):
 *  - v NULL, NULLs last: nothing follows within the key (term dropped);
 *  - v NULL, NULLs first: `c IS NOT NULL`;
 *  - v set, NULLs last: `(c > v OR c IS NULL)` (`<` for desc);
 *  - v set, NULLs first: `(c IS NOT NULL AND c > v)` (`<` for desc).
 * Equality: `c IS NULL` for a NULL v, else `c = v` (guarded when nullable).
 *
 * `inclusive: true` gives "at or after" instead (the last key, the id, uses
 * `>=`): since the id makes the order total this is exactly `NOT (strictly
 * before)`, but written so that an index can serve it (the hasNext/hasPrevious
 * probes use it).
 */
export function keysetAfter(where: WhereExpressionBuilder, cursor: BoundCursor, alias: string, options: { inclusive?: boolean } = {}): void {
  applyAfter(where, cursor.orderBy, cursor, alias, options.inclusive === true);
}

/** "Strictly before the cursor row" (or "at or before" with `inclusive`): after it in the reversed order (direction and NULLS flipped). */
export function keysetBefore(where: WhereExpressionBuilder, cursor: BoundCursor, alias: string, options: { inclusive?: boolean } = {}): void {
  applyAfter(where, reverseOrderBy(cursor.orderBy), cursor, alias, options.inclusive === true);
}

function applyAfter(where: WhereExpressionBuilder, order: readonly OrderByItem[], cursor: BoundCursor, alias: string, inclusive: boolean): void {
  const keys: Key[] = order.map((item, i) => {
    const field = cursor.spec.fields[item.field];
    return { item, field, col: columnRef(alias, field.column), value: cursor.values[i] };
  });
  const prefix = uniformNonNullPrefix(keys);
  const op = keys[0].item.direction === 'asc' ? '>' : '<';
  if (prefix === keys.length) {
    where.andWhere(rowCompare(keys, `${op}${inclusive ? '=' : ''}`));
    return;
  }

  const bound = prefix >= 1 ? rowCompare(keys.slice(0, prefix), `${op}=`) : notBeforeFirstKey(keys[0]);
  if (bound !== null) where.andWhere(bound);
  const terms: string[][] = [];
  for (let i = 0; i < keys.length; i++) {
    const after = keyAfter(keys[i], inclusive && i === keys.length - 1);
    if (after !== null) terms.push([...keys.slice(0, i).map(keyEquals), after]);
  }
  // The last key (the id) is never NULL, so there is always a term.
  if (terms.length === 1) {
    for (const part of terms[0]) where.andWhere(part);
    return;
  }
  where.andWhere(
    new Brackets((or) => {
      for (const parts of terms) {
        if (parts.length === 1) or.orWhere(parts[0]);
        else or.orWhere(new Brackets((and) => parts.forEach((part) => and.andWhere(part))));
      }
    }),
  );
}

/** Length of the leading run of non-nullable keys sharing the first key's direction. */
function uniformNonNullPrefix(keys: readonly Key[]): number {
  let n = 0;
  while (n < keys.length && !keys[n].field.nullable && keys[n].item.direction === keys[0].item.direction) n++;
  return n;
}

function rowCompare(keys: readonly Key[], op: string): string {
  if (keys.length === 1) return `${keys[0].col} ${op} ${keys[0].value}`;
  return `(${keys.map((k) => k.col).join(', ')}) ${op} (${keys.map((k) => k.value).join(', ')})`;
}

function keyEquals(key: Key): string {
  if (key.value === null) return `${key.col} IS NULL`;
  const eq = `${key.col} = ${key.value}`;
  return key.field.nullable ? `(${key.col} IS NOT NULL AND ${eq})` : eq;
}

/** Rows strictly after (`orEqual`: at or after) the cursor on this key alone; `null` when none can be. */
function keyAfter(key: Key, orEqual = false): string | null {
  const { col, value } = key;
  if (value === null) return key.item.nulls === 'last' ? null : `${col} IS NOT NULL`;
  const cmp = `${col} ${key.item.direction === 'asc' ? '>' : '<'}${orEqual ? '=' : ''} ${value}`;
  if (!key.field.nullable) return cmp;
  return key.item.nulls === 'last' ? `(${cmp} OR ${col} IS NULL)` : `(${col} IS NOT NULL AND ${cmp})`;
}

/** Rows not strictly before the cursor on the (nullable) first key; `null` when that is every row. */
function notBeforeFirstKey(key: Key): string | null {
  const { col, value } = key;
  if (value === null) return key.item.nulls === 'last' ? `${col} IS NULL` : null;
  const cmp = `${col} ${key.item.direction === 'asc' ? '>=' : '<='} ${value}`;
  return key.item.nulls === 'last' ? `(${cmp} OR ${col} IS NULL)` : `(${col} IS NOT NULL AND ${cmp})`;
}
