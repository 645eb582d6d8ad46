import { Body, Controller, Get, Header, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated, CurrentPrincipal, type Principal } from '@app/auth';
import { ApiDomainProblem, ApiProblem, QueryTimeoutError, ServiceBusyError } from '@app/common';
import { CleanupTasksService, DELETE_WORKSPACE_OWN_ID, idempotencyConflict } from './cleanup-tasks.service';
import { CleanupTaskPageDto } from './dto/cleanup-task-page.dto';
import { CleanupTaskDto } from './dto/cleanup-task.dto';
import { CreateCleanupTaskDto } from './dto/create-cleanup-task.dto';
import { ApiListCleanupTasksQuery, ParseListQueryPipe, type ListCleanupTasksQuery } from './dto/list-cleanup-tasks.query';
import { ParseTaskIdPipe } from './task-id.pipe';
import { LIST_BUSY, NARROW_THE_QUERY } from './cleanup-tasks.repository';

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

@ApiTags('Cleanup Tasks')
@Controller('api/cleanup-tasks')
export class CleanupTasksController {
  constructor(private readonly tasks: CleanupTasksService) {}

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
