import { Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated } from '@app/auth';
import { ApiDomainProblem, ApiProblem, AppConfig, QueryTimeoutError } from '@app/common';
import { CleanupTaskOperationsService } from './cleanup-task-operations.service';
import { TASK_ID_PARAM } from './cleanup-tasks.controller';
import { CleanupTaskDto } from './dto/cleanup-task.dto';
import { RetryResultDto } from './dto/retry-result.dto';
import { writeChunks } from './streamed-response';
import { ParseTaskIdPipe } from './task-id.pipe';
import { TREE_TOO_LARGE, treeBusyError } from './task-tree.repository';

const MALFORMED_ID = 'expected a cleanup task id: ct_ followed by 26 ULID characters';
const MalformedIdProblem = () => ApiProblem(400, 'Malformed id.', { detail: `id: ${MALFORMED_ID}`, errors: [{ path: 'id', message: MALFORMED_ID }] });

/** Admin operations on task trees (beside CleanupTasksController, same prefix). */
@ApiTags('Cleanup Tasks')
@Controller('api/cleanup-tasks')
export class CleanupTaskOperationsController {
  constructor(
    private readonly operations: CleanupTaskOperationsService,
    private readonly config: AppConfig,
  ) {}

  @Post(':id/retry')
  @HttpCode(200)
  @Authenticated({ admin: true })
  @ApiOperation({
    summary: 'Retry a failed cleanup task',
    description:
      'Re-queues a `failed` task: it becomes `pending` and is picked up at once. Its failed descendants are re-queued with it (a parent fails because a child failed, so retrying the parent alone would fail again). `attempts` keeps counting; the retry grants a fresh budget of automatic attempts. Any other status answers 409 with `currentStatus`.',
  })
  @ApiParam(TASK_ID_PARAM)
  @ApiOkResponse({ type: RetryResultDto, description: 'Re-queued.' })
  @MalformedIdProblem()
  @ApiProblem(404, 'Unknown task.')
  @ApiProblem(409, 'The task is not `failed`; `currentStatus` says what it is.', {
    code: 'task-not-failed',
    detail: 'Cleanup task ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV is in_progress; only a failed task can be retried.',
    currentStatus: 'in_progress',
  })
  async retry(@Param('id', ParseTaskIdPipe) id: string): Promise<RetryResultDto> {
    await this.operations.retry(id);
    return { ok: true };
  }

  @Get(':id/tree')
  @Authenticated({ admin: true })
  @ApiOperation({
    summary: 'Get a cleanup task with all its descendants',
    description:
      'The task and every descendant as one flat JSON array: the task first, then by depth, then `createdAt`, then `id`. Safe against cyclic parent links. Streamed from a database cursor, so large trees (100,000 tasks) answer without being held in memory; a failure half-way ends the response early (the JSON is then incomplete).',
  })
  @ApiParam(TASK_ID_PARAM)
  @ApiProduces('application/json')
  @ApiOkResponse({ type: [CleanupTaskDto], description: 'The tree, root first.' })
  @MalformedIdProblem()
  @ApiProblem(404, 'Unknown task.')
  @ApiDomainProblem('Every connection for tree downloads (`TREE_POOL_SIZE`, 4 by default) is in use: retry after `Retry-After` seconds.', treeBusyError(4))
  @ApiDomainProblem('Reading the tree ran past `TREE_QUERY_TIMEOUT_MS` (15 s by default) and was cancelled; nothing was sent.', new QueryTimeoutError(15_000, TREE_TOO_LARGE))
  async tree(@Param('id', ParseTaskIdPipe) id: string, @Res() response: Response): Promise<void> {
    const batches = await this.operations.tree(id);
    response.status(200).type('application/json');
    await writeChunks(response, jsonArrayChunks(batches), this.config.STREAM_STALL_TIMEOUT_MS);
  }
}

/** Batches of JSON texts as the chunks of one JSON array (`[]` when there are none). */
async function* jsonArrayChunks(batches: AsyncIterable<string[]>): AsyncGenerator<string> {
  let opened = false;
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    yield (opened ? ',' : '[') + batch.join(',');
    opened = true;
  }
  yield opened ? ']' : '[]';
}
