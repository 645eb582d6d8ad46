import { Body, Controller, Get, Header, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated, CurrentPrincipal, type Principal } from '@app/auth';
import { ApiDomainProblem, ApiProblem, AppConfig, QueryTimeoutError, ServiceBusyError } from '@app/common';
import { CleanupTasksService, DELETE_WORKSPACE_OWN_ID, TooManyGroupsError, idempotencyConflict } from './cleanup-tasks.service';
import { CleanupTaskPageDto } from './dto/cleanup-task-page.dto';
import { CleanupTaskDto } from './dto/cleanup-task.dto';
import { ApiCountCleanupTasksQuery, ParseCountsQueryPipe, type CountCleanupTasksQuery } from './dto/count-cleanup-tasks.query';
import { CreateCleanupTaskDto } from './dto/create-cleanup-task.dto';
import { ApiExportCleanupTasksQuery, ParseExportQueryPipe, type ExportCleanupTasksQuery } from './dto/export-cleanup-tasks.query';
import { ApiListCleanupTasksQuery, ParseListQueryPipe, type ListCleanupTasksQuery } from './dto/list-cleanup-tasks.query';
import { TaskCountsDto } from './dto/task-counts.dto';
import { ParseTaskIdPipe } from './task-id.pipe';
import { LIST_BUSY, NARROW_THE_QUERY } from './cleanup-tasks.repository';
import { writeChunks } from './streamed-response';
import { TaskExportService } from './task-export.service';
import { EXPORT_TOO_SLOW, exportBusyError } from './task-export.repository';

export const TASK_ID_PARAM = { name: 'id', description: "The cleanup task's prefixed id.", example: 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' } as const;

const LIST_DESCRIPTION = `
Tasks visible to the token (member tokens: their workspaces only — also inside \`parent\`/\`children\` traversal),
narrowed by \`ids\`, the equality shortcuts and \`filter\` (all ANDed), in \`orderBy\` order, one page at a time.

**Paging.** Keyset cursors, never offsets: pass a page's \`pageInfo.endCursor\` as \`after\` for the next page and
its \`startCursor\` as \`before\` for the previous one; \`data\` is always in the requested order. A cursor holds
its row's sort values (not a row reference), so it keeps working after that task changed or was deleted. It is
signed and bound to the query's \`filter\`, \`orderBy\`, shortcuts and \`ids\` (not to \`limit\`): a cursor of
another query, or an altered one, is a 400. \`hasNextPage\`/\`hasPreviousPage\` are exact in both directions and
\`total\` is the exact number of matching tasks, ignoring cursors and \`limit\`.

**Parameters** are each given at most once; an unknown or repeated parameter is a 400 naming it.
\`parent_id\` must be a well-formed task id (like \`ids\`); \`workspace_id\` and \`source_event_id\` are compared as
given. Strings compare and sort by byte order; enums by their text.

**Filter semantics**: see the \`CleanupTaskFilter\` schema. In short: a comparison on a NULL field is false except
\`neq\`/\`notIn\` (true); \`NOT\` is the exact complement; \`{}\` matches everything, \`AND: []\` is true, \`OR: []\`
false; \`children.every\` holds for a task without children. Timestamps are ISO 8601 date-times with an offset
(\`Z\`, \`±HH:MM\`, \`±HHMM\`, \`±HH\`; seconds optional, up to 6 fraction digits), or a date alone (UTC midnight). A JSON operand (\`metadata.contains\`) nests at most 32 levels.
`.trim();

const COUNTS_DESCRIPTION = `
How many tasks visible to the token (member tokens: their workspaces only) the query selects, per group of
\`groupBy\`: one or two of \`status\`, \`resource_type\`, \`workspace_id\`, comma-separated. \`ids\`, the shortcuts and
\`filter\` are the list's (same validation, same semantics); paging and order do not apply (\`limit\`, \`after\`,
\`before\`, \`orderBy\` are a 400).

Counts are exact and add up to \`total\`; groups without tasks are left out; groups are sorted by the \`groupBy\`
fields in the order given, in byte order. More than 1,000 groups is a 400 (\`too-many-groups\`): narrow the query.
A query that reads only the workspace, status and resource type (the shortcuts and filters on those, a member's
scope) is answered from per-(workspace, resource type, status) counters, whatever the number of tasks; any other
field is one aggregate over the matching tasks, within the list's time limit.
`.trim();

const EXPORT_DESCRIPTION = `
Every task visible to the token (member tokens: their workspaces only) that the query selects, in \`orderBy\` order,
in one streamed download: \`ids\`, the shortcuts, \`filter\` and \`orderBy\` are the list's; there are no pages
(\`limit\`, \`after\`, \`before\` are a 400). The export reads one snapshot of the database: tasks that change while
it streams appear as they were when it started.

**\`format=ndjson\`** (default, \`application/x-ndjson\`): each task's JSON, exactly as the list shows it, one per line.

**\`format=csv\`** (\`text/csv; charset=utf-8\`, RFC 4180, CRLF line ends, no byte order mark): a header row with the
field names in the task's field order, then a row per task. NULL is an empty field and an empty string is \`""\`;
fields with a comma, a quote or a line break are quoted (quotes doubled); timestamps are as in the JSON; \`metadata\`
is its JSON text; \`attempts\` is a plain integer. Against formula injection, a text field starting with \`=\`, \`+\`,
\`-\`, \`@\`, a tab or a carriage return gets a leading \`'\` (spreadsheets then show it as text): a resource id
\`-1\` reads \`'-1\`. NDJSON has every value unchanged.

Streamed as the client reads (memory stays flat for millions of tasks); a client that takes nothing for
\`STREAM_STALL_TIMEOUT_MS\` (30 s) is cut off. Busy (503) and time-outs of the query (504) are answered before
anything is sent; a failure after that cuts the connection, so a transfer that did not end properly is incomplete
(the chunked body lacks its last chunk) — never a shorter file that looks complete.
`.trim();

@ApiTags('Cleanup Tasks')
@Controller('api/cleanup-tasks')
export class CleanupTasksController {
  constructor(
    private readonly tasks: CleanupTasksService,
    private readonly exports: TaskExportService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Authenticated()
  @ApiOperation({
    summary: 'List cleanup tasks',
    description: LIST_DESCRIPTION,
  })
  @ApiListCleanupTasksQuery()
  @ApiOkResponse({ type: CleanupTaskPageDto })
  @ApiProblem(400, 'Invalid parameters: `errors` names each one by its path (`limit`, `ids[2]`, `filter.OR[1].attempts.gt`, `orderBy[0].metadata`, `after`, an unknown or repeated parameter).', {
    detail: 'filter.OR[1].attempts.gt: expected integer',
    errors: [{ path: 'filter.OR[1].attempts.gt', message: 'expected integer' }],
  })
  @ApiProblem(414, 'The request line is longer than 64 KiB.')
  @ApiDomainProblem('Every connection of the list is busy (for as long as a query may run): retry after `Retry-After` seconds.', new ServiceBusyError(LIST_BUSY, 1))
  @ApiDomainProblem('The query ran past `LIST_QUERY_TIMEOUT_MS` (15 s by default) and was cancelled; `detail` says how to narrow it.', new QueryTimeoutError(15_000, NARROW_THE_QUERY))
  // The page arrives serialised (the tasks' JSON is built by PostgreSQL).
  @Header('Content-Type', 'application/json; charset=utf-8')
  async list(@Query(ParseListQueryPipe) query: ListCleanupTasksQuery, @CurrentPrincipal() principal: Principal): Promise<string> {
    return this.tasks.list(query, principal.workspaceIds);
  }

  // counts and export are declared before `:id`: Express tries routes in
  // the order Nest registers them (declaration order), and `:id` would take
  // "counts" for a (malformed) task id.
  @Get('counts')
  @Authenticated()
  @ApiOperation({
    summary: 'Count cleanup tasks per status, resource type or workspace',
    description: COUNTS_DESCRIPTION,
  })
  @ApiCountCleanupTasksQuery()
  @ApiOkResponse({ type: TaskCountsDto })
  // One 400 per operation in OpenAPI: the example is the counts' own one; validation problems are as for the list.
  @ApiDomainProblem(
    'More than 1,000 groups (`too-many-groups`, the example): narrow the query, or group by fewer fields. Or invalid parameters (`validation-failed`, ' +
      '`errors` naming each path, as for the list): also `limit`, `after`, `before` or `orderBy`, and a missing or invalid `groupBy` (`groupBy[1]`: expected status, resource_type or workspace_id).',
    new TooManyGroupsError(),
  )
  @ApiProblem(414, 'The request line is longer than 64 KiB.')
  @ApiDomainProblem('Every connection of the list (which counts share) is busy: retry after `Retry-After` seconds.', new ServiceBusyError(LIST_BUSY, 1))
  @ApiDomainProblem('The query ran past `LIST_QUERY_TIMEOUT_MS` (15 s by default) and was cancelled; `detail` says how to narrow it.', new QueryTimeoutError(15_000, NARROW_THE_QUERY))
  async counts(@Query(ParseCountsQueryPipe) query: CountCleanupTasksQuery, @CurrentPrincipal() principal: Principal): Promise<TaskCountsDto> {
    return this.tasks.counts(query, principal.workspaceIds);
  }

  @Get('export')
  @Authenticated()
  @ApiOperation({
    summary: 'Export every matching cleanup task (NDJSON or CSV)',
    description: EXPORT_DESCRIPTION,
  })
  @ApiExportCleanupTasksQuery()
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiOkResponse({
    description: 'Every matching task, streamed as a download (`Content-Disposition: attachment`).',
    headers: {
      'Content-Disposition': {
        description: 'Always an attachment, named after the time of the export and the format.',
        schema: { type: 'string', example: 'attachment; filename="cleanup-tasks-20261205T101530Z.ndjson"' },
      },
    },
    content: {
      'application/x-ndjson': {
        schema: { type: 'string', description: 'One `CleanupTask` JSON object per line (`\n`-terminated), exactly as the list shows it.' },
        example: '{"id":"ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV","parentId":null,"workspaceId":"ws_acme",…}\n',
      },
      'text/csv': {
        schema: { type: 'string', description: 'RFC 4180, CRLF line ends, a header row of the field names; see the description for NULL, timestamps, metadata and formula neutralisation.' },
        example: 'id,parentId,workspaceId,sourceEventId,resourceType,resourceId,metadata,status,attempts,lastError,createdAt,completedAt\r\n' +
          'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV,,ws_acme,evt_123,delete_workspace,ws_acme,"{""region"": ""eu""}",failed,5,\'=cmd failed,2026-01-05T10:15:30.123Z,\r\n',
      },
    },
  })
  @ApiProblem(400, 'Invalid parameters (as for the list; also `limit`, `after` or `before`, and an unknown `format`), each named by its path.', {
    detail: 'format: expected one of ndjson, csv',
    errors: [{ path: 'format', message: 'expected one of ndjson, csv' }],
  })
  @ApiProblem(414, 'The request line is longer than 64 KiB.')
  @ApiDomainProblem('Every connection for exports (`EXPORT_POOL_SIZE`, 4 by default) is in use: retry after `Retry-After` seconds. Nothing was sent.', exportBusyError(4))
  @ApiDomainProblem('The query ran past `EXPORT_QUERY_TIMEOUT_MS` (15 s by default) before the first task and was cancelled; nothing was sent.', new QueryTimeoutError(15_000, EXPORT_TOO_SLOW))
  async export(@Query(ParseExportQueryPipe) query: ExportCleanupTasksQuery, @CurrentPrincipal() principal: Principal, @Res() response: Response): Promise<void> {
    const exported = await this.exports.exportTasks(query, principal.workspaceIds);
    response.status(200).setHeader('Content-Type', exported.contentType);
    response.setHeader('Content-Disposition', `attachment; filename="${exported.fileName}"`);
    await writeChunks(response, exported.chunks, this.config.STREAM_STALL_TIMEOUT_MS);
  }

  @Get(':id')
  @Authenticated()
  @ApiOperation({
    summary: 'Get a cleanup task',
    description: "A task by id. Member tokens see only their workspaces' tasks; any other id answers 404, as an unknown one does.",
  })
  @ApiParam(TASK_ID_PARAM)
  @ApiOkResponse({ type: CleanupTaskDto })
  @ApiProblem(400, 'Malformed id.', { detail: 'id: expected a cleanup task id: ct_ followed by 26 ULID characters', errors: [{ path: 'id', message: 'expected a cleanup task id: ct_ followed by 26 ULID characters' }] })
  @ApiProblem(404, "Unknown, or outside the token's workspaces (existence is not revealed).")
  // The task arrives serialised (its JSON is built by PostgreSQL, as for the list).
  @Header('Content-Type', 'application/json; charset=utf-8')
  async getById(@Param('id', ParseTaskIdPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<string> {
    return this.tasks.get(id, principal.workspaceIds);
  }

  @Post()
  @Authenticated({ roles: ['admin', 'service'] })
  @ApiOperation({
    summary: 'Enqueue a cleanup task',
    description:
      'Admin or service token. Enqueues a root task; the scheduler picks it up at once. Idempotent on (sourceEventId, resourceType, resourceId): delivering the same event again with the same body answers 200 with the task created the first time; the same key with another `workspaceId` or `metadata` (compared as JSON values: key order does not matter) is a 409 naming the existing task. A `delete_workspace` task deletes its own workspace: its `resourceId` must be its `workspaceId`.',
  })
  @ApiCreatedResponse({
    type: CleanupTaskDto,
    description: 'Enqueued.',
    headers: { Location: { description: 'The new task: `/api/cleanup-tasks/{id}`.', schema: { type: 'string', example: '/api/cleanup-tasks/ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' } } },
  })
  @ApiOkResponse({ type: CleanupTaskDto, description: 'Already enqueued for this event, with the same body: the existing task.' })
  @ApiProblem(400, 'Invalid body: `errors` lists each invalid input (also a `delete_workspace` whose `resourceId` is not its `workspaceId`).', {
    detail: `resourceId: ${DELETE_WORKSPACE_OWN_ID}`,
    errors: [{ path: 'resourceId', message: DELETE_WORKSPACE_OWN_ID }],
  })
  @ApiDomainProblem('This (sourceEventId, resourceType, resourceId) was enqueued before with another `workspaceId` or `metadata`; `existingTaskId` names that task.', idempotencyConflict('ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV'))
  @Header('Content-Type', 'application/json; charset=utf-8')
  async enqueue(@Body() body: CreateCleanupTaskDto, @Res({ passthrough: true }) response: Response): Promise<string> {
    const { id, task, created } = await this.tasks.enqueueAndGet(body);
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    if (created) response.setHeader('Location', `/api/cleanup-tasks/${id}`);
    return task;
  }

}
