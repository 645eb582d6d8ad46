/**
 * A pure, in-memory reference implementation of the filter/order/page
 * semantics, written independently of the SQL translator, for differential
 * tests (same data in PostgreSQL and here, same answers expected).
 *
 * Rows are plain objects keyed by field name (camelCase); timestamps are ISO
 * strings or Dates; json fields are plain values. Semantics:
 * - strings compare by code point = UTF-8 byte order (COLLATE "C"); enums by text;
 * - two-valued NULL logic: a comparison on NULL is false, except `neq` and
 *   `notIn` (true); `isNull` tests nullness; `NOT` is the complement;
 * - `like`/`ilike`: `%` any run, `_` one character, `\` escapes; `ilike`
 *   folds ASCII letters only (what PostgreSQL does under COLLATE "C");
 * - json `contains` follows PostgreSQL's jsonb `@>` (objects by key subset,
 *   arrays by "each element of the right side is contained in some element of
 *   the left", scalars by equality, top-level array ⊇ scalar); `hasKey` is `?`;
 * - relations see only rows inside the scope.
 */
import type { EntitySpec, FieldSpec, ScalarValue } from '../field-map';
import type { FilterNode, JsonValue } from '../filter/filter-ast';
import type { OrderByItem } from '../order-by/order-by';
import type { CursorValue } from '../pagination/keyset';
import { parseTimestamp } from '../timestamp';

export type ReferenceRow = Record<string, unknown>;

export interface ReferenceQuery {
  spec: EntitySpec;
  filter?: FilterNode;
  /** Further conditions ANDed in (ids, shortcuts). */
  conditions?: readonly FilterNode[];
  /** Which rows the caller may see; applied to results and inside relations. Default: all. */
  scope?: (row: ReferenceRow) => boolean;
  /** Normalised orderBy (ends with the id). */
  orderBy: readonly OrderByItem[];
}

type Normalized = string | number | bigint | null;

function toMicros(value: unknown, field: string): bigint {
  if (value instanceof Date) return BigInt(value.getTime()) * 1000n;
  if (typeof value === 'string') {
    const parsed = parseTimestamp(value);
    if (parsed) return parsed.micros;
  }
  throw new Error(`reference evaluator: ${field} is not a timestamp: ${String(value)}`);
}

function normalize(field: FieldSpec, name: string, value: unknown): Normalized {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'timestamp':
      return toMicros(value, name);
    case 'integer':
      if (typeof value !== 'number') throw new Error(`reference evaluator: ${name} is not a number`);
      return value;
    case 'string':
    case 'enum':
      if (typeof value !== 'string') throw new Error(`reference evaluator: ${name} is not a string`);
      return value;
    case 'json':
      throw new Error('json values are not scalars');
  }
}

/** Code-point order, which equals UTF-8 byte order. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function compareNonNull(a: Exclude<Normalized, null>, b: Exclude<Normalized, null>): number {
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** LIKE pattern → RegExp (`\` escapes the next character; a trailing `\` is an error, as in PostgreSQL). */
function likeToRegExp(pattern: string, foldAscii: boolean): RegExp {
  const chars = [...(foldAscii ? asciiLower(pattern) : pattern)];
  let source = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '\\') {
      i += 1;
      if (i >= chars.length) throw new Error('LIKE pattern must not end with the escape character');
      source += escapeRegExp(chars[i]);
    } else if (ch === '%') source += '.*';
    else if (ch === '_') source += '.';
    else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`, 'su');
}

function escapeRegExp(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function isJsonObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** PostgreSQL's jsonb `@>`. */
export function jsonContains(left: unknown, right: unknown, topLevel = true): boolean {
  if (Array.isArray(right)) {
    if (!Array.isArray(left)) return false;
    return right.every((r) => left.some((l) => jsonContains(l, r, false)));
  }
  if (isJsonObject(right)) {
    if (!isJsonObject(left)) return false;
    return Object.keys(right).every((key) => Object.hasOwn(left, key) && jsonContains(left[key], right[key], false));
  }
  if (topLevel && Array.isArray(left)) return left.some((l) => !Array.isArray(l) && !isJsonObject(l) && l === right);
  return !Array.isArray(left) && !isJsonObject(left) && left === right;
}

/** PostgreSQL's jsonb `?`: a top-level key of an object, a string element of an array, or an equal string scalar. */
export function jsonHasKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((item) => item === key);
  if (isJsonObject(value)) return Object.hasOwn(value, key);
  return value === key;
}

class Evaluator {
  private readonly indexes = new Map<string, Map<Normalized, ReferenceRow[]>>();
  private readonly visible: ReferenceRow[];

  constructor(
    private readonly spec: EntitySpec,
    rows: readonly ReferenceRow[],
    private readonly scope: (row: ReferenceRow) => boolean,
  ) {
    this.visible = rows.filter((row) => scope(row));
  }

  value(row: ReferenceRow, name: string): Normalized {
    return normalize(this.spec.fields[name], name, row[name]);
  }

  matches(node: FilterNode, row: ReferenceRow): boolean {
    switch (node.kind) {
      case 'and':
        return node.items.every((item) => this.matches(item, row));
      case 'or':
        return node.items.some((item) => this.matches(item, row));
      case 'not':
        return !this.matches(node.item, row);
      case 'relation': {
        const related = this.related(node.relation, row);
        switch (node.quantifier) {
          case 'is':
          case 'some':
            return related.some((r) => this.matches(node.filter, r));
          case 'every':
            return related.every((r) => this.matches(node.filter, r));
          case 'none':
            return !related.some((r) => this.matches(node.filter, r));
        }
        throw new Error('unreachable');
      }
      case 'condition':
        return this.condition(node.field, node.operator, node.value, row);
    }
  }

  /** Related rows in scope: those whose targetField equals this row's sourceField. */
  private related(name: string, row: ReferenceRow): ReferenceRow[] {
    const relation = this.spec.relations[name];
    const key = this.value(row, relation.sourceField);
    if (key === null) return [];
    let index = this.indexes.get(name);
    if (!index) {
      index = new Map();
      for (const candidate of this.visible) {
        const k = this.value(candidate, relation.targetField);
        if (k === null) continue;
        const list = index.get(k) ?? [];
        list.push(candidate);
        index.set(k, list);
      }
      this.indexes.set(name, index);
    }
    return index.get(key) ?? [];
  }

  private condition(name: string, operator: string, operand: unknown, row: ReferenceRow): boolean {
    const field = this.spec.fields[name];
    if (field.type === 'json') {
      const value = row[name] ?? null;
      switch (operator) {
        case 'isNull':
          return (value === null) === operand;
        case 'contains':
          return value !== null && jsonContains(value, operand);
        case 'hasKey':
          return value !== null && jsonHasKey(value, operand as string);
      }
      throw new Error(`reference evaluator: ${operator} on json`);
    }
    const value = this.value(row, name);
    const scalar = (x: unknown) => normalize(field, name, x as ScalarValue) as Exclude<Normalized, null>;
    const cmp = () => compareNonNull(value!, scalar(operand));
    const inList = () => (operand as ScalarValue[]).some((x) => compareNonNull(value!, scalar(x)) === 0);
    switch (operator) {
      case 'isNull':
        return (value === null) === operand;
      case 'eq':
        return value !== null && cmp() === 0;
      case 'neq':
        return value === null || cmp() !== 0;
      case 'lt':
        return value !== null && cmp() < 0;
      case 'lte':
        return value !== null && cmp() <= 0;
      case 'gt':
        return value !== null && cmp() > 0;
      case 'gte':
        return value !== null && cmp() >= 0;
      case 'in':
        return value !== null && inList();
      case 'notIn':
        return value === null || !inList();
      case 'contains':
        return value !== null && (value as string).includes(operand as string);
      case 'startsWith':
        return value !== null && (value as string).startsWith(operand as string);
      case 'endsWith':
        return value !== null && (value as string).endsWith(operand as string);
      case 'like':
        return value !== null && likeToRegExp(operand as string, false).test(value as string);
      case 'ilike':
        return value !== null && likeToRegExp(operand as string, true).test(asciiLower(value as string));
    }
    throw new Error(`reference evaluator: unknown operator ${operator}`);
  }

  compareKey(a: Normalized, b: Normalized, item: OrderByItem): number {
    if (a === null || b === null) {
      if (a === b) return 0;
      const nullFirst = item.nulls === 'first' ? -1 : 1;
      return a === null ? nullFirst : -nullFirst;
    }
    const c = compareNonNull(a, b);
    return item.direction === 'asc' ? c : -c;
  }

  /** Sort-key tuple order of two rows (or cursors' values). */
  compareTuples(a: Normalized[], b: Normalized[], orderBy: readonly OrderByItem[]): number {
    for (let i = 0; i < orderBy.length; i++) {
      const c = this.compareKey(a[i], b[i], orderBy[i]);
      if (c !== 0) return c;
    }
    return 0;
  }

  tuple(row: ReferenceRow, orderBy: readonly OrderByItem[]): Normalized[] {
    return orderBy.map((item) => this.value(row, item.field));
  }

  cursorTuple(values: readonly CursorValue[], orderBy: readonly OrderByItem[]): Normalized[] {
    return orderBy.map((item, i) => normalize(this.spec.fields[item.field], item.field, values[i]));
  }

  list(query: ReferenceQuery): ReferenceRow[] {
    const nodes = [...(query.conditions ?? []), ...(query.filter ? [query.filter] : [])];
    return this.visible
      .filter((row) => nodes.every((node) => this.matches(node, row)))
      .sort((a, b) => this.compareTuples(this.tuple(a, query.orderBy), this.tuple(b, query.orderBy), query.orderBy));
  }
}

/** The rows matching scope + conditions + filter, sorted by `orderBy`. */
export function referenceList(rows: readonly ReferenceRow[], query: ReferenceQuery): ReferenceRow[] {
  return new Evaluator(query.spec, rows, query.scope ?? (() => true)).list(query);
}

/** Whether one row matches a filter (relations resolved against `rows`, within scope). */
export function referenceMatches(
  rows: readonly ReferenceRow[],
  row: ReferenceRow,
  filter: FilterNode,
  spec: EntitySpec,
  scope: (row: ReferenceRow) => boolean = () => true,
): boolean {
  return new Evaluator(spec, rows, scope).matches(filter, row);
}

export interface ReferencePage {
  rows: ReferenceRow[];
  total: number;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * One page as the contract defines it, computed from the full sorted list:
 * `after`/`before` select rows strictly after/before the cursor values; with
 * `before` alone the page is the `limit` rows closest to it; hasNextPage /
 * hasPreviousPage say whether a matching row exists after the last / before
 * the first row of the page (for an empty page: at or beyond the `before` /
 * `after` cursor, false without one).
 */
export function referencePage(
  rows: readonly ReferenceRow[],
  query: ReferenceQuery & { after?: readonly CursorValue[]; before?: readonly CursorValue[]; limit: number },
): ReferencePage {
  const evaluator = new Evaluator(query.spec, rows, query.scope ?? (() => true));
  const all = evaluator.list(query);
  const order = query.orderBy;
  const position = (row: ReferenceRow, values: readonly CursorValue[]) =>
    evaluator.compareTuples(evaluator.tuple(row, order), evaluator.cursorTuple(values, order), order);
  const window = all.filter(
    (row) => (!query.after || position(row, query.after) > 0) && (!query.before || position(row, query.before) < 0),
  );
  const backward = !query.after && query.before !== undefined;
  const page = backward ? window.slice(Math.max(0, window.length - query.limit)) : window.slice(0, query.limit);
  let hasNextPage: boolean;
  let hasPreviousPage: boolean;
  if (page.length > 0) {
    const firstIndex = all.indexOf(page[0]);
    const lastIndex = all.indexOf(page[page.length - 1]);
    hasPreviousPage = firstIndex > 0;
    hasNextPage = lastIndex < all.length - 1;
  } else {
    hasPreviousPage = query.after ? all.some((row) => position(row, query.after!) <= 0) : false;
    hasNextPage = query.before ? all.some((row) => position(row, query.before!) >= 0) : false;
  }
  return { rows: page, total: all.length, hasNextPage, hasPreviousPage };
}
