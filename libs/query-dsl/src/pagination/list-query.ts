import type { EntitySpec } from '../field-map';
import type { FilterNode } from '../filter/filter-ast';
import { translateFilter, type ScopeBuilder } from '../filter/translate-filter';
import { orderBySql, orderByTerms, reverseOrderBy, type OrderByItem, type OrderByTerm } from '../order-by/order-by';
import { AliasGenerator, SqlParams, joinAnd, quoteIdent, type SqlFragment } from '../sql';
import { keysetAfter, keysetBefore, type CursorValue } from './keyset';

export interface ListQueryInput {
  spec: EntitySpec;
  /** Normalised orderBy from `parseOrderBy` (ends with the id). */
  orderBy: readonly OrderByItem[];
  /** The user's filter AST, if any. */
  filter?: FilterNode;
  /** Further conditions ANDed in: `ids`, equality shortcuts (`filterNodes.in/eq`, `parseEqualityShortcut`). */
  conditions?: readonly FilterNode[];
  /** Row-level scope, applied to the root and inside every relation subquery. */
  scope?: ScopeBuilder;
  /** Decoded cursor values (`CursorCodec.decode`). */
  after?: readonly CursorValue[];
  before?: readonly CursorValue[];
  /** Page size (the service validates 1–100). */
  limit: number;
  /** Root table alias; default `t0`. Relation subqueries use `t1`, `t2`, … */
  alias?: string;
  /** Parameter name prefix; default `p` (`:p1`, `:p2`, …). */
  paramPrefix?: string;
}

export interface ResolvedPage<T> {
  /** The page, always in the requested (forward) order. */
  rows: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * Everything the repository needs for one list request. All fragments share
 * one parameter set (`params`), so any of them can be combined into one
 * statement, given to TypeORM (`qb.where(plan.pageWhere.sql, plan.params)`)
 * or turned into `$n` form with `toPositional`.
 */
export interface ListQueryPlan {
  alias: string;
  /** Quoted table name. */
  table: string;
  /** `forward` when `after` is given or no cursor; `backward` for `before` alone. */
  direction: 'forward' | 'backward';
  /** scope ∧ conditions ∧ filter, without cursors: for COUNT and the probes. */
  where: SqlFragment;
  /** `where` ∧ the cursor bounds (strictly after `after`, strictly before `before`). */
  pageWhere: SqlFragment;
  /**
   * The cursor bounds alone (`TRUE` without cursors), on `alias`: to page a
   * set already narrowed to `where` (e.g. a CTE of the matches, aliased the same).
   */
  cursorBounds: SqlFragment;
  /**
   * What each probe asks, as a bare condition on `alias` (`null` when that
   * probe is not needed): a row at or before `after` (hasPrevious), at or
   * after `before` (hasNext). Over a set narrowed to `where`,
   * `EXISTS (… WHERE <bound>)` answers the probe.
   */
  probeBounds: { hasPrevious: string | null; hasNext: string | null };
  /** ORDER BY in fetch order (reversed for backward pages: direction and NULLS flipped). */
  orderBy: OrderByTerm[];
  orderBySql: string;
  /** `limit + 1`: the extra row tells whether more rows follow in fetch order. */
  fetchLimit: number;
  /**
   * Boolean SQL expressions (`COALESCE((SELECT TRUE … ORDER BY … LIMIT 1), FALSE)`
   * on their own alias) answering what the extra row cannot, or `null` when not needed:
   * hasPreviousProbe — forward with `after`: a matching row at or before the `after` cursor;
   * hasNextProbe — with `before`: a matching row at or after the `before` cursor.
   */
  hasPreviousProbe: SqlFragment | null;
  hasNextProbe: SqlFragment | null;
  params: Record<string, unknown>;
  /** `SELECT <selectList> FROM t AS t0 WHERE <pageWhere> ORDER BY … LIMIT <fetchLimit>` */
  pageQuery(selectList: string): SqlFragment;
  /** `SELECT count(*) AS total FROM t AS t0 WHERE <where>` — exact, ignores cursors and limit. */
  countQuery(): SqlFragment;
  /** One row: `total` (bigint), `has_previous`, `has_next` (probe results, NULL when not needed). */
  pageInfoQuery(): SqlFragment;
  /** Trims the extra row, restores forward order, and settles hasNext/hasPrevious exactly. */
  resolvePage<T>(fetched: readonly T[], probes?: { hasPrevious?: boolean | null; hasNext?: boolean | null }): ResolvedPage<T>;
}

/**
 * Plans a keyset-paginated list query. Page semantics (the contract):
 * - `after`: rows strictly after it; `before`: strictly before it; both: the
 *   rows strictly between, paged forward from `after`.
 * - `before` alone: the `limit` rows closest to it (fetched in reversed order,
 *   then reversed back).
 * - hasNextPage / hasPreviousPage are exact: the extra row answers one side,
 *   a probe the other (forward: previous = a matching row ≤ `after`, next =
 *   extra row, or a matching row ≥ `before`; backward: previous = extra row,
 *   next = a matching row ≥ `before`). With no cursor, hasPreviousPage is false.
 *   For an empty page the probes still answer "is there anything on that side
 *   of the cursor".
 */
export function planListQuery(input: ListQueryInput): ListQueryPlan {
  const { spec, orderBy, limit } = input;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error('limit must be a positive integer');
  const alias = input.alias ?? 't0';
  const params = new SqlParams(input.paramPrefix ?? 'p');
  const aliases = new AliasGenerator();
  const ctx = { spec, params, aliases, scope: input.scope };
  const table = quoteIdent(spec.table);

  const conditions: string[] = [];
  if (input.scope) conditions.push(input.scope(alias, params));
  for (const node of [...(input.conditions ?? []), ...(input.filter ? [input.filter] : [])]) {
    const sql = translateFilter(node, alias, ctx);
    if (sql !== 'TRUE') conditions.push(sql);
  }
  const where = joinAnd(conditions);
  const afterBound = input.after ? keysetAfter(orderBy, input.after, alias, spec, params) : null;
  const beforeBound = input.before ? keysetBefore(orderBy, input.before, alias, spec, params) : null;
  const pageWhere = joinAnd([...conditions, ...(afterBound ? [afterBound] : []), ...(beforeBound ? [beforeBound] : [])]);

  const direction = input.after || !input.before ? 'forward' : 'backward';
  const fetchOrder = direction === 'forward' ? [...orderBy] : reverseOrderBy(orderBy);
  const orderSql = orderBySql(fetchOrder, alias, spec);
  const fetchLimit = limit + 1;

  // Probes: "is there a matching row at or before `after`" / "at or after
  // `before`" — exactly NOT of the strict bounds (the id makes the order total),
  // written index-friendly. Not EXISTS: PostgreSQL drops ORDER BY inside EXISTS
  // and may then pick a sequential scan that wades through every row on the
  // other side of the cursor; an ordered LIMIT 1 walks the index outward from
  // the cursor instead, like a page fetch.
  const probe = (bound: string, order: readonly OrderByItem[]) =>
    `COALESCE((SELECT TRUE FROM ${table} AS ${quoteIdent(alias)} WHERE ${joinAnd([...conditions, bound])} ` +
    `ORDER BY ${orderBySql(order, alias, spec)} LIMIT 1), FALSE)`;
  const hasPreviousBound =
    direction === 'forward' && input.after ? keysetBefore(orderBy, input.after, alias, spec, params, { inclusive: true }) : null;
  const hasNextBound = input.before ? keysetAfter(orderBy, input.before, alias, spec, params, { inclusive: true }) : null;
  const hasPreviousSql = hasPreviousBound === null ? null : probe(hasPreviousBound, reverseOrderBy(orderBy));
  const hasNextSql = hasNextBound === null ? null : probe(hasNextBound, orderBy);

  const values = params.values;
  const fragment = (sql: string): SqlFragment => ({ sql, params: { ...values } });
  const countSql = `SELECT count(*) AS total FROM ${table} AS ${quoteIdent(alias)} WHERE ${where}`;

  return {
    alias,
    table,
    direction,
    where: fragment(where),
    pageWhere: fragment(pageWhere),
    cursorBounds: fragment(joinAnd([...(afterBound ? [afterBound] : []), ...(beforeBound ? [beforeBound] : [])])),
    probeBounds: { hasPrevious: hasPreviousBound, hasNext: hasNextBound },
    orderBy: orderByTerms(fetchOrder, alias, spec),
    orderBySql: orderSql,
    fetchLimit,
    hasPreviousProbe: hasPreviousSql === null ? null : fragment(hasPreviousSql),
    hasNextProbe: hasNextSql === null ? null : fragment(hasNextSql),
    params: { ...values },
    pageQuery: (selectList) =>
      fragment(`SELECT ${selectList} FROM ${table} AS ${quoteIdent(alias)} WHERE ${pageWhere} ORDER BY ${orderSql} LIMIT ${fetchLimit}`),
    countQuery: () => fragment(countSql),
    pageInfoQuery: () =>
      fragment(`SELECT (${countSql}) AS total, ${hasPreviousSql ?? 'NULL'} AS has_previous, ${hasNextSql ?? 'NULL'} AS has_next`),
    resolvePage<T>(fetched: readonly T[], probes: { hasPrevious?: boolean | null; hasNext?: boolean | null } = {}): ResolvedPage<T> {
      const probe = (needed: boolean, result: boolean | null | undefined, name: string): boolean => {
        if (!needed) return false;
        if (typeof result !== 'boolean') throw new Error(`the ${name} probe result is required`);
        return result;
      };
      const extra = fetched.length > limit;
      const rows = fetched.slice(0, limit);
      if (direction === 'backward') {
        rows.reverse();
        return { rows, hasPreviousPage: extra, hasNextPage: probe(true, probes.hasNext, 'hasNext') };
      }
      return {
        rows,
        hasPreviousPage: probe(hasPreviousSql !== null, probes.hasPrevious, 'hasPrevious'),
        hasNextPage: extra || probe(hasNextSql !== null, probes.hasNext, 'hasNext'),
      };
    },
  };
}
