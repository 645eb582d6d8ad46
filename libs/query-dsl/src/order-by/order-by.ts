import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { QueryDslError, type QueryDslIssue } from '../errors';
import type { EntitySpec } from '../field-map';
import { columnRef } from '../sql';

export type SortDirection = 'asc' | 'desc';
export type NullsPlacement = 'first' | 'last';

/** One normalised sort key. */
export interface OrderByItem {
  field: string;
  direction: SortDirection;
  nulls: NullsPlacement;
}

export const ORDER_DIRECTIONS = ['asc', 'desc', 'asc_nulls_first', 'asc_nulls_last', 'desc_nulls_first', 'desc_nulls_last'] as const;
export type OrderDirectionInput = (typeof ORDER_DIRECTIONS)[number];

/** The orderBy as the API takes it: `[{"createdAt": "desc"}, …]`. */
export type OrderByInput = Array<Record<string, OrderDirectionInput>>;

export interface ParseOrderByOptions {
  /** Used when orderBy is absent or `[]`; e.g. `[{createdAt: 'asc'}]`. Without it: the id alone. */
  defaultOrderBy?: OrderByInput;
  /** Error path prefix; default `orderBy`. */
  path?: string;
}

const DIRECTION: Record<OrderDirectionInput, { direction: SortDirection; nulls: NullsPlacement }> = {
  asc: { direction: 'asc', nulls: 'last' }, // PostgreSQL's default for ASC
  desc: { direction: 'desc', nulls: 'first' }, // PostgreSQL's default for DESC
  asc_nulls_first: { direction: 'asc', nulls: 'first' },
  asc_nulls_last: { direction: 'asc', nulls: 'last' },
  desc_nulls_first: { direction: 'desc', nulls: 'first' },
  desc_nulls_last: { direction: 'desc', nulls: 'last' },
};

/** Where NULLs go by default for a direction (what an index scanned either way gives). */
export function defaultNulls(direction: SortDirection): NullsPlacement {
  return direction === 'asc' ? 'last' : 'first';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Parses orderBy JSON text (a query parameter); `undefined` → the default. Malformed JSON → error at `orderBy`. */
export function parseOrderByJson(raw: string | undefined, spec: EntitySpec, options: ParseOrderByOptions = {}): OrderByItem[] {
  if (raw === undefined) return parseOrderBy(undefined, spec, options);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw QueryDslError.at(options.path ?? 'orderBy', 'malformed JSON');
  }
  return parseOrderBy(json, spec, options);
}

/**
 * Validates and normalises an orderBy:
 * - each element is an object with exactly one sortable field and a known
 *   direction; a field twice, an unknown field or direction → error
 *   (`orderBy[1].attempts: …`);
 * - plain `asc` puts NULLs last and `desc` first; a non-nullable field always
 *   gets its direction's default placement (NULLs cannot occur, and the
 *   default keeps an index usable when the order is reversed);
 * - `undefined` or `[]` → the default orderBy;
 * - the id field (`asc`) is appended unless present; keys after the id are
 *   dropped (the id is unique, they can never decide the order).
 */
export function parseOrderBy(raw: unknown, spec: EntitySpec, options: ParseOrderByOptions = {}): OrderByItem[] {
  const path = options.path ?? 'orderBy';
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    return options.defaultOrderBy && options.defaultOrderBy.length > 0
      ? parseOrderBy(options.defaultOrderBy, spec, { path })
      : [{ field: spec.idField, direction: 'asc', nulls: 'last' }];
  }
  if (!Array.isArray(raw)) throw QueryDslError.at(path, 'expected array');
  const sortable = Object.keys(spec.fields).filter((name) => spec.fields[name].sortable);
  if (raw.length > sortable.length) throw QueryDslError.at(path, `expected at most ${sortable.length} elements`);

  const errors: QueryDslIssue[] = [];
  const items: OrderByItem[] = [];
  const seenAt = new Map<string, number>();
  raw.forEach((element: unknown, index) => {
    const elementPath = `${path}[${index}]`;
    if (!isPlainObject(element) || Object.keys(element).length !== 1) {
      errors.push({ path: elementPath, message: 'expected an object with exactly one field' });
      return;
    }
    const [name] = Object.keys(element);
    const fieldPath = childPath(elementPath, name);
    const field = Object.hasOwn(spec.fields, name) ? spec.fields[name] : undefined;
    if (!field) {
      errors.push({ path: fieldPath, message: 'unknown field' });
      return;
    }
    if (!field.sortable) {
      errors.push({ path: fieldPath, message: 'field is not sortable' });
      return;
    }
    const value = element[name];
    const parsed = typeof value === 'string' && Object.hasOwn(DIRECTION, value) ? DIRECTION[value as OrderDirectionInput] : undefined;
    if (!parsed) {
      errors.push({ path: fieldPath, message: `expected one of ${ORDER_DIRECTIONS.join(', ')}` });
      return;
    }
    const previous = seenAt.get(name);
    if (previous !== undefined) {
      errors.push({ path: fieldPath, message: `field already ordered by at ${path}[${previous}]` });
      return;
    }
    seenAt.set(name, index);
    items.push({
      field: name,
      direction: parsed.direction,
      nulls: field.nullable ? parsed.nulls : defaultNulls(parsed.direction),
    });
  });
  if (errors.length > 0) throw new QueryDslError(errors);

  const idIndex = items.findIndex((item) => item.field === spec.idField);
  if (idIndex >= 0) return items.slice(0, idIndex + 1);
  return [...items, { field: spec.idField, direction: 'asc', nulls: 'last' }];
}

/** The order read backwards: both direction and NULLs placement flip (for `before` pages). */
export function reverseOrderBy(items: readonly OrderByItem[]): OrderByItem[] {
  return items.map((item) => ({
    field: item.field,
    direction: item.direction === 'asc' ? 'desc' : 'asc',
    nulls: item.nulls === 'first' ? 'last' : 'first',
  }));
}

/** One ORDER BY term, in the shape TypeORM's `addOrderBy(expression, direction, nulls)` takes. */
export interface OrderByTerm {
  expression: string;
  direction: 'ASC' | 'DESC';
  nulls: 'NULLS FIRST' | 'NULLS LAST';
}

/** ORDER BY terms on `alias`, with explicit NULLS placement on every term. */
export function orderByTerms(items: readonly OrderByItem[], alias: string, spec: EntitySpec): OrderByTerm[] {
  return items.map((item) => {
    const field = spec.fields[item.field];
    if (!field || !field.sortable) throw new Error(`cannot order by ${item.field}`);
    return {
      expression: columnRef(alias, field.column),
      direction: item.direction === 'asc' ? 'ASC' : 'DESC',
      nulls: item.nulls === 'first' ? 'NULLS FIRST' : 'NULLS LAST',
    };
  });
}

/**
 * Sets the ORDER BY of `qb` to `items` on `alias` (`orderBy`, then
 * `addOrderBy`), each term with its NULLS placement written out: the
 * placement is part of the order the keyset bounds assume, whatever the
 * server's default.
 */
export function applyOrderBy(qb: SelectQueryBuilder<ObjectLiteral>, items: readonly OrderByItem[], alias: string, spec: EntitySpec): void {
  orderByTerms(items, alias, spec).forEach((term, i) => {
    if (i === 0) qb.orderBy(term.expression, term.direction, term.nulls);
    else qb.addOrderBy(term.expression, term.direction, term.nulls);
  });
}
