import { Injectable } from '@nestjs/common';
import { ConflictError, DomainError, newId, ResourceNotFoundError, ValidationFailedError, type FieldError } from '@app/common';
import { currentTraceParent } from '@app/observability/tracing/trace-context';
import {
  CursorCodec,
  QueryDslError,
  cursorValuesOf,
  filterNodes,
  parseEqualityShortcut,
  parseFilterJson,
  parseOrderByJson,
  queryFingerprint,
  type CursorValue,
  type FilterNode,
} from '@app/query-dsl';
import type { CleanupTask } from './cleanup-task.entity';
import type { ResourceType } from './cleanup-task.enums';
import { CLEANUP_TASK_DEFAULT_ORDER_BY, CLEANUP_TASK_QUERY_FIELDS } from './cleanup-task.query-fields';
import { CleanupTasksRepository, type TaskCountsCriteria, type TaskListCriteria } from './cleanup-tasks.repository';
import type { PageInfoDto } from './dto/cleanup-task-page.dto';
import type { TaskCountsDto } from './dto/task-counts.dto';
import type { CountCleanupTasksQuery } from './dto/count-cleanup-tasks.query';
import type { ExportCleanupTasksQuery } from './dto/export-cleanup-tasks.query';
import type { ListCleanupTasksQuery, TaskSelectionQuery } from './dto/list-cleanup-tasks.query';
import type { TaskExportCriteria } from './task-export.repository';
import type { WorkspaceScope } from './task-scope';

export interface EnqueueCleanupTask {
  resourceType: ResourceType;
  resourceId: string;
  workspaceId: string;
  sourceEventId?: string | null;
  metadata?: Record<string, unknown>;
}

/** The same event's key (sourceEventId, resourceType, resourceId) came again with another workspaceId or metadata. */
export function idempotencyConflict(existingTaskId: string): ConflictError {
  return new ConflictError(
    'idempotency-conflict',
    `This (sourceEventId, resourceType, resourceId) was enqueued before as task ${existingTaskId} with a different workspaceId or metadata; send the same body again, or use a new sourceEventId.`,
    { existingTaskId },
  );
}

/** Most groups one counts request answers. */
export const COUNT_GROUPS_MAX = 1000;

/** A counts request whose groups would be more than COUNT_GROUPS_MAX: 400, asking to narrow it. */
export class TooManyGroupsError extends DomainError {
  readonly status = 400;
  readonly code = 'too-many-groups';
  readonly title = 'Too many groups';
  constructor() {
    super(
      `The query has more than ${COUNT_GROUPS_MAX} groups. Narrow it (filter, workspace_id, status, resource_type) ` +
        'or group by fewer fields; workspace_id groups the most.',
    );
    this.extensions.maxGroups = COUNT_GROUPS_MAX;
  }
}

export const DELETE_WORKSPACE_OWN_ID = 'a delete_workspace task deletes its own workspace: resourceId must equal workspaceId';

/** A list request turned into DSL criteria, plus what its cursors are bound to. */
export interface PreparedTaskList {
  criteria: TaskListCriteria;
  /** Fingerprint of orderBy + filter + shortcuts + ids: a cursor is valid only for the query it was made for. */
  fingerprint: string;
}

/** Collects the DSL's 400s of several parses, so that a request's problems are reported at once. */
class ProblemCollector {
  readonly errors: FieldError[] = [];

  /** `parse()`'s result, or undefined after noting its QueryDslError's problems. */
  attempt<T>(parse: () => T): T | undefined {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof QueryDslError)) throw error;
      this.errors.push(...error.errors);
      return undefined;
    }
  }

  throwIfAny(): void {
    if (this.errors.length > 0) throw new ValidationFailedError(this.errors);
  }
}

/** The selection's DSL pieces (scope aside), and its shortcuts as given (for fingerprints). */
interface PreparedSelection {
  filter?: FilterNode;
  conditions: FilterNode[];
  shortcuts: Record<'status' | 'resourceType' | 'workspaceId' | 'parentId' | 'sourceEventId', string | undefined>;
}

const SHORTCUT_WIRE_NAMES = {
  status: 'status',
  resourceType: 'resource_type',
  workspaceId: 'workspace_id',
  parentId: 'parent_id',
  sourceEventId: 'source_event_id',
} as const;

/** `filter`, the shortcuts and `ids` as DSL nodes; problems go to `problems`. */
function prepareSelection(query: TaskSelectionQuery, problems: ProblemCollector): PreparedSelection {
  const spec = CLEANUP_TASK_QUERY_FIELDS;
  let filter: FilterNode | undefined = query.filter === undefined ? undefined : problems.attempt(() => parseFilterJson(query.filter!, spec));
  if (filter?.kind === 'and' && filter.items.length === 0) filter = undefined;

  const shortcuts = {
    status: query.status,
    resourceType: query.resourceType,
    workspaceId: query.workspaceId,
    parentId: query.parentId,
    sourceEventId: query.sourceEventId,
  };
  const conditions: FilterNode[] = [];
  for (const field of Object.keys(shortcuts) as (keyof typeof shortcuts)[]) {
    const value = shortcuts[field];
    if (value === undefined) continue;
    const condition = problems.attempt(() => parseEqualityShortcut(spec, field, value, SHORTCUT_WIRE_NAMES[field]));
    if (condition) conditions.push(condition);
  }
  if (query.ids) conditions.push(filterNodes.in('id', query.ids));
  return { filter, conditions, shortcuts };
}

const parseTaskOrderBy = (raw: string | undefined) => parseOrderByJson(raw, CLEANUP_TASK_QUERY_FIELDS, { defaultOrderBy: CLEANUP_TASK_DEFAULT_ORDER_BY });

/**
 * Validates a list request against the field map and prepares it for the
 * repository; every problem (filter, orderBy, shortcuts, cursors) is reported
 * at once, as a 400 naming each path. Pure: no database (the benchmark uses it
 * to get the exact SQL of a request).
 *
 * Cursors are bound (fingerprint) to the normalised orderBy, the filter's AST
 * (key order does not matter; `{}` is the same as no filter), the shortcuts
 * and the set of `ids` — not to `limit` (page sizes may change between pages)
 * and not to the caller (a cursor only positions; the scope always applies).
 */
export function prepareTaskList(query: ListCleanupTasksQuery, scope: WorkspaceScope, codec: CursorCodec): PreparedTaskList {
  const problems = new ProblemCollector();
  const orderBy = problems.attempt(() => parseTaskOrderBy(query.orderBy));
  const { filter, conditions, shortcuts } = prepareSelection(query, problems);
  problems.throwIfAny();

  const fingerprint = queryFingerprint({
    orderBy: orderBy!,
    filter: filter ?? null,
    shortcuts,
    ids: query.ids ? [...query.ids].sort() : null,
  });
  const decode = (raw: string | undefined, path: string): CursorValue[] | undefined =>
    raw === undefined ? undefined : problems.attempt(() => codec.decode(raw, { orderBy: orderBy!, spec: CLEANUP_TASK_QUERY_FIELDS, fingerprint, path }));
  const after = decode(query.after, 'after');
  const before = decode(query.before, 'before');
  problems.throwIfAny();

  return { criteria: { orderBy: orderBy!, filter, conditions, scope, after, before, limit: query.limit }, fingerprint };
}

/** Validates a counts request (as the list's selection) and prepares it for the repository. Pure, like prepareTaskList. */
export function prepareTaskCounts(query: CountCleanupTasksQuery, scope: WorkspaceScope): TaskCountsCriteria {
  const problems = new ProblemCollector();
  const { filter, conditions } = prepareSelection(query, problems);
  problems.throwIfAny();
  return { filter, conditions, scope, groupBy: query.groupBy, maxGroups: COUNT_GROUPS_MAX };
}

/** Validates an export request (the list's selection and orderBy) and prepares it for the repository. Pure, like prepareTaskList. */
export function prepareTaskExport(query: ExportCleanupTasksQuery, scope: WorkspaceScope): TaskExportCriteria {
  const problems = new ProblemCollector();
  const orderBy = problems.attempt(() => parseTaskOrderBy(query.orderBy));
  const { filter, conditions } = prepareSelection(query, problems);
  problems.throwIfAny();
  return { orderBy: orderBy!, filter, conditions, scope };
}

/**
 * Cleanup tasks for the API and for other modules of the monolith: call
 * `enqueue` when a workspace (or any resource) is deleted.
 */
@Injectable()
export class CleanupTasksService {
  constructor(
    private readonly repository: CleanupTasksRepository,
    private readonly cursors: CursorCodec,
  ) {}

  /**
   * The task as the API shows it (a `CleanupTaskDto`, as JSON text built by
   * PostgreSQL); 404 unless it exists inside the scope.
   */
  async get(id: string, scope: WorkspaceScope): Promise<string> {
    const task = await this.repository.findJsonById(id, scope);
    if (task === null) throw new ResourceNotFoundError('Cleanup task', id);
    return task;
  }

  /**
   * One page of the list, with exact total and neighbours (see prepareTaskList
   * and CleanupTasksRepository.list), as a `CleanupTaskPageDto` in JSON text.
   * The tasks' JSON comes from PostgreSQL as it is; only `pageInfo` is
   * serialised here (the cursors are the first and last task's sort keys).
   */
  async list(query: ListCleanupTasksQuery, scope: WorkspaceScope): Promise<string> {
    const { criteria, fingerprint } = prepareTaskList(query, scope, this.cursors);
    const page = await this.repository.list(criteria);
    const cursor = (task: string | undefined) =>
      task === undefined ? null : this.cursors.encode(cursorValuesOf(JSON.parse(task) as Record<string, unknown>, criteria.orderBy, CLEANUP_TASK_QUERY_FIELDS), fingerprint);
    const pageInfo: PageInfoDto = {
      total: page.total,
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: cursor(page.tasks[0]),
      endCursor: cursor(page.tasks[page.tasks.length - 1]),
    };
    return `{"data":[${page.tasks.join(',')}],"pageInfo":${JSON.stringify(pageInfo)}}`;
  }

  /**
   * Exact counts of the tasks the query selects inside `scope`, per
   * non-empty group of the groupBy fields, sorted by them in order (byte
   * order); `total` is their sum. More than COUNT_GROUPS_MAX groups is a
   * TooManyGroupsError (400). From the counters when the query reads only
   * what they count, else one GROUP BY (see countsStatement).
   */
  async counts(query: CountCleanupTasksQuery, scope: WorkspaceScope): Promise<TaskCountsDto> {
    const { groups, more } = await this.repository.counts(prepareTaskCounts(query, scope));
    if (more) throw new TooManyGroupsError();
    return {
      total: groups.reduce((sum, group) => sum + group.count, 0),
      groups: groups.map((group) => ({ ...group.values, count: group.count })),
    };
  }

  /**
   * Enqueues a root task; idempotent on (sourceEventId, resourceType,
   * resourceId): the same again returns the existing task, the same key with
   * another workspaceId or metadata is a ConflictError (`idempotency-conflict`).
   */
  async enqueue(input: EnqueueCleanupTask): Promise<{ task: CleanupTask; created: boolean }> {
    const { id, created } = await this.insertRoot(input);
    return { task: await this.repository.findById(id), created };
  }

  /** `enqueue`, then the stored task as `get` gives it (one read, of the API's view only, on the primary that has it). */
  async enqueueAndGet(input: EnqueueCleanupTask): Promise<{ id: string; task: string; created: boolean }> {
    const { id, created } = await this.insertRoot(input);
    const task = await this.repository.findJsonById(id, null, { primary: true });
    if (task === null) throw new ResourceNotFoundError('Cleanup task', id);
    return { id, task, created };
  }

  private async insertRoot(input: EnqueueCleanupTask): Promise<{ id: string; created: boolean }> {
    if (input.resourceType === 'delete_workspace' && input.resourceId !== input.workspaceId) {
      throw new ValidationFailedError([{ path: 'resourceId', message: DELETE_WORKSPACE_OWN_ID }]);
    }
    const { id, created, sameRequest } = await this.repository.insertRootIdempotent({
      id: newId('ct'),
      resourceType: input.resourceType,
      resourceId: input.resourceId,
      workspaceId: input.workspaceId,
      sourceEventId: input.sourceEventId ?? null,
      metadata: input.metadata ?? {},
      traceParent: currentTraceParent(),
    });
    if (!sameRequest) throw idempotencyConflict(id);
    return { id, created };
  }
}
