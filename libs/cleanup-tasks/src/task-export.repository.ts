import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig, ServiceBusyError } from '@app/common';
import { ReadRouting, type ReadPool } from '@app/database/read-routing';
import { SqlExecutor } from '@app/database/sql-executor';
import { QueryParameters, applyOrderBy, planMatchQuery, scopeFieldIn, type FilterNode, type OrderByItem } from '@app/query-dsl';
import { CLEANUP_TASK_QUERY_FIELDS } from './cleanup-task.query-fields';
import { openSnapshotCursor, type SnapshotCursor } from './snapshot-cursor';
import { taskContractJson, taskContractTexts } from './task-columns';
import type { WorkspaceScope } from './task-scope';

/** What to export: the validated DSL pieces of one `GET /api/cleanup-tasks/export` request. */
export interface TaskExportCriteria {
  /** Normalised orderBy (ends with the id). */
  orderBy: readonly OrderByItem[];
  filter?: FilterNode;
  /** `ids` and the equality shortcuts, ANDed with the filter. */
  conditions: readonly FilterNode[];
  scope: WorkspaceScope;
}

/**
 * How each task is read: `json`, one column `task` with its JSON text as the
 * API shows it; `texts`, one text column per field in the contract's order
 * (see taskContractTexts), read as arrays.
 */
export type TaskExportShape = 'json' | 'texts';

/**
 * Every matching task in order, as ONE statement built with TypeORM's
 * SelectQueryBuilder: `SELECT <task> FROM cleanup_tasks WHERE … ORDER BY …`,
 * with the list's WHERE (scope, shortcuts, ids, filter: relations as EXISTS)
 * and the list's ORDER BY (NULLS placement explicit, id last), without
 * LIMIT. Read through a cursor, which PostgreSQL plans for its first rows
 * (cursor_tuple_fraction): the default order walks (created_at, id) and
 * sends the first batch at once instead of sorting everything first.
 */
export function exportStatement(dataSource: DataSource, criteria: TaskExportCriteria, shape: TaskExportShape): [string, unknown[]] {
  const spec = CLEANUP_TASK_QUERY_FIELDS;
  const statement = dataSource.createQueryBuilder();
  const plan = planMatchQuery({
    spec,
    filter: criteria.filter,
    conditions: criteria.conditions,
    scope: criteria.scope === null ? undefined : scopeFieldIn(spec, 'workspaceId', criteria.scope),
    params: new QueryParameters(statement),
  });
  if (shape === 'json') statement.select(taskContractJson('t0'), 'task');
  else statement.select(taskContractTexts('t0'));
  statement.from(spec.table, 't0');
  plan.applyWhere(statement);
  applyOrderBy(statement, criteria.orderBy, 't0', spec);
  return statement.getQueryAndParameters();
}

/** How long an export waits for a connection before it is told to retry (503). */
const EXPORT_CONNECTION_WAIT_MS = 1000;

/** The 503 when every export connection stayed in use (Retry-After: 5 s). */
export function exportBusyError(poolSize: number): ServiceBusyError {
  return new ServiceBusyError(`No connection for exports became free in time (${poolSize} in all); retry shortly.`, 5);
}

/** How to get an export whose query is too slow (the 504's detail). */
export const EXPORT_TOO_SLOW =
  'Narrow it (a workspace, status, resource type or createdAt range lets indexes do the work), or order by createdAt, ' +
  'which an index hands over in order; other orders are sorted in full before the first task is sent.';

/** The SQL of exports. */
@Injectable()
export class TaskExportRepository {
  constructor(
    private readonly reads: ReadRouting,
    private readonly db: SqlExecutor,
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * The read pool of exports (EXPORT_POOL_SIZE), opened on first use: an
   * export holds its connection for as long as its client reads (minutes
   * for a million tasks), so it gets a bulkhead of its own, as tree
   * downloads do, away from the main pool and from the list's. Each
   * statement (DECLARE, each FETCH) is limited to EXPORT_QUERY_TIMEOUT_MS.
   */
  private get exportReads(): ReadPool {
    return {
      name: 'export',
      shape: {
        max: this.config.EXPORT_POOL_SIZE,
        statementTimeoutMs: this.config.EXPORT_QUERY_TIMEOUT_MS,
        // Exports in progress may last minutes: waiting for one to end is pointless.
        waitMs: EXPORT_CONNECTION_WAIT_MS,
      },
    };
  }

  /**
   * Opens a cursor over the export (see exportStatement) in a snapshot of
   * its own on an export connection — the read replica's while it is
   * healthy — with its first `batchSize` tasks read: the whole export is one
   * consistent view, read in batches. Every export connection busy: 503
   * (ServiceBusyError) with Retry-After.
   */
  openExportCursor(criteria: TaskExportCriteria, shape: 'json', batchSize: number): Promise<SnapshotCursor<{ task: string }>>;
  openExportCursor(criteria: TaskExportCriteria, shape: 'texts', batchSize: number): Promise<SnapshotCursor<(string | null)[]>>;
  openExportCursor(criteria: TaskExportCriteria, shape: TaskExportShape, batchSize: number): Promise<SnapshotCursor<unknown>> {
    const [query, parameters] = exportStatement(this.dataSource, criteria, shape);
    return openSnapshotCursor(this.reads, this.exportReads, {
      name: 'task_export',
      query,
      parameters,
      rowMode: shape === 'texts' ? 'array' : undefined,
      batchSize,
      timeoutMs: this.config.EXPORT_QUERY_TIMEOUT_MS,
      timeoutHint: EXPORT_TOO_SLOW,
      busy: () => exportBusyError(this.config.EXPORT_POOL_SIZE),
      database: this.db.availability,
    });
  }
}
