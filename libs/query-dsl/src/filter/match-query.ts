import type { EntitySpec } from '../field-map';
import { AliasGenerator, type QueryParameters } from '../sql';
import type { FilterNode } from './filter-ast';
import { applyFilter, type AnySelectQueryBuilder, type ScopeBuilder, type TranslateContext } from './translate-filter';

export interface MatchQueryInput {
  spec: EntitySpec;
  /** The user's filter AST, if any. */
  filter?: FilterNode;
  /** Further conditions ANDed in: `ids`, equality shortcuts (`filterNodes.in/eq`, `parseEqualityShortcut`). */
  conditions?: readonly FilterNode[];
  /** Row-level scope, applied to the root and inside every relation subquery. */
  scope?: ScopeBuilder;
  /** The parameters of the statement the plan is applied to (every part of it shares them). */
  params: QueryParameters;
  /** Root table alias; default `t0`. Relation subqueries use `t1`, `t2`, … */
  alias?: string;
}

/** Which rows a query is about (scope ∧ conditions ∧ filter), for statements that read all of them: counts, exports. */
export interface MatchQueryPlan {
  alias: string;
  /** ANDs scope ∧ conditions ∧ filter into the WHERE of `qb`, on the rows of `alias` (default: the plan's). */
  applyWhere(qb: AnySelectQueryBuilder, alias?: string): void;
}

/**
 * Plans the WHERE of a query over every matching row (no cursors, no
 * limit). Like the list's plan, it binds each value once per statement
 * however many parts of the statement apply it, and builds a relation's
 * subquery once per outer alias.
 */
export function planMatchQuery(input: MatchQueryInput): MatchQueryPlan {
  const { spec, params } = input;
  const rootAlias = input.alias ?? 't0';
  const ctx: TranslateContext = { spec, params, aliases: new AliasGenerator(), scope: input.scope };
  const nodes = [...(input.conditions ?? []), ...(input.filter ? [input.filter] : [])];
  return {
    alias: rootAlias,
    applyWhere(qb, alias = rootAlias) {
      if (ctx.scope) qb.andWhere(ctx.scope(alias, params));
      for (const node of nodes) applyFilter(qb, node, alias, ctx);
    },
  };
}
