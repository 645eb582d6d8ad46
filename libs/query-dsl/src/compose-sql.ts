import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { quoteIdent } from './sql';

type Builder = SelectQueryBuilder<ObjectLiteral>;

/** A builder's SQL, parenthesised once (a `subQuery()` builder already is). */
function parenthesised(builder: Builder): string {
  const sql = builder.getQuery();
  return builder.expressionMap.subQuery ? sql : `(${sql})`;
}

/**
 * The one place where SQL text around sub-builders is joined. TypeORM's
 * SelectQueryBuilder writes SELECT, FROM, JOIN, WHERE (with Brackets),
 * ORDER BY, LIMIT and CTEs, and takes a subquery as a FROM source, a
 * selected value or a CTE; it has no UNION, no LATERAL, and no way to put a
 * subquery inside an expression (EXISTS in a condition string, COALESCE, CASE).
 * These functions compose exactly those from builders' `getQuery()`, and
 * nothing else.
 *
 * Parameters: the text of a builder carries only placeholders. The values
 * must already be on the statement's outermost builder: bind them with the
 * statement's `QueryParameters`, or set them on builders made with that
 * builder's `subQuery()` (TypeORM hands those up to it). Nothing here reads
 * or rewrites a placeholder.
 */
export const composeSql = Object.freeze({
  /** `EXISTS (SELECT …)`, a condition for `andWhere`/`orWhere`. */
  exists(builder: Builder): string {
    return `EXISTS ${parenthesised(builder)}`;
  },

  /** `NOT EXISTS (SELECT …)`. */
  notExists(builder: Builder): string {
    return `NOT EXISTS ${parenthesised(builder)}`;
  },

  /** `COALESCE((SELECT …), fallback)`: the first column of the builder's first row, or `fallback` when it has none. */
  firstValueOr(builder: Builder, fallback: string): string {
    return `COALESCE(${parenthesised(builder)}, ${fallback})`;
  },

  /** `CAST(expression AS type)` of a subquery's value. */
  castSubquery(builder: Builder, type: string): string {
    return `CAST(${parenthesised(builder)} AS ${type})`;
  },

  /** `CASE WHEN condition THEN a ELSE b END` of SQL expressions (a builder's value via `exists`, `firstValueOr`, `castSubquery`). */
  caseWhen(condition: string, then: string, otherwise: string): string {
    return `CASE WHEN ${condition} THEN ${then} ELSE ${otherwise} END`;
  },

  /**
   * `((SELECT …) UNION ALL (SELECT …))`: every branch keeps its own ORDER BY
   * and LIMIT. Parenthesised as a whole, so it is a FROM source for
   * `qb.from(union, alias)` and a body for `leftJoinLateral`.
   */
  unionAll(builders: readonly Builder[]): string {
    if (builders.length === 0) throw new Error('UNION ALL of no queries');
    return `(${builders.map(parenthesised).join(' UNION ALL ')})`;
  },

  /**
   * `("left" LEFT JOIN LATERAL (…) AS "alias" ON TRUE)`, a FROM source for
   * `qb.from(join, name)`: every row of `left` (a CTE or table, one row here)
   * with each row the lateral query gives for it, or one row of NULLs when it
   * gives none. The lateral query may read `left`'s columns; the outer query
   * reads both sides' columns as `name.column` (so their names must differ).
   */
  leftJoinLateral(left: string, lateral: Builder | string, alias: string): string {
    const body = typeof lateral === 'string' ? lateral : parenthesised(lateral);
    return `(${quoteIdent(left)} LEFT JOIN LATERAL ${body} AS ${quoteIdent(alias)} ON TRUE)`;
  },
});
