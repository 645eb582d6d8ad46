import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RESOURCE_TYPES, TASK_STATUSES, type ResourceType, type TaskStatus } from '../cleanup-task.enums';

/** One group: the values of the fields grouped by (only those), and how many tasks it holds. */
export class TaskCountGroupDto {
  @ApiPropertyOptional({ enum: TASK_STATUSES, description: 'With `groupBy` naming `status`.', example: 'failed' })
  status?: TaskStatus;

  @ApiPropertyOptional({ enum: RESOURCE_TYPES, description: 'With `groupBy` naming `resource_type`.', example: 'delete_app' })
  resourceType?: ResourceType;

  @ApiPropertyOptional({ description: 'With `groupBy` naming `workspace_id`.', example: 'ws_acme' })
  workspaceId?: string;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'Tasks in this group (exact; groups without tasks are left out).', example: 12 })
  count!: number;
}

/** `GET /api/cleanup-tasks/counts`. */
export class TaskCountsDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Every matching task: the sum of the counts.', example: 1234 })
  total!: number;

  @ApiProperty({ type: [TaskCountGroupDto], description: 'The non-empty groups, sorted by the `groupBy` fields in the order given (byte order); at most 1,000.' })
  groups!: TaskCountGroupDto[];
}
