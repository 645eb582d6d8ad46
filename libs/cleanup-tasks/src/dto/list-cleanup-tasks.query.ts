import { applyDecorators, Injectable, type PipeTransform } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { ValidationFailedError, type FieldError } from '@app/common';
import { RESOURCE_TYPES, TASK_ID_MESSAGE, TASK_ID_PATTERN, TASK_STATUSES, type ResourceType, type TaskStatus } from '../cleanup-task.enums';

export const LIST_LIMIT_MAX = 100;
export const LIST_IDS_MAX = 100;

/** The parameters that choose tasks, shared by the list, the counts and the export: `ids`, `filter` and the shortcuts. */
export const SELECTION_QUERY_PARAMETERS = ['ids', 'filter', 'status', 'resource_type', 'workspace_id', 'parent_id', 'source_event_id'] as const;

/** The list's query parameters, by their wire names. Anything else is a 400 naming it. */
export const LIST_QUERY_PARAMETERS = ['limit', 'after', 'before', 'ids', 'filter', 'orderBy', 'status', 'resource_type', 'workspace_id', 'parent_id', 'source_event_id'] as const;

/**
 * Which tasks a request is about, after its parameters were checked one by
 * one (the filter is still raw text: the query DSL parses it against the
 * field map, in the service).
 */
export interface TaskSelectionQuery {
  /** Distinct, well-formed task ids, in the order given. */
  ids?: string[];
  filter?: string;
  status?: TaskStatus;
  resourceType?: ResourceType;
  workspaceId?: string;
  parentId?: string;
  sourceEventId?: string;
}

/** `GET /api/cleanup-tasks`: the selection, one page of it (cursors and orderBy still raw text). */
export interface ListCleanupTasksQuery extends TaskSelectionQuery {
  limit: number;
  after?: string;
  before?: string;
  orderBy?: string;
}

/** A parameter name as it may appear in an error path: printable, and not endless. */
function displayName(name: string): string {
  const printable = name.replace(/\p{Cc}/gu, '?');
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}

/** The single value of every accepted parameter, and the problems found so far. */
export interface QueryParameterValues {
  values: Map<string, string>;
  errors: FieldError[];
}

/**
 * Reads the raw query object (Express' `simple` parser: a value is a string,
 * or an array of strings when the parameter was repeated): an unknown
 * parameter, or one given more than once, is an error (a typo must not
 * silently widen a query, and `?limit=1&limit=2` has no meaning); a
 * parameter in `refused` is one the endpoint deliberately does not take,
 * reported with its reason.
 */
export function readQueryParameters(raw: Record<string, unknown>, accepted: readonly string[], refused: Readonly<Record<string, string>> = {}): QueryParameterValues {
  const errors: FieldError[] = [];
  const values = new Map<string, string>();
  for (const name of Object.keys(raw)) {
    const value = raw[name];
    if (Object.hasOwn(refused, name)) {
      errors.push({ path: name, message: refused[name] });
    } else if (!accepted.includes(name)) {
      errors.push({ path: displayName(name), message: `unknown query parameter (expected one of ${accepted.join(', ')})` });
    } else if (typeof value !== 'string') {
      errors.push({ path: name, message: 'given more than once; give each parameter at most once' });
    } else {
      values.set(name, value);
    }
  }
  return { values, errors };
}

/** `name`'s value when given and not empty (an empty one is an error). */
export function nonEmptyParameter({ values, errors }: QueryParameterValues, name: string): string | undefined {
  const value = values.get(name);
  if (value === undefined) return undefined;
  if (value.length > 0) return value;
  errors.push({ path: name, message: 'must not be empty' });
  return undefined;
}

/**
 * The selection's parameters, checked one by one (problems are added to
 * `read.errors`):
 * - `ids`: 1–100 comma-separated well-formed task ids (duplicates collapse);
 * - `status`, `resource_type`: one of their enum values;
 * - `parent_id`: a well-formed task id (it names a task, like `ids` and the
 *   `{id}` path parameter; a malformed one is a mistake, not an empty result);
 * - `workspace_id`, `source_event_id`: non-empty strings, compared as given;
 * - `filter`: non-empty here; its content is validated by the service (DSL).
 * Values with NUL characters are rejected by the DSL where they reach SQL.
 */
export function parseSelection(read: QueryParameterValues): TaskSelectionQuery {
  const { values, errors } = read;
  const query: TaskSelectionQuery = {};
  const ids = values.get('ids');
  if (ids !== undefined) {
    const items = ids.split(',');
    if (items.length > LIST_IDS_MAX) {
      errors.push({ path: 'ids', message: `expected at most ${LIST_IDS_MAX} comma-separated ids` });
    } else {
      const bad = items.map((id, index) => ({ id, index })).filter(({ id }) => !TASK_ID_PATTERN.test(id));
      for (const { index } of bad.slice(0, 10)) errors.push({ path: `ids[${index}]`, message: TASK_ID_MESSAGE });
      if (bad.length === 0) query.ids = [...new Set(items)];
    }
  }

  const status = values.get('status');
  if (status !== undefined) {
    if ((TASK_STATUSES as readonly string[]).includes(status)) query.status = status as TaskStatus;
    else errors.push({ path: 'status', message: `expected one of ${TASK_STATUSES.join(', ')}` });
  }
  const resourceType = values.get('resource_type');
  if (resourceType !== undefined) {
    if ((RESOURCE_TYPES as readonly string[]).includes(resourceType)) query.resourceType = resourceType as ResourceType;
    else errors.push({ path: 'resource_type', message: `expected one of ${RESOURCE_TYPES.join(', ')}` });
  }
  const parentId = values.get('parent_id');
  if (parentId !== undefined) {
    if (TASK_ID_PATTERN.test(parentId)) query.parentId = parentId;
    else errors.push({ path: 'parent_id', message: TASK_ID_MESSAGE });
  }
  const assign = (name: string, set: (value: string) => void) => {
    const value = nonEmptyParameter(read, name);
    if (value !== undefined) set(value);
  };
  assign('workspace_id', (value) => (query.workspaceId = value));
  assign('source_event_id', (value) => (query.sourceEventId = value));
  assign('filter', (value) => (query.filter = value));
  return query;
}

/**
 * Checks `GET /api/cleanup-tasks`'s query and collects every problem before
 * answering 400: unknown and repeated parameters (readQueryParameters), the
 * selection (parseSelection), and
 * - `limit`: a decimal integer 1–100 without sign or leading zeros; default 100;
 * - `after`, `before`, `orderBy`: non-empty here; the service validates their
 *   content (cursor MAC and fingerprint, orderBy DSL).
 */
export function parseListQuery(raw: Record<string, unknown>): ListCleanupTasksQuery {
  const read = readQueryParameters(raw, LIST_QUERY_PARAMETERS);
  const { values, errors } = read;
  let limit = LIST_LIMIT_MAX;
  const rawLimit = values.get('limit');
  if (rawLimit !== undefined) {
    if (/^[1-9][0-9]{0,2}$/.test(rawLimit) && Number(rawLimit) <= LIST_LIMIT_MAX) limit = Number(rawLimit);
    else errors.push({ path: 'limit', message: `expected an integer from 1 to ${LIST_LIMIT_MAX}` });
  }
  const query: ListCleanupTasksQuery = { limit, ...parseSelection(read) };
  const after = nonEmptyParameter(read, 'after');
  const before = nonEmptyParameter(read, 'before');
  const orderBy = nonEmptyParameter(read, 'orderBy');
  if (after !== undefined) query.after = after;
  if (before !== undefined) query.before = before;
  if (orderBy !== undefined) query.orderBy = orderBy;
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return query;
}

/** `@Query(ParseListQueryPipe)`: the raw query object → ListCleanupTasksQuery, or 400. */
@Injectable()
export class ParseListQueryPipe implements PipeTransform<Record<string, unknown>, ListCleanupTasksQuery> {
  transform(value: Record<string, unknown>): ListCleanupTasksQuery {
    return parseListQuery(value ?? {});
  }
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Worked filter examples, shown in Swagger UI's example picker (they run as they are). */
export const FILTER_EXAMPLES = {
  failedWithFailedChild: {
    summary: 'Failed tasks with a failed child',
    value: { status: { eq: 'failed' }, children: { some: { status: { eq: 'failed' } } } },
  },
  retriedSince: {
    summary: 'Retried tasks created since a date',
    value: { attempts: { gte: 2 }, createdAt: { gte: '2026-01-01T00:00:00.000Z' } },
  },
  errorText: {
    summary: 'Errors mentioning a timeout, or permissions (any case)',
    value: { OR: [{ lastError: { contains: 'timeout' } }, { lastError: { ilike: '%permission%' } }] },
  },
  unfinishedInWorkspaces: {
    summary: 'Not completed, in some workspaces',
    value: { workspaceId: { in: ['ws_acme', 'ws_globex'] }, NOT: { status: { eq: 'completed' } } },
  },
  metadata: {
    summary: 'Metadata contains an object',
    value: { metadata: { contains: { region: 'eu-west-1' } } },
  },
  childrenOfWorkspaceDeletions: {
    summary: 'Children of workspace deletions, not yet completed',
    value: { parent: { resourceType: { eq: 'delete_workspace' } }, completedAt: { isNull: true } },
  },
} as const;

export const ORDER_BY_EXAMPLES = {
  newestFirst: { summary: 'Newest first', value: [{ createdAt: 'desc' }] },
  byStatusThenAttempts: { summary: 'By status, then most attempts first', value: [{ status: 'asc' }, { attempts: 'desc' }] },
  lastCompletedFirst: { summary: 'Last completed first, unfinished at the end', value: [{ completedAt: 'desc_nulls_last' }] },
} as const;

/** OpenAPI of `ids`. */
export const ApiIdsQuery = () =>
  ApiQuery({
    name: 'ids',
    required: false,
    description: `Comma-separated task ids (at most ${LIST_IDS_MAX}, each well-formed). Narrows the result; unknown ids and ids outside the token's workspaces are simply absent.`,
    style: 'form',
    explode: false,
    schema: { type: 'array', maxItems: LIST_IDS_MAX, items: { type: 'string', pattern: TASK_ID_PATTERN.source } },
  });

/**
 * OpenAPI of `filter`: JSON in the query string, described with
 * `content: application/json` (OpenAPI's way for a structured parameter
 * value) referring to the CleanupTaskFilter component schema, with examples
 * Swagger UI can run.
 */
export const ApiFilterQuery = () =>
  ApiQuery({
    name: 'filter',
    required: false,
    description: 'A `CleanupTaskFilter` as JSON (URL-encoded). Pick an example to try one.',
    // Examples on the parameter (not the media type): Swagger UI offers them in a picker.
    examples: FILTER_EXAMPLES,
    content: { 'application/json': { schema: ref('CleanupTaskFilter') } },
  } as never);

/** OpenAPI of `orderBy` (JSON, like `filter`). */
export const ApiOrderByQuery = () =>
  ApiQuery({
    name: 'orderBy',
    required: false,
    description: 'A JSON array of `CleanupTaskOrderBy`, applied in order; `id` asc is the final tie-breaker. Default `[{"createdAt":"asc"}]`.',
    examples: ORDER_BY_EXAMPLES,
    content: { 'application/json': { schema: { type: 'array', items: ref('CleanupTaskOrderBy') } } },
  } as never);

/** OpenAPI of the equality shortcuts. */
export const ApiShortcutQueries = () =>
  applyDecorators(
    ApiQuery({ name: 'status', required: false, description: 'Only tasks in this status.', schema: { type: 'string', enum: [...TASK_STATUSES] } }),
    ApiQuery({ name: 'resource_type', required: false, description: 'Only tasks of this resource type.', schema: { type: 'string', enum: [...RESOURCE_TYPES] } }),
    ApiQuery({ name: 'workspace_id', required: false, description: 'Only tasks of this workspace.', schema: { type: 'string', minLength: 1 }, example: 'ws_acme' }),
    ApiQuery({
      name: 'parent_id',
      required: false,
      description: 'Only the children of this task (a well-formed task id, else 400).',
      schema: { type: 'string', pattern: TASK_ID_PATTERN.source },
    }),
    ApiQuery({ name: 'source_event_id', required: false, description: 'Only tasks spawned by this event (the whole tree).', schema: { type: 'string', minLength: 1 } }),
  );

/** OpenAPI for the list's query parameters. */
export function ApiListCleanupTasksQuery() {
  return applyDecorators(
    ApiQuery({
      name: 'limit',
      required: false,
      description: `Page size, 1–${LIST_LIMIT_MAX}.`,
      schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT_MAX, default: LIST_LIMIT_MAX },
    }),
    ApiQuery({
      name: 'after',
      required: false,
      description: "Cursor (a page's `endCursor`): rows strictly after it. Valid only with the same `filter`, `orderBy`, `ids` and shortcuts it was made with.",
      schema: { type: 'string' },
    }),
    ApiQuery({
      name: 'before',
      required: false,
      description: "Cursor (a page's `startCursor`): the `limit` rows closest before it, still in sort order. With `after` too: the rows strictly between.",
      schema: { type: 'string' },
    }),
    ApiIdsQuery(),
    ApiFilterQuery(),
    ApiOrderByQuery(),
    ApiShortcutQueries(),
  );
}
