import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig, ServiceBusyError } from '@app/common';
import { ReadRouting, type ReadPool } from '@app/database/read-routing';
import { SqlExecutor } from '@app/database/sql-executor';
import { QueryParameters, columnRef, composeSql } from '@app/query-dsl';
import { CLEANUP_TASK_QUERY_FIELDS } from './cleanup-task.query-fields';
import { openSnapshotCursor, type SnapshotCursor } from './snapshot-cursor';
import { TASK_CONTRACT_COLUMNS, taskContractJson } from './task-columns';

/**
 * The task `rootId` and its descendants, root first, then by depth,
 * createdAt, id, each as the API's JSON text: a recursive CTE
 * (`WITH RECURSIVE tree AS ((root) UNION ALL (children of tree))`), sorted by
 * PostgreSQL (spilling to disk if it must); a cursor hands it over in batches.
 *
 * Parent links can only loop through the root itself (each task has one
 * parent: a descendant on a loop has the root among its ancestors, so the
 * loop passes through the root), so the walk stops at the root instead of
 * tracking visited rows: every task is read once, and a loop ends it.
 */
export function taskTreeStatement(dataSource: DataSource, rootId: string): [string, unknown[]] {
  const table = CLEANUP_TASK_QUERY_FIELDS.table;
  const statement = dataSource.createQueryBuilder();
  const root = new QueryParameters(statement).bind(rootId);
  const columnsOf = (alias: string) => TASK_CONTRACT_COLUMNS.map((column) => columnRef(alias, column));
  const start = dataSource.createQueryBuilder().select(columnsOf('task')).addSelect('0', 'depth').from(table, 'task').where(`"task"."id" = ${root}`);
  const below = dataSource
    .createQueryBuilder()
    .select(columnsOf('child'))
    .addSelect('"tree"."depth" + 1', 'depth')
    .from(table, 'child')
    .innerJoin('tree', 'tree', '"child"."parent_id" = "tree"."id"')
    .where(`"child"."id" <> ${root}`);
  return statement
    .addCommonTableExpression(composeSql.unionAll([start, below]), 'tree', { recursive: true })
    .select(taskContractJson('tree'), 'task')
    .from('tree', 'tree')
    .orderBy('"tree"."depth"', 'ASC')
    .addOrderBy('"tree"."created_at"', 'ASC')
    .addOrderBy('"tree"."id"', 'ASC')
    .getQueryAndParameters();
}

/** How long a download waits for a tree connection before it is told to retry (503). */
const TREE_CONNECTION_WAIT_MS = 1000;

/** The 503 when every tree connection stayed in use (Retry-After: 5 s). */
export function treeBusyError(poolSize: number): ServiceBusyError {
  return new ServiceBusyError(`No connection for tree downloads became free in time (${poolSize} in all); retry shortly.`, 5);
}

/** How to get a tree that is too large to read in time (the 504's detail). */
export const TREE_TOO_LARGE = 'The tree is too large to read within the limit; read its parts by parent with GET /api/cleanup-tasks (filter parentId).';

/** The SQL of reading a whole tree. */
@Injectable()
export class TaskTreeRepository {
  constructor(
    private readonly reads: ReadRouting,
    private readonly db: SqlExecutor,
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * The read pool of tree downloads (TREE_POOL_SIZE), opened on first use:
   * a download holds its connection for as long as its client reads, so on
   * the main pool a few slow readers could stall authentication, enqueues
   * and the scheduler. Each statement is limited to TREE_QUERY_TIMEOUT_MS.
   */
  private get treeReads(): ReadPool {
    return {
      name: 'tree',
      shape: {
        max: this.config.TREE_POOL_SIZE,
        statementTimeoutMs: this.config.TREE_QUERY_TIMEOUT_MS,
        // Downloads in progress may last minutes: waiting for one to end is pointless.
        waitMs: TREE_CONNECTION_WAIT_MS,
      },
    };
  }

  /**
   * Opens a cursor over the tree of `rootId` (its tasks as JSON texts, see
   * taskTreeStatement) in a snapshot of its own on a tree connection, with
   * its first `batchSize` tasks read: on the read replica when there is a
   * healthy one that has the root, else on the primary (an empty first batch:
   * no such task). The caller reads the rest in batches, so a 100,000-task
   * tree never sits in memory at once. Every tree connection busy: 503
   * (ServiceBusyError) with Retry-After.
   */
  openTreeCursor(rootId: string, batchSize: number): Promise<SnapshotCursor<{ task: string }>> {
    const [query, parameters] = taskTreeStatement(this.dataSource, rootId);
    return openSnapshotCursor(this.reads, this.treeReads, {
      name: 'task_tree',
      query,
      parameters,
      batchSize,
      emptyIsMiss: true,
      timeoutMs: this.config.TREE_QUERY_TIMEOUT_MS,
      timeoutHint: TREE_TOO_LARGE,
      busy: () => treeBusyError(this.config.TREE_POOL_SIZE),
      database: this.db.availability,
    });
  }
}
