import { composeSql } from '../compose-sql';
import { planMatchQuery, type MatchQueryInput } from '../filter/match-query';
import type { AnySelectQueryBuilder } from '../filter/translate-filter';
import { applyOrderBy, reverseOrderBy, type OrderByItem } from '../order-by/order-by';
import { bindCursor, keysetAfter, keysetBefore, type BoundCursor, type CursorValue } from './keyset';

/** A match query (scope, conditions, filter, parameters, alias) plus its order, cursors and page size. */
export interface ListQueryInput extends MatchQueryInput {
  /** Normalised orderBy from `parseOrderBy` (ends with the id). */
  orderBy: readonly OrderByItem[];
  /** Decoded cursor values (`CursorCodec.decode`). */
  after?: readonly CursorValue[];
  before?: readonly CursorValue[];
  /** Page size (the service validates 1–100). */
  limit: number;
}

export interface ResolvedPage<T> {
  /** The page, always in the requested (forward) order. */
  rows: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export type ProbeName = 'hasPrevious' | 'hasNext';

/** What settling a fetched page takes (`resolvePage`): plain data, kept with a statement built once for many requests. */
export interface PageShape {
  direction: 'forward' | 'backward';
  /** The page size asked for (the statement fetches one more). */
  limit: number;
  /** Which probes the statement answers (see ListQueryPlan.probes). */
  probes: Readonly<Record<ProbeName, boolean>>;
}

/**
 * One list request, ready to be applied to the builders of one statement.
 * Every `apply…` ANDs conditions into a builder's WHERE (or sets its ORDER BY)
 * on the rows of `alias` (default: the plan's); values are bound once per
 * statement, however many parts apply them.
 */
export interface ListQueryPlan {
  alias: string;
  /** `forward` when `after` is given or no cursor; `backward` for `before` alone. */
  direction: 'forward' | 'backward';
  /** The orderBy in fetch order (reversed for backward pages: direction and NULLS flipped). */
  fetchOrder: readonly OrderByItem[];
  /** `limit + 1`: the extra row tells whether more rows follow in fetch order. */
  fetchLimit: number;
  /**
   * Which probes the page needs (the extra row answers the other side):
   * hasPrevious — forward with `after`: a matching row at or before `after`;
   * hasNext — with `before`: a matching row at or after `before`.
   */
  probes: Readonly<Record<ProbeName, boolean>>;
  /** scope ∧ conditions ∧ filter, without cursors (count, probes, enumerations). */
  applyWhere(qb: AnySelectQueryBuilder, alias?: string): void;
  /** The cursor bounds alone (strictly after `after`, strictly before `before`): to page a set already narrowed to the WHERE. */
  applyCursorBounds(qb: AnySelectQueryBuilder, alias?: string): void;
  /** A probe's bound alone (at or before `after`, at or after `before`): over a set narrowed to the WHERE, `EXISTS` of it answers the probe. */
  applyProbeBound(qb: AnySelectQueryBuilder, probe: ProbeName, alias?: string): void;
  /** ORDER BY the fetch order, NULLS placement explicit. */
  applyFetchOrder(qb: AnySelectQueryBuilder, alias?: string): void;
  /** The page on a builder that selects FROM the table as `alias`: WHERE ∧ cursor bounds, fetch order, LIMIT limit+1. */
  applyPage(qb: AnySelectQueryBuilder, alias?: string): void;
  /** Fills `qb` (fresh, e.g. a `subQuery()`) with `SELECT count(*) AS total FROM table AS alias WHERE …`: exact, ignores cursors and limit. */
  count(qb: AnySelectQueryBuilder): AnySelectQueryBuilder;
  /**
   * The probe as a boolean expression, `COALESCE((SELECT TRUE … ORDER BY … LIMIT 1), FALSE)`
   * (its subquery made with `owner.subQuery()`), or `null` when the page does not need it.
   */
  probe(owner: AnySelectQueryBuilder, probe: ProbeName): string | null;
  /** What `resolvePage` needs of the plan. */
  pageShape: PageShape;
  /** Trims the extra row, restores forward order, and settles hasNext/hasPrevious exactly (`resolvePage` of `pageShape`). */
  resolvePage<T>(fetched: readonly T[], probes?: ProbeResults): ResolvedPage<T>;
}

/** The probes' answers, as the statement returns them (NULL where the page needs no probe). */
export interface ProbeResults {
  hasPrevious?: boolean | null;
  hasNext?: boolean | null;
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
  const { spec, orderBy, limit, params } = input;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error('limit must be a positive integer');
  const match = planMatchQuery(input);
  const rootAlias = match.alias;
  const after: BoundCursor | null = input.after ? bindCursor(orderBy, input.after, spec, params) : null;
  const before: BoundCursor | null = input.before ? bindCursor(orderBy, input.before, spec, params) : null;
  const direction = input.after || !input.before ? 'forward' : 'backward';
  const fetchOrder = direction === 'forward' ? [...orderBy] : reverseOrderBy(orderBy);
  const fetchLimit = limit + 1;
  const probes = Object.freeze({ hasPrevious: direction === 'forward' && after !== null, hasNext: before !== null });
  const pageShape: PageShape = Object.freeze({ direction, limit, probes });

  const applyWhere = (qb: AnySelectQueryBuilder, alias = rootAlias) => match.applyWhere(qb, alias);
  const applyCursorBounds = (qb: AnySelectQueryBuilder, alias = rootAlias) => {
    if (after) keysetAfter(qb, after, alias);
    if (before) keysetBefore(qb, before, alias);
  };
  // The probes ask exactly NOT of the strict bounds (the id makes the order
  // total), written index-friendly.
  const applyProbeBound = (qb: AnySelectQueryBuilder, probe: ProbeName, alias = rootAlias) => {
    if (probe === 'hasPrevious' && after) keysetBefore(qb, after, alias, { inclusive: true });
    else if (probe === 'hasNext' && before) keysetAfter(qb, before, alias, { inclusive: true });
    else throw new Error(`the page needs no ${probe} probe`);
  };
  const applyFetchOrder = (qb: AnySelectQueryBuilder, alias = rootAlias) => applyOrderBy(qb, fetchOrder, alias, spec);

  return {
    alias: rootAlias,
    direction,
    fetchOrder,
    fetchLimit,
    probes,
    applyWhere,
    applyCursorBounds,
    applyProbeBound,
    applyFetchOrder,
    applyPage(qb, alias = rootAlias) {
      applyWhere(qb, alias);
      applyCursorBounds(qb, alias);
      applyFetchOrder(qb, alias);
      qb.limit(fetchLimit);
    },
    count(qb) {
      qb.select('count(*)', 'total').from(spec.table, rootAlias);
      applyWhere(qb);
      return qb;
    },
    // Not EXISTS: PostgreSQL drops ORDER BY inside EXISTS and may then pick a
    // sequential scan that wades through every row on the other side of the
    // cursor; an ordered LIMIT 1 walks the index outward from the cursor
    // instead, like a page fetch.
    probe(owner, probe) {
      if (!probes[probe]) return null;
      const sub = owner.subQuery().select('TRUE').from(spec.table, rootAlias);
      applyWhere(sub);
      applyProbeBound(sub, probe);
      applyOrderBy(sub, probe === 'hasPrevious' ? reverseOrderBy(orderBy) : orderBy, rootAlias, spec);
      sub.limit(1);
      return composeSql.firstValueOr(sub, 'FALSE');
    },
    pageShape,
    resolvePage: (fetched, results) => resolvePage(pageShape, fetched, results),
  };
}

/**
 * Trims the extra row, restores forward order, and settles hasNext /
 * hasPrevious exactly: the extra row answers the fetch direction's side, a
 * probe the other (see planListQuery).
 */
export function resolvePage<T>(shape: PageShape, fetched: readonly T[], results: ProbeResults = {}): ResolvedPage<T> {
  const { direction, limit, probes } = shape;
  const probed = (name: ProbeName): boolean => {
    if (!probes[name]) return false;
    const result = results[name];
    if (typeof result !== 'boolean') throw new Error(`the ${name} probe result is required`);
    return result;
  };
  const extra = fetched.length > limit;
  const rows = fetched.slice(0, limit);
  if (direction === 'backward') {
    rows.reverse();
    return { rows, hasPreviousPage: extra, hasNextPage: probed('hasNext') };
  }
  return { rows, hasPreviousPage: probed('hasPrevious'), hasNextPage: extra || probed('hasNext') };
}
