import { Body, Controller, Get, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated, CurrentPrincipal, type Principal } from '@app/auth';
import { ApiProblem } from '@app/common';
import { CleanupTasksService } from './cleanup-tasks.service';
import { CleanupTaskDto } from './dto/cleanup-task.dto';
import { CreateCleanupTaskDto } from './dto/create-cleanup-task.dto';
import { ParseTaskIdPipe } from './task-id.pipe';

export const TASK_ID_PARAM = { name: 'id', description: "The cleanup task's prefixed id.", example: 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' } as const;

@ApiTags('Cleanup Tasks')
@Controller('api/cleanup-tasks')
export class CleanupTasksController {
  constructor(private readonly tasks: CleanupTasksService) {}

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
  async getById(@Param('id', ParseTaskIdPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<CleanupTaskDto> {
    return CleanupTaskDto.from(await this.tasks.getById(id, principal.workspaceIds));
  }

  @Post()
  @Authenticated({ roles: ['admin', 'service'] })
  @ApiOperation({
    summary: 'Enqueue a cleanup task',
    description:
      'Admin or service token. Enqueues a root task; the scheduler picks it up at once. Idempotent on (sourceEventId, resourceType, resourceId): delivering the same event again answers 200 with the task created the first time.',
  })
  @ApiCreatedResponse({ type: CleanupTaskDto, description: 'Enqueued.' })
  @ApiOkResponse({ type: CleanupTaskDto, description: 'Already enqueued for this event: the existing task.' })
  @ApiProblem(400, 'Invalid body: `errors` lists each invalid input.', { detail: 'resourceType: resourceType must be one of the following values: delete_workspace, delete_app, delete_element, delete_database', errors: [{ path: 'resourceType', message: 'resourceType must be one of the following values: delete_workspace, delete_app, delete_element, delete_database' }] })
  async enqueue(@Body() body: CreateCleanupTaskDto, @Res({ passthrough: true }) response: Response): Promise<CleanupTaskDto> {
    const { task, created } = await this.tasks.enqueue(body);
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return CleanupTaskDto.from(task);
  }
}
