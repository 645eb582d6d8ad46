import { Brackets, NotBrackets, type ObjectLiteral, type SelectQueryBuilder, type WhereExpressionBuilder } from 'typeorm';
import { composeSql } from '../compose-sql';
import type { EntitySpec, FieldSpec, FieldType, ScalarValue } from '../field-map';
import { AliasGenerator, QueryParameters, columnRef } from '../sql';
import { deriveParameter } from '../statement-shape';
import type { ConditionNode, FilterNode, JsonObject, RelationNode } from './filter-ast';

/**
 * The caller's row-level scope (e.g. a member's workspaces) as a condition on
 * a table alias. It is applied to the root alias by the list query and inside
 * every relation subquery, so relation traversal never sees rows outside the
 * scope. It MUST never evaluate to SQL NULL (NOT-complement depends on it).
 */
export type ScopeBuilder = (alias: string, params: QueryParameters) => string;

/**
 * What a translation shares across one statement: the field map, its
 * parameters, subquery aliases, the scope. Applying a filter again with the
 * same context reuses its bound values and its relation subqueries.
 */
export interface TranslateContext {
  spec: EntitySpec;
  params: QueryParameters;
  aliases: AliasGenerator;
  scope?: ScopeBuilder;
}

/** A SelectQueryBuilder of any entity (or none): the translator reads only the field map. */
export type AnySelectQueryBuilder = SelectQueryBuilder<ObjectLiteral>;

/** Where a condition goes: the builder whose FROM holds `alias` (relation subqueries hang off it). */
interface Site {
  owner: AnySelectQueryBuilder;
  alias: string;
}

/**
 * ANDs the filter into the WHERE of `qb`, on the rows of `alias`:
 * AND lists become `andWhere` calls, OR lists `Brackets` of `orWhere`, NOT a
 * `NotBrackets`, `parent`/`children` an `EXISTS` subquery built with
 * `qb.subQuery()` (the scope applied inside), each value a named parameter
 * from `ctx.params`. Constants fold first: `{}` adds nothing, `OR: []` adds
 * `FALSE`, and TRUE/FALSE never appear inside a list.
 *
 * Every predicate produced is two-valued: it is TRUE or FALSE, never NULL, so
 * `NOT (x)` is the exact complement of `x`:
 * - comparisons on a nullable column are guarded: `("c" IS NOT NULL AND "c" > :p)`
 *   (the guard keeps the comparison index-usable, unlike COALESCE);
 * - `neq` is `IS DISTINCT FROM` and `notIn` is `("c" IS NULL OR "c" <> ALL(:p))`
 *   (true for NULL); lists never contain NULL (the parser rejects it);
 * - relations are `EXISTS` subqueries, which are never NULL;
 * - the scope builder must itself never be NULL.
 *
 * Parameters: scalars are bound as is, integers as `CAST(:p AS bigint)` (an
 * int4 column compared with a safe integer beyond int4 must not raise),
 * timestamps as `CAST(:p AS timestamptz)` of a UTC ISO string, lists as one
 * array parameter `= ANY(CAST(:p AS text[]))` (not TypeORM's `:...p`
 * expansion, so the SQL text does not depend on the list length). A
 * condition binds its value once per statement, however often it is applied.
 * Strings compare under the columns' collation (`COLLATE "C"` in our schema:
 * byte order), never a collation of the query's.
 *
 * The existing WHERE of `qb` must be a conjunction (`where`/`andWhere`):
 * the filter's conditions are ANDed in at its level.
 */
export function applyFilter(qb: AnySelectQueryBuilder, node: FilterNode, alias: string, ctx: TranslateContext): void {
  andInto(qb, foldConstants(node), { owner: qb, alias }, ctx);
}

const TRUE: FilterNode = Object.freeze({ kind: 'and', items: [] }) as FilterNode;
const FALSE: FilterNode = Object.freeze({ kind: 'or', items: [] }) as FilterNode;
const isTrue = (node: FilterNode) => node.kind === 'and' && node.items.length === 0;
const isFalse = (node: FilterNode) => node.kind === 'or' && node.items.length === 0;

/**
 * The same filter with constants folded away (exact, since every predicate is
 * two-valued): `{ and: [] }` is TRUE and `{ or: [] }` FALSE; they remain only
 * as the whole result or as a relation's filter. Nested AND in AND and OR in
 * OR are flattened; NOT NOT x is x. A node that needs no folding is returned
 * as it is (its conditions' parameters and its relations' subqueries are
 * keyed by node identity).
 */
export function foldConstants(node: FilterNode): FilterNode {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const absorbing = node.kind === 'and' ? isFalse : isTrue;
      const identity = node.kind === 'and' ? isTrue : isFalse;
      const items: FilterNode[] = [];
      let changed = false;
      for (const item of node.items) {
        const folded = foldConstants(item);
        if (absorbing(folded)) return folded;
        changed ||= folded !== item || identity(folded) || folded.kind === node.kind;
        if (identity(folded)) continue;
        if (folded.kind === node.kind) items.push(...folded.items);
        else items.push(folded);
      }
      if (items.length === 0) return node.kind === 'and' ? TRUE : FALSE;
      if (items.length === 1) return items[0];
      return changed ? { kind: node.kind, items } : node;
    }
    case 'not': {
      const inner = foldConstants(node.item);
      if (isTrue(inner)) return FALSE;
      if (isFalse(inner)) return TRUE;
      if (inner.kind === 'not') return inner.item;
      return inner === node.item ? node : { kind: 'not', item: inner };
    }
    case 'condition':
      return node;
    case 'relation': {
      const filter = foldConstants(node.filter);
      // No related row matches FALSE: `is`/`some` fail, `none` holds; every related row matches TRUE.
      if (isFalse(filter) && node.quantifier !== 'every') return node.quantifier === 'none' ? TRUE : FALSE;
      if (isTrue(filter) && node.quantifier === 'every') return TRUE;
      return filter === node.filter ? node : { ...node, filter };
    }
  }
}

function andInto(where: WhereExpressionBuilder, node: FilterNode, site: Site, ctx: TranslateContext): void {
  switch (node.kind) {
    case 'and':
      for (const item of node.items) andInto(where, item, site, ctx);
      return;
    case 'or':
      // Only a whole filter can be FALSE after folding; an empty Brackets would read as TRUE (`1=1`).
      if (node.items.length === 0) where.andWhere('FALSE');
      else where.andWhere(new Brackets((or) => node.items.forEach((item) => orInto(or, item, site, ctx))));
      return;
    case 'not':
      where.andWhere(new NotBrackets((not) => andInto(not, node.item, site, ctx)));
      return;
    case 'condition':
      where.andWhere(conditionSql(node, site.alias, ctx));
      return;
    case 'relation':
      where.andWhere(relationSql(node, site, ctx));
      return;
  }
}

function orInto(where: WhereExpressionBuilder, node: FilterNode, site: Site, ctx: TranslateContext): void {
  switch (node.kind) {
    case 'or':
      for (const item of node.items) orInto(where, item, site, ctx);
      return;
    case 'and':
      where.orWhere(new Brackets((and) => andInto(and, node, site, ctx)));
      return;
    case 'not':
      where.orWhere(new NotBrackets((not) => andInto(not, node.item, site, ctx)));
      return;
    case 'condition':
      where.orWhere(conditionSql(node, site.alias, ctx));
      return;
    case 'relation':
      where.orWhere(relationSql(node, site, ctx));
      return;
  }
}

const SQL_TYPE: Record<Exclude<FieldType, 'json'>, string> = {
  string: 'text',
  enum: 'text',
  integer: 'bigint',
  timestamp: 'timestamptz',
};

/** A scalar placeholder as the field's type. */
function castScalar(field: FieldSpec, placeholder: string): string {
  if (field.type === 'integer' || field.type === 'timestamp') return `CAST(${placeholder} AS ${SQL_TYPE[field.type]})`;
  return placeholder;
}

/** A list placeholder as an array of the field's type. */
function castList(field: FieldSpec, placeholder: string): string {
  if (field.type === 'json') throw new Error('json fields take no lists');
  return `CAST(${placeholder} AS ${SQL_TYPE[field.type]}[])`;
}

/** Binds a scalar of the field's type; returns its placeholder with the cast the type needs. */
export function bindScalar(field: FieldSpec, value: ScalarValue, params: QueryParameters): string {
  return castScalar(field, params.bind(value));
}

/** Escapes `\`, `%`, `_` so a LIKE pattern matches the text literally (`\` is LIKE's default escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

const COMPARISON: Record<'eq' | 'lt' | 'lte' | 'gt' | 'gte', string> = { eq: '=', lt: '<', lte: '<=', gt: '>', gte: '>=' };

/**
 * The value a condition binds (LIKE patterns escaped, JSON serialised),
 * through `deriveParameter`: the value may be a statement shape's slot
 * (`statement-shape.ts`), so it is only ever transformed there, never read.
 */
function boundValue(node: ConditionNode, field: FieldSpec): unknown {
  switch (node.operator) {
    case 'contains':
      return field.type === 'json'
        ? deriveParameter(node.value as JsonObject, (json) => JSON.stringify(json))
        : deriveParameter(node.value as string, (text) => `%${escapeLike(text)}%`);
    case 'startsWith':
      return deriveParameter(node.value as string, (text) => `${escapeLike(text)}%`);
    case 'endsWith':
      return deriveParameter(node.value as string, (text) => `%${escapeLike(text)}`);
    default:
      return node.value;
  }
}

function conditionSql(node: ConditionNode, alias: string, ctx: TranslateContext): string {
  const field = ctx.spec.fields[node.field];
  if (!field) throw new Error(`unknown field ${node.field}`);
  const col = columnRef(alias, field.column);
  const value = () => ctx.params.bindOnce(node, () => boundValue(node, field));
  // Guarded form for predicates that would be NULL on a NULL column.
  const guarded = (predicate: string): string => (field.nullable ? `(${col} IS NOT NULL AND ${predicate})` : predicate);

  switch (node.operator) {
    case 'eq':
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return guarded(`${col} ${COMPARISON[node.operator]} ${castScalar(field, value())}`);
    case 'neq':
      return field.nullable ? `${col} IS DISTINCT FROM ${castScalar(field, value())}` : `${col} <> ${castScalar(field, value())}`;
    case 'in':
      return guarded(`${col} = ANY(${castList(field, value())})`);
    case 'notIn': {
      const predicate = `${col} <> ALL(${castList(field, value())})`;
      return field.nullable ? `(${col} IS NULL OR ${predicate})` : predicate;
    }
    case 'isNull':
      return node.value === true ? `${col} IS NULL` : `${col} IS NOT NULL`;
    case 'contains':
      // On json: jsonb containment, GIN-indexable (jsonb_ops / jsonb_path_ops).
      return field.type === 'json' ? guarded(`${col} @> CAST(${value()} AS jsonb)`) : guarded(`${col} LIKE ${value()}`);
    case 'startsWith':
      // A fixed prefix: under COLLATE "C" a btree index on the column serves it.
      return guarded(`${col} LIKE ${value()}`);
    case 'endsWith':
    case 'like':
      return guarded(`${col} LIKE ${value()}`);
    case 'ilike':
      return guarded(`${col} ILIKE ${value()}`);
    case 'hasKey':
      // The jsonb `?` operator (GIN-indexable). TypeORM replaces only `:name`
      // and pg binds `$n` server-side: neither touches `?`.
      return guarded(`${col} ? ${value()}`);
  }
}

/**
 * Per translation context (one per statement), the EXISTS of each relation
 * node per outer alias: the page, the count and the probes apply the same
 * filter, and its subqueries (same aliases, same parameters) are built once.
 */
const relationsBuilt = new WeakMap<TranslateContext, WeakMap<RelationNode, Map<string, string>>>();

function relationSql(node: RelationNode, site: Site, ctx: TranslateContext): string {
  let built = relationsBuilt.get(ctx);
  if (!built) relationsBuilt.set(ctx, (built = new WeakMap()));
  let byAlias = built.get(node);
  if (!byAlias) built.set(node, (byAlias = new Map()));
  let sql = byAlias.get(site.alias);
  if (sql === undefined) {
    sql = buildRelationSql(node, site, ctx);
    byAlias.set(site.alias, sql);
  }
  return sql;
}

function buildRelationSql(node: RelationNode, site: Site, ctx: TranslateContext): string {
  const relation = ctx.spec.relations[node.relation];
  if (!relation) throw new Error(`unknown relation ${node.relation}`);
  const related = ctx.aliases.next();
  const source = ctx.spec.fields[relation.sourceField];
  const target = ctx.spec.fields[relation.targetField];
  const sub = site.owner
    .subQuery()
    .select('1')
    .from(ctx.spec.table, related)
    .where(`${columnRef(related, target.column)} = ${columnRef(site.alias, source.column)}`);
  if (ctx.scope) sub.andWhere(ctx.scope(related, ctx.params));
  const inner: Site = { owner: sub, alias: related };
  if (node.quantifier === 'every') {
    // Every related row matches ⇔ none fails. Exact because the filter is never NULL; FALSE: there is no related row.
    if (!isFalse(node.filter)) sub.andWhere(new NotBrackets((not) => andInto(not, node.filter, inner, ctx)));
    return composeSql.notExists(sub);
  }
  if (!isTrue(node.filter)) andInto(sub, node.filter, inner, ctx);
  return node.quantifier === 'none' ? composeSql.notExists(sub) : composeSql.exists(sub);
}

/**
 * A scope "field is one of values" (e.g. a member's workspace ids), bound
 * once per statement and reused by every alias: `"t0"."workspace_id" =
 * ANY(CAST(:p1 AS text[]))`, or `"t0"."workspace_id" = :p1` for a single value
 * (so that an index on `(workspace_id, created_at, id)` serves the keyset
 * range directly). An empty list matches nothing.
 */
export function scopeFieldIn(spec: EntitySpec, fieldName: string, values: readonly ScalarValue[]): ScopeBuilder {
  const field = spec.fields[fieldName];
  if (!field || field.type === 'json') throw new Error(`cannot scope by ${fieldName}`);
  const single = values.length === 1;
  const key = {};
  return (alias, params) => {
    const placeholder = params.bindOnce(key, () => (single ? values[0] : [...values]));
    const right = single ? castScalar(field, placeholder) : `ANY(${castList(field, placeholder)})`;
    const col = columnRef(alias, field.column);
    return field.nullable ? `(${col} IS NOT NULL AND ${col} = ${right})` : `${col} = ${right}`;
  };
}
