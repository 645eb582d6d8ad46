import { ApiProperty } from '@nestjs/swagger';
import { RESOURCE_TYPES, TASK_STATUSES, type ResourceType, type TaskStatus } from '../cleanup-task.enums';

/**
 * A cleanup task as the API shows it (never the entity: the scheduler's
 * columns stay inside). The schema of the answers; the JSON itself is built
 * by PostgreSQL (`taskContractJson`), in this order and these formats.
 */
export class CleanupTaskDto {
  @ApiProperty({ description: 'Prefixed, URL-safe, time-sortable id: `ct_` + ULID.', example: 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV', pattern: '^ct_[0-9A-HJKMNP-TV-Z]{26}$' })
  id: string;

  @ApiProperty({ type: String, nullable: true, description: "The parent task's id; null for a root task.", example: null })
  parentId: string | null;

  @ApiProperty({ description: 'The workspace whose resources are cleaned up.', example: 'ws_acme' })
  workspaceId: string;

  @ApiProperty({ type: String, nullable: true, description: 'The event that spawned the task (e.g. a `workspace.deleted` event id).', example: 'evt_2f9c1d' })
  sourceEventId: string | null;

  @ApiProperty({ enum: RESOURCE_TYPES, enumName: 'ResourceType', example: 'delete_workspace' })
  resourceType: ResourceType;

  @ApiProperty({ description: 'Id of the resource to delete.', example: 'ws_acme' })
  resourceId: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Free JSON object; `{}` when empty, never null.', example: { requestedBy: 'ops@acme.test' } })
  metadata: Record<string, unknown>;

  @ApiProperty({ enum: TASK_STATUSES, enumName: 'TaskStatus', example: 'pending' })
  status: TaskStatus;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Executions started so far.', example: 0 })
  attempts: number;

  @ApiProperty({ type: String, nullable: true, description: 'Message of the most recent failed attempt.', example: null })
  lastError: string | null;

  @ApiProperty({ format: 'date-time', description: 'ISO 8601 UTC with milliseconds.', example: '2026-11-29T10:15:30.123Z' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Set when the status becomes `completed`.', example: null })
  completedAt: string | null;
}
