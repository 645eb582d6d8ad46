import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { AppConfig, asDatabaseUnavailable, isQueryCanceled, QueryTimeoutError, ServiceBusyError } from '@app/common';
import { ADVISORY_LOCKS } from '@app/database/advisory-locks';
import { MAIN_READ_POOL, ReadCheckoutError, ReadRouting, type ReadPool } from '@app/database/read-routing';
import { type Queryable, SqlExecutor } from '@app/database/sql-executor';
import {
  QueryParameters,
  ShapeValues,
  StatementCache,
  columnRef,
  compileParameters,
  composeSql,
  cursorShape,
  filterReadsOnly,
  filterShape,
  planListQuery,
  planMatchQuery,
  resolvePage,
  scopeFieldIn,
  shapeKey,
  type AnySelectQueryBuilder,
  type CursorValue,
  type FilterNode,
  type ListQueryPlan,
  type OrderByItem,
  type PageShape,
  type ProbeName,
} from '@app/query-dsl';
import { CleanupTask } from './cleanup-task.entity';
import type { ResourceType, TaskStatus } from './cleanup-task.enums';
import { CLEANUP_TASK_QUERY_FIELDS } from './cleanup-task.query-fields';
import type { CountGroupField } from './dto/count-cleanup-tasks.query';
import type { WorkspaceScope } from './task-scope';
import { TASK_CONTRACT_COLUMNS, taskContractJson } from './task-columns';

export interface NewRootTask {
  id: string;
  resourceType: ResourceType;
  resourceId: string;
  workspaceId: string;
  sourceEventId: string | null;
  metadata: Record<string, unknown>;
  /** The enqueuing request's W3C traceparent (tracing on), for the attempts to join its trace. */
  traceParent: string | null;
}

/** What to list: the validated DSL pieces of one `GET /api/cleanup-tasks` request. */
export interface TaskListCriteria {
  /** Normalised orderBy (ends with the id). */
  orderBy: readonly OrderByItem[];
  filter?: FilterNode;
  /** `ids` and the equality shortcuts, ANDed with the filter. */
  conditions: readonly FilterNode[];
  scope: WorkspaceScope;
  after?: readonly CursorValue[];
  before?: readonly CursorValue[];
  limit: number;
}

export interface TaskListPage {
  /** The page's tasks as JSON text in the contract's shape (`CleanupTaskDto`), in the requested order. */
  tasks: string[];
  total: number;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export interface TaskListOptions {
  /**
   * With relation traversal in the filter, up to this many matches are
   * enumerated once and give the total, the page and the probes; above it the
   * total is a count of its own and the page walks an index in sort order
   * (see listStatement). The choice is made at run time, inside the statement.
   */
  enumerateBelow: number;
}

export const DEFAULT_TASK_LIST_OPTIONS: Readonly<TaskListOptions> = Object.freeze({ enumerateBelow: 5000 });

const ALL_FIELDS: ReadonlySet<string> = new Set(Object.keys(CLEANUP_TASK_QUERY_FIELDS.fields));

/** Member scopes of up to this many workspaces page each workspace separately (see listStatement). */
const SPLIT_SCOPE_MAX = 8;

/** Fields the task counters are kept by: a filter on these alone can be counted from them. */
const COUNTED_FIELDS: ReadonlySet<string> = new Set(['workspaceId', 'resourceType', 'status']);

/** The page's columns: what the JSON of a task is built from. */
const PAGE_COLUMNS = TASK_CONTRACT_COLUMNS.map((column) => columnRef('t0', column));

/** The output: each task of the page as the API's JSON, built by PostgreSQL. */
const PAGE_TASK_JSON = taskContractJson('list');

const NO_PROBE = 'CAST(NULL AS boolean)';

/** The list statement of one request. */
export interface TaskListStatement {
  /** The statement with `$n` placeholders (TypeORM's `getQueryAndParameters()` of its builder, for the request's shape), and the request's values for them. */
  query: string;
  parameters: unknown[];
  /** How to read the page from the rows (`resolvePage`). */
  page: PageShape;
  /** Where `total` comes from: the counters, or a count over the rows. */
  countedBy: 'counters' | 'rows';
}

/** The list statement of a request shape (see listShape): built once, bound to each request of that shape. */
export interface TaskListTemplate {
  query: string;
  /** The statement's parameters from a same-shaped request's values. */
  bind: (values: readonly unknown[]) => unknown[];
  page: PageShape;
  countedBy: 'counters' | 'rows';
}

/**
 * Built list statements kept per request shape, in each repository (and the
 * bench's bare server): at most 500, and at most 4 M characters of keys and
 * SQL (a statement is 2–10 k; the largest filters, 200 nodes, make ~100 k).
 */
export function listStatementCache(): StatementCache<TaskListTemplate> {
  return new StatementCache<TaskListTemplate>(500, { max: 4_000_000, sizeOf: (key, template) => key.length + template.query.length });
}

/**
 * The shape of a list request (`@app/query-dsl` statement-shape.ts): the
 * criteria with every value the statement binds replaced by a slot — the
 * filter's and shortcuts' condition values, the cursors' non-NULL values,
 * the scope's workspace ids (deduplicated first: a scope is a set) — its
 * cache key (everything else: fields, operators, nesting, orderBy, which
 * cursor keys are NULL, the number of workspaces, the limit, the options),
 * and the values, in slot order.
 */
export function listShape(criteria: TaskListCriteria, options: TaskListOptions): { key: string; shape: TaskListCriteria; values: unknown[] } {
  const values = new ShapeValues();
  const scope = criteria.scope === null ? null : [...new Set(criteria.scope)].map((id) => values.slot(id) as unknown as string);
  const shape: TaskListCriteria = {
    orderBy: criteria.orderBy,
    conditions: criteria.conditions.map((node) => filterShape(node, values)),
    filter: criteria.filter && filterShape(criteria.filter, values),
    scope,
    after: cursorShape(criteria.after, values),
    before: cursorShape(criteria.before, values),
    limit: criteria.limit,
  };
  return { key: shapeKey({ ...shape, enumerateBelow: options.enumerateBelow }), shape, values: values.values };
}

/**
 * The list statement of a request: the template of its shape (from `cache`
 * when given, else built) bound to its values. With a cache, TypeORM's
 * QueryBuilder builds each shape once (see buildListTemplate).
 */
export function listStatement(
  dataSource: DataSource,
  criteria: TaskListCriteria,
  options: TaskListOptions = DEFAULT_TASK_LIST_OPTIONS,
  cache?: StatementCache<TaskListTemplate>,
): TaskListStatement {
  const { key, shape, values } = listShape(criteria, options);
  const build = () => buildListTemplate(dataSource, shape, options);
  const template = cache ? cache.get(key, build) : build();
  return { query: template.query, parameters: template.bind(values), page: template.page, countedBy: template.countedBy };
}

/**
 * The list statement of a request shape (`criteria` from listShape; plain
 * criteria work too), built with TypeORM's SelectQueryBuilder on
 * `dataSource` (the task entity's). The whole list request is ONE statement
 * (one round trip, one connection):
 *
 *   WITH info AS MATERIALIZED (SELECT <total> AS total, <hasPrevious probe>, <hasNext probe>)
 *   SELECT list.total, …, <task JSON> AS task FROM (info LEFT JOIN LATERAL (
 *     <page: WHERE … AND info.total > 0 ORDER BY <fetch order> LIMIT limit+1>
 *   ) AS p ON TRUE) list ORDER BY <fetch order>
 *
 * (`composeSql` writes what TypeORM's builder has not: the UNION ALL, the
 * LATERAL join and the expressions around subqueries — CAST, CASE, EXISTS,
 * COALESCE; every clause is the builder's.)
 *
 * - total: from the counters (cleanup_task_counts + deltas) when scope,
 *   shortcuts and filter only read workspaceId/resourceType/status — the
 *   same predicate, applied to the counters' alias (a sum over a few
 *   thousand rows); otherwise an exact count(*) with the list's WHERE, which
 *   PostgreSQL plans for full retrieval (index-only where it can).
 * - probes: the library's ordered `LIMIT 1` look-ups outward from the cursors.
 * - page: LIMIT limit+1 in fetch order (reversed for `before`); skipped when
 *   the exact total is 0 (an empty result never walks an index). A member
 *   token of 2–8 workspaces gets one ordered LIMIT per workspace, merged.
 * - with relation traversal (parent/children), the matches are first
 *   enumerated once, capped at `enumerateBelow + 1` rows (a MATERIALIZED CTE,
 *   `matches`), and their number decides the plan at run time:
 *     at most enumerateBelow: that IS the exact total; the page is the top of
 *       `matches` past the cursors (a top-N sort of a few thousand rows in
 *       memory; `matches` holds only the sort keys, the page's rows are then
 *       read by id) and the probes are EXISTS over `matches`: one pass in all;
 *     more: the total is a count(*) of its own and the page walks an index in
 *       sort order (`info.total > enumerateBelow`); the enumeration stopped at
 *       the cap, so its cost is bounded.
 *   (Subqueries in a CASE branch not taken, and UNION branches whose one-time
 *   filter is false, never run.) PostgreSQL cannot estimate how many rows an
 *   EXISTS matches along an index, and its LIMIT costing assumes matches are
 *   spread evenly: for `children.some` matching 2,400 parents among 1M tasks
 *   (clustered in time) it walks (created_at, id) through 140,000 rows
 *   (150 ms); so small match sets are enumerated, not walked. The capped
 *   enumeration has no ORDER BY, so PostgreSQL plans it for its first rows
 *   without an index walk (hash the few matching children, look their
 *   parents up; or merge-join ids for large sets). Measured on 1M tasks:
 *   `children.some failed` (2,442 parents) 17 → 10 ms; large sets pay the
 *   capped enumeration on top of their count (3–70 ms next to 100–540 ms).
 *   Plain column filters keep the single ordered page: their estimates are
 *   good and the indexes serve them in order.
 * - the outer ORDER BY re-sorts at most limit+1 rows (LATERAL output order is
 *   not guaranteed by SQL).
 *
 * The plans of the eight bench:list scenarios are held to those of the
 * statement's template-string predecessor (src/__plans__, list-plan-shape.db-spec.ts).
 */
export function buildListTemplate(dataSource: DataSource, criteria: TaskListCriteria, options: TaskListOptions): TaskListTemplate {
  const spec = CLEANUP_TASK_QUERY_FIELDS;
  // The outer builder writes its own names (the CTEs info and matches, the
  // output columns, the alias list) bare: fixed lower-case identifiers, read
  // the same quoted or not, so the statement reads like the sketch above.
  const statement = dataSource.createQueryBuilder().disableEscaping();
  const params = new QueryParameters(statement);
  const plan = planListQuery({
    spec,
    orderBy: criteria.orderBy,
    filter: criteria.filter,
    conditions: criteria.conditions,
    scope: criteria.scope === null ? undefined : scopeFieldIn(spec, 'workspaceId', criteria.scope),
    after: criteria.after,
    before: criteria.before,
    limit: criteria.limit,
    params,
  });
  const nodes = [...criteria.conditions, ...(criteria.filter ? [criteria.filter] : [])];
  const countedBy = nodes.every((node) => filterReadsOnly(node, COUNTED_FIELDS)) ? 'counters' : 'rows';
  const total = (owner: AnySelectQueryBuilder) =>
    composeSql.castSubquery(countedBy === 'counters' ? countersTotal(owner, plan) : plan.count(owner.subQuery()), 'bigint');

  let page: AnySelectQueryBuilder | string;
  if (nodes.some((node) => !filterReadsOnly(node, ALL_FIELDS))) {
    // Relation traversal: enumerate the matches once, capped (see above).
    const cap = options.enumerateBelow;
    if (!Number.isSafeInteger(cap) || cap < 0) throw new Error('enumerateBelow must be a non-negative integer');
    // The matches keep only what sorting, cursors and probes read (the sort
    // keys, ending with the id); the page's rows are read by id afterwards.
    const sortKeys = [...new Set(criteria.orderBy.map((item) => spec.fields[item.field].column))].map((column) => columnRef('t0', column));
    const matches = dataSource.createQueryBuilder().select(sortKeys).from(spec.table, 't0').limit(cap + 1);
    plan.applyWhere(matches);
    statement.addCommonTableExpression(matches, 'matches', { materialized: true });

    const small = `"m"."n" <= ${cap}`;
    const info = dataSource.createQueryBuilder();
    const probe = (name: ProbeName) => {
      const fallback = plan.probe(info, name);
      if (fallback === null) return NO_PROBE;
      const matched = info.subQuery().select('1').from('matches', 't0');
      plan.applyProbeBound(matched, name);
      return composeSql.caseWhen(small, composeSql.exists(matched), fallback);
    };
    info
      .select(composeSql.caseWhen(small, '"m"."n"', total(info)), 'total')
      .addSelect(probe('hasPrevious'), 'has_previous')
      .addSelect(probe('hasNext'), 'has_next')
      .from((counted) => counted.select('count(*)', 'n').from('matches', 'matches'), 'm');
    statement.addCommonTableExpression(info, 'info', { materialized: true });

    const walked = statement.subQuery().select(PAGE_COLUMNS).from(spec.table, 't0');
    plan.applyPage(walked);
    walked.andWhere(`"info"."total" > ${cap}`);
    const enumerated = statement
      .subQuery()
      .select(PAGE_COLUMNS)
      .from((ids) => {
        ids.select('"t0"."id"', 'id').from('matches', 't0');
        plan.applyCursorBounds(ids);
        plan.applyFetchOrder(ids);
        return ids.andWhere(`"info"."total" BETWEEN 1 AND ${cap}`).limit(plan.fetchLimit);
      }, 'k')
      .innerJoin(spec.table, 't0', '"t0"."id" = "k"."id"');
    page = composeSql.unionAll([walked, enumerated]);
  } else {
    const info = dataSource.createQueryBuilder();
    info
      .select(total(info), 'total')
      .addSelect(plan.probe(info, 'hasPrevious') ?? NO_PROBE, 'has_previous')
      .addSelect(plan.probe(info, 'hasNext') ?? NO_PROBE, 'has_next')
      .fromDummy();
    statement.addCommonTableExpression(info, 'info', { materialized: true });

    const workspaces = criteria.scope === null ? [] : [...new Set(criteria.scope)];
    const pageOf = (workspace?: string) => {
      const qb = statement.subQuery().select(PAGE_COLUMNS).from(spec.table, 't0');
      plan.applyPage(qb);
      if (workspace !== undefined) qb.andWhere(`"t0"."workspace_id" = ${params.bind(workspace)}`);
      return qb.andWhere('"info"."total" > 0');
    };
    if (workspaces.length >= 2 && workspaces.length <= SPLIT_SCOPE_MAX) {
      // A member of a few workspaces: one ordered LIMIT per workspace (each an
      // index range such as (workspace_id, created_at, id)), then the top of
      // their union. `workspace_id = ANY(…)` cannot return rows in created_at
      // order from that index: PostgreSQL would walk (created_at, id) and
      // discard other workspaces' rows (353,929 of them, 100 ms, for two
      // workspaces holding 16% of 1M tasks), or sort all their rows.
      const merged = statement.subQuery().select('*').from(composeSql.unionAll(workspaces.map(pageOf)), 'u').limit(plan.fetchLimit);
      plan.applyFetchOrder(merged, 'u');
      page = merged;
    } else {
      page = pageOf();
    }
  }

  statement
    .select('"list"."total"', 'total')
    .addSelect('"list"."has_previous"', 'has_previous')
    .addSelect('"list"."has_next"', 'has_next')
    .addSelect(PAGE_TASK_JSON, 'task')
    .from(composeSql.leftJoinLateral('info', page, 'p'), 'list');
  plan.applyFetchOrder(statement, 'list');
  const [query, bound] = statement.getQueryAndParameters();
  return { query, bind: compileParameters(bound), page: plan.pageShape, countedBy };
}

/**
 * `SELECT coalesce(sum(x.n), 0) FROM (<counts> UNION ALL <deltas>) AS x`, each
 * side narrowed by the list's own WHERE on the counters' alias: it reads only
 * the three counted columns, so it holds for a counter row iff it holds for
 * each task that row counts.
 */
function countersTotal(owner: AnySelectQueryBuilder, plan: ListQueryPlan): AnySelectQueryBuilder {
  const side = (table: string) => {
    const qb = owner.subQuery().select('"c"."n"', 'n').from(table, 'c');
    plan.applyWhere(qb, 'c');
    return qb;
  };
  return owner
    .subQuery()
    .select('coalesce(sum("x"."n"), 0)', 'total')
    .from(composeSql.unionAll([side('cleanup_task_counts'), side('cleanup_task_count_deltas')]), 'x');
}

/** What to count: the validated selection of one `GET /api/cleanup-tasks/counts` request. */
export interface TaskCountsCriteria {
  filter?: FilterNode;
  /** `ids` and the equality shortcuts, ANDed with the filter. */
  conditions: readonly FilterNode[];
  scope: WorkspaceScope;
  /** The task fields to group by, in order: one or two of workspaceId, resourceType, status (the counted fields). */
  groupBy: readonly CountGroupField[];
  /** Groups beyond this many are not read: the statement returns at most `maxGroups + 1` (one more tells that there are more). */
  maxGroups: number;
}

/** One group: its values of the groupBy fields (by field name, in groupBy order) and how many tasks it holds. */
export interface TaskCountGroup {
  values: { status?: TaskStatus; resourceType?: ResourceType; workspaceId?: string };
  count: number;
}

export interface TaskCountsStatement {
  query: string;
  parameters: unknown[];
  /** Where the counts come from: the counters, or a GROUP BY over the rows. */
  countedBy: 'counters' | 'rows';
}

/**
 * The counts as ONE statement, built with TypeORM's SelectQueryBuilder on
 * `dataSource`: one row per non-empty group, sorted by the groupBy columns
 * in order (byte order: COLLATE "C", as every text column of ours already
 * is), at most `maxGroups + 1` rows.
 *
 * - counters (scope, shortcuts and filter read only workspaceId,
 *   resourceType and status, the counters' key):
 *     SELECT <keys>, sum(n) FROM (<counts WHERE …> UNION ALL <deltas WHERE …>)
 *     GROUP BY <keys> HAVING sum(n) > 0 …
 *   the list's own WHERE on the counters' alias, as for its total: it holds
 *   for a counter row iff it holds for every task that row counts; one
 *   snapshot over both tables, so a delta is seen exactly once. Its cost
 *   grows with the number of (workspace, type, status) keys, not tasks.
 * - rows (anything else):
 *     SELECT <keys>, count(*) FROM cleanup_tasks WHERE … GROUP BY <keys> …
 *   one aggregate over the matching tasks; an empty group has no row.
 *
 * The LIMIT bounds what is sorted and sent, not what is aggregated: a
 * GROUP BY aggregates every matching task first (unless an index hands the
 * rows over in group order and the scan stops at the limit), which the
 * list's statement timeout bounds.
 */
export function countsStatement(dataSource: DataSource, criteria: TaskCountsCriteria): TaskCountsStatement {
  const spec = CLEANUP_TASK_QUERY_FIELDS;
  if (criteria.groupBy.length === 0) throw new Error('counts need at least one field to group by');
  if (!Number.isSafeInteger(criteria.maxGroups) || criteria.maxGroups < 1) throw new Error('maxGroups must be a positive integer');
  const statement = dataSource.createQueryBuilder();
  const params = new QueryParameters(statement);
  const plan = planMatchQuery({
    spec,
    filter: criteria.filter,
    conditions: criteria.conditions,
    scope: criteria.scope === null ? undefined : scopeFieldIn(spec, 'workspaceId', criteria.scope),
    params,
  });
  const nodes = [...criteria.conditions, ...(criteria.filter ? [criteria.filter] : [])];
  const countedBy = nodes.every((node) => filterReadsOnly(node, COUNTED_FIELDS)) ? 'counters' : 'rows';
  const columns = criteria.groupBy.map((field) => spec.fields[field].column);

  const alias = countedBy === 'counters' ? 'x' : 't0';
  for (const [i, column] of columns.entries()) {
    const ref = columnRef(alias, column);
    if (i === 0) statement.select(ref, column).groupBy(ref).orderBy(`${ref} COLLATE "C"`, 'ASC');
    else statement.addSelect(ref, column).addGroupBy(ref).addOrderBy(`${ref} COLLATE "C"`, 'ASC');
  }
  if (countedBy === 'counters') {
    const side = (table: string) => {
      const qb = statement.subQuery().select(columns.map((column) => columnRef('c', column))).addSelect('"c"."n"', 'n').from(table, 'c');
      plan.applyWhere(qb, 'c');
      return qb;
    };
    statement
      .addSelect('sum("x"."n")', 'n')
      .from(composeSql.unionAll([side('cleanup_task_counts'), side('cleanup_task_count_deltas')]), 'x')
      .having('sum("x"."n") > 0');
  } else {
    statement.addSelect('count(*)', 'n').from(spec.table, 't0');
    plan.applyWhere(statement);
  }
  statement.limit(criteria.maxGroups + 1);
  const [query, parameters] = statement.getQueryAndParameters();
  return { query, parameters, countedBy };
}

interface ListResultRow {
  total: string;
  has_previous: boolean | null;
  has_next: boolean | null;
  /** JSON text of one task; NULL (one row) when the page is empty. */
  task: string | null;
}

/** The 503 when no list connection became free in time (its Retry-After: 1 s). */
export const LIST_BUSY = 'No database connection for the list became free in time; retry shortly.';

/** How to make a list query that timed out cheaper (the 504's detail). */
export const NARROW_THE_QUERY =
  'Narrow it: a workspace, status, resource type, source event or createdAt range lets indexes do the work; ' +
  'filters on metadata or lastError and orderBy on other fields read every matching task.';

/** The API's SQL on `cleanup_tasks` (the scheduler keeps its queue SQL in its own repository). */
@Injectable()
export class CleanupTasksRepository {
  /** Tuning of the list statement (tests set `enumerateBelow` to exercise both page branches). */
  listOptions: TaskListOptions = { ...DEFAULT_TASK_LIST_OPTIONS };
  /** The list statements built so far, by request shape (listShape): a request of a known shape binds its values into the text. */
  readonly listStatements = listStatementCache();
  private readonly dataSource: DataSource;

  constructor(
    @InjectRepository(CleanupTask) private readonly tasks: Repository<CleanupTask>,
    private readonly db: SqlExecutor,
    private readonly reads: ReadRouting,
    private readonly config: AppConfig,
  ) {
    this.dataSource = tasks.manager.dataSource;
  }

  /**
   * The list's own read pool, opened on first use (processes that never
   * list, such as the worker, never connect it): a bulkhead, so that
   * expensive list queries cannot take the connections everything else
   * needs, and the place of the list's statement_timeout (a session setting
   * on a direct connection, so no extra round trip per query).
   */
  private get listReads(): ReadPool {
    const limit = this.config.LIST_QUERY_TIMEOUT_MS;
    const connectTimeoutMs = this.db.settings.connectTimeoutMs;
    return {
      name: 'list',
      shape: {
        max: this.config.LIST_POOL_SIZE,
        statementTimeoutMs: limit,
        // How long a request waits for a free connection (or a new one): no
        // longer than a query may run, since the queries it waits for end by then.
        waitMs: limit > 0 ? Math.min(limit, connectTimeoutMs) : connectTimeoutMs,
      },
    };
  }

  /**
   * One page of tasks with its exact total and neighbours, in one round trip
   * (see buildListTemplate; the statement of a request shape seen before is
   * taken from listStatements), from the read replica when there is a healthy one.
   * The tasks come as JSON text built by PostgreSQL. On the list's read pool
   * (see runListStatement).
   */
  async list(criteria: TaskListCriteria): Promise<TaskListPage> {
    const statement = listStatement(this.dataSource, criteria, this.listOptions, this.listStatements);
    const rows = await this.runListStatement<ListResultRow>(statement);
    const info = rows[0];
    const fetched = rows[0].task === null ? [] : rows.map((row) => row.task as string);
    const page = resolvePage(statement.page, fetched, { hasPrevious: info.has_previous, hasNext: info.has_next });
    return { tasks: page.rows, total: Number(info.total), hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage };
  }

  /**
   * The non-empty groups of the matching tasks with their exact counts, in
   * groupBy order (see countsStatement): at most `maxGroups`, and whether
   * there were more. On the list's pool: a counts request is a read of the
   * same kind and size as a page's total (the counters, or one aggregate
   * over what the list would count), so it shares the list's bulkhead and
   * its LIST_QUERY_TIMEOUT_MS rather than a pool of its own.
   */
  async counts(criteria: TaskCountsCriteria): Promise<{ groups: TaskCountGroup[]; more: boolean; countedBy: TaskCountsStatement['countedBy'] }> {
    const statement = countsStatement(this.dataSource, criteria);
    const rows = await this.runListStatement<Record<string, string>>(statement);
    const more = rows.length > criteria.maxGroups;
    const groups = rows.slice(0, criteria.maxGroups).map((row) => {
      // The table's CHECKs hold status and resource_type to their enums.
      const values: Record<string, string> = {};
      for (const field of criteria.groupBy) values[field] = row[CLEANUP_TASK_QUERY_FIELDS.fields[field].column];
      return { values: values as TaskCountGroup['values'], count: Number(row.n) };
    });
    return { groups, more, countedBy: statement.countedBy };
  }

  /**
   * Runs a statement on the list's read pool (the read replica's while it is
   * healthy, see ReadRouting). One that runs past
   * LIST_QUERY_TIMEOUT_MS is cancelled by PostgreSQL and answered 504
   * (QueryTimeoutError); no free connection within as long is 503 with
   * Retry-After (ServiceBusyError).
   */
  private async runListStatement<Row extends object>(statement: { query: string; parameters: unknown[] }): Promise<Row[]> {
    try {
      const { rows } = await this.reads.read(this.listReads, (db) => db.query<Row>({ text: statement.query, values: statement.parameters }));
      return rows;
    } catch (error) {
      // The database unreachable (503 database-unavailable), or every list connection busy for the whole wait.
      if (error instanceof ReadCheckoutError) throw asDatabaseUnavailable(error.cause, this.db.availability) ?? new ServiceBusyError(LIST_BUSY, 1);
      if (isQueryCanceled(error)) throw new QueryTimeoutError(this.config.LIST_QUERY_TIMEOUT_MS, NARROW_THE_QUERY);
      throw error;
    }
  }

  /**
   * Folds the task counters' deltas into `cleanup_task_counts`; returns how
   * many delta rows it folded (0 when another process holds the compaction
   * lock). One transaction: the DELETE … RETURNING and the upsert commit
   * together, so a reader (one snapshot over both tables) never sees a delta
   * twice or not at all. Upserts go in key order: two compactors could not
   * deadlock, though the advisory lock already lets only one run.
   */
  compactTaskCounts(): Promise<number> {
    return this.db.transaction(async (client) => {
      const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [ADVISORY_LOCKS.countsCompaction]);
      if (!lock[0].ok) return 0;
      const { rows } = await client.query<{ folded: string }>(`
        WITH moved AS (
          DELETE FROM cleanup_task_count_deltas RETURNING workspace_id, resource_type, status, n
        ), sums AS (
          SELECT workspace_id, resource_type, status, sum(n)::bigint AS n FROM moved GROUP BY 1, 2, 3
        ), upserted AS (
          INSERT INTO cleanup_task_counts AS c (workspace_id, resource_type, status, n)
          SELECT workspace_id, resource_type, status, n FROM sums WHERE n <> 0 ORDER BY 1, 2, 3
          ON CONFLICT (workspace_id, resource_type, status) DO UPDATE SET n = c.n + excluded.n
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM moved) AS folded, (SELECT count(*) FROM upserted) AS upserted`);
      const folded = Number(rows[0].folded);
      // Keys whose tasks are all gone (purged trees) stop costing a read.
      if (folded > 0) await client.query('DELETE FROM cleanup_task_counts WHERE n = 0');
      return folded;
    });
  }

  /**
   * Tasks per (resource type, status), table-wide (the metrics), from the
   * counters in one snapshot: a sum over one row per (workspace, type,
   * status) that has tasks, plus a few seconds of deltas. It grows with the
   * number of workspaces, not of tasks.
   */
  async countByTypeAndStatus(db: Queryable = this.db): Promise<{ resourceType: ResourceType; status: TaskStatus; count: number }[]> {
    const { rows } = await db.query<{ resource_type: ResourceType; status: TaskStatus; n: string }>(
      `SELECT resource_type, status, sum(n) AS n
         FROM (SELECT resource_type, status, n FROM cleanup_task_counts
               UNION ALL
               SELECT resource_type, status, n FROM cleanup_task_count_deltas) AS counters
        GROUP BY 1, 2`,
    );
    return rows.map((row) => ({ resourceType: row.resource_type, status: row.status, count: Number(row.n) }));
  }

  /**
   * The task as the API's JSON text (built by PostgreSQL, as for the list and
   * the tree), if it exists and lies inside the scope: from the read replica
   * when there is a healthy one, and from the primary when the replica does
   * not have it (yet) or `primary` asks for this process's own write.
   */
  async findJsonById(id: string, scope: WorkspaceScope, { primary = false } = {}): Promise<string | null> {
    const qb = this.tasks.createQueryBuilder('t');
    const params = new QueryParameters(qb);
    qb.select(taskContractJson('t'), 'task').where(`"t"."id" = ${params.bind(id)}`);
    if (scope !== null) qb.andWhere(`"t"."workspace_id" = ANY(${params.bind([...scope])})`);
    const [text, values] = qb.getQueryAndParameters();
    const { rows } = await this.reads.read(MAIN_READ_POOL, (db) => db.query<{ task: string }>(text, values), {
      missed: (result) => result.rows.length === 0,
      primary,
    });
    return rows[0]?.task ?? null;
  }

  /** The task as the entity (the in-process API); it must exist. */
  findById(id: string): Promise<CleanupTask> {
    return this.tasks.findOneByOrFail({ id });
  }

  /**
   * Inserts a root task unless one with the same (sourceEventId, resourceType,
   * resourceId) exists; either way returns the stored task's id, whether it
   * is new, and whether an existing one has the same workspace and metadata
   * (jsonb equality: key order and number spelling do not matter). ON
   * CONFLICT makes concurrent deliveries of one event safe. Written out:
   * TypeORM's InsertQueryBuilder has no DO NOTHING with a conflict target
   * (`orIgnore()` ignores every conflict, `orUpdate()` updates), and the
   * look-up after a conflict is that target's own predicate.
   */
  async insertRootIdempotent(task: NewRootTask): Promise<{ id: string; created: boolean; sameRequest: boolean }> {
    const { rows: inserted } = await this.db.query<{ id: string }>(
      `INSERT INTO cleanup_tasks (id, workspace_id, source_event_id, resource_type, resource_id, metadata, trace_parent)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (source_event_id, resource_type, resource_id) WHERE parent_id IS NULL AND source_event_id IS NOT NULL
       DO NOTHING
       RETURNING id`,
      [task.id, task.workspaceId, task.sourceEventId, task.resourceType, task.resourceId, JSON.stringify(task.metadata), task.traceParent],
    );
    if (inserted.length > 0) return { id: inserted[0].id, created: true, sameRequest: true };
    const { rows: existing } = await this.db.query<{ id: string; same: boolean }>(
      `SELECT id, workspace_id = $4 AND metadata = $5::jsonb AS same FROM cleanup_tasks
        WHERE parent_id IS NULL AND source_event_id = $1 AND resource_type = $2 AND resource_id = $3`,
      [task.sourceEventId, task.resourceType, task.resourceId, task.workspaceId, JSON.stringify(task.metadata)],
    );
    if (existing.length === 0) throw new Error(`insertRootIdempotent: the conflicting task of event ${task.sourceEventId} is gone`);
    return { id: existing[0].id, created: false, sameRequest: existing[0].same };
  }
}
