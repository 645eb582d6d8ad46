import type { EntitySpec, FieldSpec } from '../field-map';
import { bindScalar } from '../filter/translate-filter';
import { reverseOrderBy, type OrderByItem } from '../order-by/order-by';
import { SqlParams, columnRef, joinAnd, joinOr } from '../sql';

/** A row's value of one sort key: string (also timestamps, as UTC ISO), integer, or NULL. */
export type CursorValue = string | number | null;

interface Key {
  item: OrderByItem;
  field: FieldSpec;
  col: string;
  /** Placeholder (with cast) of the cursor value; `null` when the cursor value is NULL. */
  value: string | null;
}

/**
 * "Strictly after the cursor row in `orderBy` order" as a boolean SQL
 * expression on `alias`. `values` are the cursor row's sort-key values, in
 * orderBy order; the orderBy must end with the entity's id (unique, non-null).
 *
 * The expression is never NULL, so `NOT (…)` is exactly "at or before".
 *
 * Shapes, fastest first:
 * 1. Every key non-nullable with one direction (e.g. the default
 *    `created_at, id`): a row-value comparison `(k1, k2) > (:p1, :p2)`
 *    (`<` for desc), which PostgreSQL turns into an index range.
 * 2. Otherwise the expanded form `after1 OR (eq1 AND after2) OR …`, with
 *    NULL handled explicitly per key (the cursor value is known, so each
 *    key specialises on whether it is NULL), AND-ed with a redundant bound on
 *    the leading keys that an index can use: a row-value `>=` on the longest
 *    non-nullable same-direction prefix, or for a nullable first key
 *    "not before on key 1" (`k1 >= :p`, `k1 IS NULL` when the cursor's k1 is
 *    NULL and NULLs sort last, none when NULLs sort first). The bound never
 *    excludes a row the expanded form admits.
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
export function keysetAfter(
  orderBy: readonly OrderByItem[],
  values: readonly CursorValue[],
  alias: string,
  spec: EntitySpec,
  params: SqlParams,
  options: { inclusive?: boolean } = {},
): string {
  if (orderBy.length === 0 || orderBy[orderBy.length - 1].field !== spec.idField) {
    throw new Error('a keyset orderBy must end with the id field');
  }
  if (values.length !== orderBy.length) throw new Error(`expected ${orderBy.length} cursor values, got ${values.length}`);
  const keys: Key[] = orderBy.map((item, i) => {
    const field = spec.fields[item.field];
    if (!field || !field.sortable) throw new Error(`cannot order by ${item.field}`);
    const value = values[i];
    if (value === null && !field.nullable) throw new Error(`cursor value of non-nullable ${item.field} is null`);
    return { item, field, col: columnRef(alias, field.column), value: value === null ? null : bindScalar(field, value, params) };
  });

  const inclusive = options.inclusive === true;
  const prefix = uniformNonNullPrefix(keys);
  const op = (key: Key) => (key.item.direction === 'asc' ? '>' : '<');
  if (prefix === keys.length) {
    return rowCompare(keys, `${op(keys[0])}${inclusive ? '=' : ''}`);
  }

  const terms: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const after = keyAfter(keys[i], inclusive && i === keys.length - 1);
    if (after === null) continue;
    terms.push(joinAnd([...keys.slice(0, i).map(keyEquals), after]));
  }
  const expanded = joinOr(terms);

  let bound: string | null;
  if (prefix >= 1) {
    bound = rowCompare(keys.slice(0, prefix), `${op(keys[0])}=`);
  } else {
    bound = notBeforeFirstKey(keys[0]);
  }
  return bound === null ? expanded : joinAnd([bound, expanded]);
}

/** "Strictly before the cursor row" (or "at or before" with `inclusive`): after it in the reversed order. */
export function keysetBefore(
  orderBy: readonly OrderByItem[],
  values: readonly CursorValue[],
  alias: string,
  spec: EntitySpec,
  params: SqlParams,
  options: { inclusive?: boolean } = {},
): string {
  return keysetAfter(reverseOrderBy(orderBy), values, alias, spec, params, options);
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
