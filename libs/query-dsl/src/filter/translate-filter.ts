import type { EntitySpec, FieldSpec, FieldType, ScalarValue } from '../field-map';
import { AliasGenerator, SqlParams, columnRef, joinAnd, joinOr, quoteIdent, type SqlFragment } from '../sql';
import type { ConditionNode, FilterNode, JsonObject, RelationNode } from './filter-ast';

/**
 * The caller's row-level scope (e.g. a member's workspaces) as SQL on a
 * table alias. It is applied to the root alias by the list query and inside
 * every relation subquery, so relation traversal never sees rows outside the
 * scope. It MUST never evaluate to SQL NULL (NOT-complement depends on it).
 */
export type ScopeBuilder = (alias: string, params: SqlParams) => string;

export interface TranslateContext {
  spec: EntitySpec;
  params: SqlParams;
  aliases: AliasGenerator;
  scope?: ScopeBuilder;
}

/**
 * Filter AST → SQL boolean expression on `alias`.
 *
 * Every predicate produced is two-valued: it is TRUE or FALSE, never NULL, so
 * `NOT (x)` is the exact complement of `x`:
 * - comparisons on a nullable column are guarded: `(c IS NOT NULL AND c > :p)`
 *   (the guard keeps the comparison index-usable, unlike COALESCE);
 * - `neq` is `IS DISTINCT FROM` and `notIn` is `(c IS NULL OR c <> ALL(:p))`
 *   (true for NULL); lists never contain NULL (the parser rejects it);
 * - relations are `EXISTS` subqueries, which are never NULL;
 * - the scope builder must itself never be NULL.
 *
 * Parameters: scalars are bound as is, integers as `CAST(:p AS bigint)` (an
 * int4 column compared with a safe integer beyond int4 must not raise),
 * timestamps as `CAST(:p AS timestamptz)` of a UTC ISO string, lists as one
 * array parameter `= ANY(CAST(:p AS text[]))` (not TypeORM's `:...p`
 * expansion, so the SQL text does not depend on the list length).
 */
export function translateFilter(node: FilterNode, alias: string, ctx: TranslateContext): string {
  switch (node.kind) {
    case 'and': {
      const items = node.items.map((item) => translateFilter(item, alias, ctx)).filter((sql) => sql !== 'TRUE');
      return joinAnd(items);
    }
    case 'or': {
      const items = node.items.map((item) => translateFilter(item, alias, ctx)).filter((sql) => sql !== 'FALSE');
      return joinOr(items);
    }
    case 'not': {
      const inner = translateFilter(node.item, alias, ctx);
      if (inner === 'TRUE') return 'FALSE';
      if (inner === 'FALSE') return 'TRUE';
      return negate(inner);
    }
    case 'condition':
      return translateCondition(node, alias, ctx);
    case 'relation':
      return translateRelation(node, alias, ctx);
  }
}

/** Translates a filter with fresh counters: the whole WHERE of one statement. */
export function filterToSql(
  node: FilterNode,
  options: { spec: EntitySpec; alias?: string; scope?: ScopeBuilder; params?: SqlParams; aliases?: AliasGenerator },
): SqlFragment {
  const params = options.params ?? new SqlParams();
  const ctx: TranslateContext = { spec: options.spec, params, aliases: options.aliases ?? new AliasGenerator(), scope: options.scope };
  const sql = translateFilter(node, options.alias ?? 't0', ctx);
  return { sql, params: params.values };
}

/** `NOT (x)`, without doubling the parentheses of an already grouped `x`. */
export function negate(sql: string): string {
  return `NOT ${sql.startsWith('(') && isBalancedGroup(sql) ? sql : `(${sql})`}`;
}

/** True when `sql` is one parenthesised group `( … )`, not `(a) AND (b)`. */
function isBalancedGroup(sql: string): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (quote) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0 && i < sql.length - 1) return false;
    }
  }
  return depth === 0;
}

const SQL_TYPE: Record<Exclude<FieldType, 'json'>, string> = {
  string: 'text',
  enum: 'text',
  integer: 'bigint',
  timestamp: 'timestamptz',
};

/** Placeholder for a scalar of the field's type. */
export function bindScalar(field: FieldSpec, value: ScalarValue, params: SqlParams): string {
  const placeholder = params.add(value);
  if (field.type === 'integer' || field.type === 'timestamp') return `CAST(${placeholder} AS ${SQL_TYPE[field.type]})`;
  return placeholder;
}

function bindList(field: FieldSpec, values: ScalarValue[], params: SqlParams): string {
  if (field.type === 'json') throw new Error('json fields take no lists');
  return `CAST(${params.add(values)} AS ${SQL_TYPE[field.type]}[])`;
}

/** Escapes `\`, `%`, `_` so a LIKE pattern matches the text literally (`\` is LIKE's default escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

const COMPARISON: Record<'eq' | 'lt' | 'lte' | 'gt' | 'gte', string> = { eq: '=', lt: '<', lte: '<=', gt: '>', gte: '>=' };

function translateCondition(node: ConditionNode, alias: string, ctx: TranslateContext): string {
  const field = ctx.spec.fields[node.field];
  if (!field) throw new Error(`unknown field ${node.field}`);
  const col = columnRef(alias, field.column);
  const params = ctx.params;
  // Guarded form for predicates that would be NULL on a NULL column.
  const guarded = (predicate: string): string => (field.nullable ? `(${col} IS NOT NULL AND ${predicate})` : predicate);

  switch (node.operator) {
    case 'eq':
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return guarded(`${col} ${COMPARISON[node.operator]} ${bindScalar(field, node.value as ScalarValue, params)}`);
    case 'neq':
      return field.nullable
        ? `${col} IS DISTINCT FROM ${bindScalar(field, node.value as ScalarValue, params)}`
        : `${col} <> ${bindScalar(field, node.value as ScalarValue, params)}`;
    case 'in':
      return guarded(`${col} = ANY(${bindList(field, node.value as ScalarValue[], params)})`);
    case 'notIn': {
      const predicate = `${col} <> ALL(${bindList(field, node.value as ScalarValue[], params)})`;
      return field.nullable ? `(${col} IS NULL OR ${predicate})` : predicate;
    }
    case 'isNull':
      return node.value === true ? `${col} IS NULL` : `${col} IS NOT NULL`;
    case 'contains':
      if (field.type === 'json') {
        // jsonb containment; GIN-indexable (jsonb_ops / jsonb_path_ops).
        return guarded(`${col} @> CAST(${params.add(JSON.stringify(node.value as JsonObject))} AS jsonb)`);
      }
      return guarded(`${col} LIKE ${params.add(`%${escapeLike(node.value as string)}%`)}`);
    case 'startsWith':
      // A fixed prefix: under COLLATE "C" a btree index on the column serves it.
      return guarded(`${col} LIKE ${params.add(`${escapeLike(node.value as string)}%`)}`);
    case 'endsWith':
      return guarded(`${col} LIKE ${params.add(`%${escapeLike(node.value as string)}`)}`);
    case 'like':
      return guarded(`${col} LIKE ${params.add(node.value)}`);
    case 'ilike':
      return guarded(`${col} ILIKE ${params.add(node.value)}`);
    case 'hasKey':
      // The jsonb `?` operator (GIN-indexable). Neither TypeORM (which only
      // rewrites `:name`) nor pg (server-side `$n` binding) touches `?`.
      return guarded(`${col} ? ${params.add(node.value)}`);
  }
}

function translateRelation(node: RelationNode, alias: string, ctx: TranslateContext): string {
  const relation = ctx.spec.relations[node.relation];
  if (!relation) throw new Error(`unknown relation ${node.relation}`);
  const related = ctx.aliases.next();
  const source = ctx.spec.fields[relation.sourceField];
  const target = ctx.spec.fields[relation.targetField];
  const conditions = [`${columnRef(related, target.column)} = ${columnRef(alias, source.column)}`];
  if (ctx.scope) conditions.push(ctx.scope(related, ctx.params));
  const inner = translateFilter(node.filter, related, ctx);
  const from = `SELECT 1 FROM ${quoteIdent(ctx.spec.table)} AS ${quoteIdent(related)} WHERE`;
  switch (node.quantifier) {
    case 'is':
    case 'some':
      if (inner !== 'TRUE') conditions.push(inner);
      return `EXISTS (${from} ${conditions.join(' AND ')})`;
    case 'none':
      if (inner !== 'TRUE') conditions.push(inner);
      return `NOT EXISTS (${from} ${conditions.join(' AND ')})`;
    case 'every':
      // Every related row matches ⇔ no related row fails. Exact because `inner` is never NULL.
      if (inner === 'TRUE') return 'TRUE';
      if (inner !== 'FALSE') conditions.push(negate(inner));
      return `NOT EXISTS (${from} ${conditions.join(' AND ')})`;
  }
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
  const bound = new WeakMap<SqlParams, string>();
  return (alias, params) => {
    let right = bound.get(params);
    if (right === undefined) {
      right = values.length === 1 ? bindScalar(field, values[0], params) : `ANY(${bindList(field, [...values], params)})`;
      bound.set(params, right);
    }
    const col = columnRef(alias, field.column);
    return field.nullable ? `(${col} IS NOT NULL AND ${col} = ${right})` : `${col} = ${right}`;
  };
}
