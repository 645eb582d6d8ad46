/**
 * @app/query-dsl — an entity-agnostic filter / orderBy / keyset-pagination
 * DSL for PostgreSQL. No Nest, no HTTP: input is JSON, output is validated
 * ASTs applied to TypeORM SelectQueryBuilders (Brackets, subqueries, named
 * parameters, ORDER BY with NULLS placement).
 *
 * Pipeline (see README.md):
 *   field map (defineEntitySpec)                                    — what is exposed
 *   parseFilterJson / parseFilter → FilterNode                      — 400 via QueryDslError
 *   parseOrderByJson / parseOrderBy → OrderByItem[] (ends with id)  — 400 via QueryDslError
 *   CursorCodec.decode(after|before) → CursorValue[]                — 400 via QueryDslError
 *   planListQuery({...}) → ListQueryPlan                            — applies page / count / probes to builders
 *   planMatchQuery({...}) → MatchQueryPlan                          — the WHERE alone (counts, exports)
 *   plan.resolvePage(rows, probes); cursorValuesOf(row) → CursorCodec.encode
 *   filterShape / cursorShape / shapeKey / compileParameters        — one statement per request shape (StatementCache)
 *
 * Contracts:
 * - Every SQL expression produced is two-valued (never NULL), so NOT is exact.
 * - Parameter names come from a counter per statement (`:p1`, `:p2`, …,
 *   `QueryParameters`) and table aliases of relation subqueries from another
 *   (`t1`, `t2`, …): the same input gives the same SQL. No value is ever
 *   inlined into SQL text.
 * - Relations are EXISTS subqueries (`qb.subQuery()`, never joins), each with
 *   the scope applied.
 * - SQL text around sub-builders (UNION ALL, LATERAL, EXISTS, COALESCE, CASE)
 *   is joined in one place only: `composeSql`.
 */
export { QueryDslError, type QueryDslIssue } from './errors';
export {
  ALL_OPERATORS,
  OPERATORS_BY_TYPE,
  RESERVED_KEYS,
  defineEntitySpec,
  defineField,
  type EntitySpec,
  type FieldOptions,
  type FieldSpec,
  type FieldType,
  type Operator,
  type RelationSpec,
  type ScalarValue,
} from './field-map';
export { AliasGenerator, QueryParameters, columnRef, quoteIdent } from './sql';
export { composeSql } from './compose-sql';
export { ISO_MILLIS_PATTERN, parseTimestamp, type ParsedTimestamp } from './timestamp';
export {
  filterNodes,
  type AndNode,
  type ConditionNode,
  type FilterNode,
  type JsonObject,
  type JsonValue,
  type NotNode,
  type OrNode,
  type RelationNode,
} from './filter/filter-ast';
export { filterReadsOnly } from './filter/filter-fields';
export { planMatchQuery, type MatchQueryInput, type MatchQueryPlan } from './filter/match-query';
export { DEFAULT_FILTER_LIMITS, parseEqualityShortcut, parseFilter, parseFilterJson, type FilterLimits } from './filter/parse-filter';
export {
  applyFilter,
  escapeLike,
  scopeFieldIn,
  type AnySelectQueryBuilder,
  type ScopeBuilder,
  type TranslateContext,
} from './filter/translate-filter';
export {
  ORDER_DIRECTIONS,
  applyOrderBy,
  defaultNulls,
  orderByTerms,
  parseOrderBy,
  parseOrderByJson,
  reverseOrderBy,
  type NullsPlacement,
  type OrderByInput,
  type OrderByItem,
  type OrderByTerm,
  type OrderDirectionInput,
  type ParseOrderByOptions,
  type SortDirection,
} from './order-by/order-by';
export { bindCursor, keysetAfter, keysetBefore, type BoundCursor, type CursorValue } from './pagination/keyset';
export {
  CURSOR_MESSAGES,
  CursorCodec,
  canonicalJson,
  cursorValuesOf,
  queryFingerprint,
  type DecodeCursorOptions,
} from './pagination/cursor-codec';
export { filterOpenApiSchemas, type FilterSchemaNames, type JsonSchema } from './openapi/filter-schemas';
export {
  planListQuery,
  resolvePage,
  type ListQueryInput,
  type ListQueryPlan,
  type PageShape,
  type ProbeName,
  type ProbeResults,
  type ResolvedPage,
} from './pagination/list-query';
export {
  ParameterSlot,
  ShapeValues,
  StatementCache,
  compileParameters,
  cursorShape,
  deriveParameter,
  filterShape,
  shapeKey,
} from './statement-shape';
// Test support (not exported here, import by path): `@app/query-dsl/testing/reference-evaluator`.
