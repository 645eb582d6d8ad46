import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';
import { IsStorableJson, IsStorableText, MAX_JSON_DEPTH } from '@app/common';
import { RESOURCE_TYPES, type ResourceType } from '../cleanup-task.enums';

const NO_WHITESPACE = /^\S+$/;

/** Enqueue a root task, e.g. on a `workspace.deleted` event. */
export class CreateCleanupTaskDto {
  @ApiProperty({ enum: RESOURCE_TYPES, enumName: 'ResourceType', example: 'delete_workspace' })
  @IsIn(RESOURCE_TYPES)
  resourceType: ResourceType;

  @ApiProperty({ description: 'Id of the resource to delete.', example: 'ws_acme', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  @Matches(NO_WHITESPACE, { message: 'resourceId must not contain white space' })
  @IsStorableText()
  resourceId: string;

  @ApiProperty({ description: 'The workspace whose resources are cleaned up.', example: 'ws_acme', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  @Matches(NO_WHITESPACE, { message: 'workspaceId must not contain white space' })
  @IsStorableText()
  workspaceId: string;

  @ApiPropertyOptional({
    description: 'The event this task answers. With it, delivering the same event again is idempotent: the same (sourceEventId, resourceType, resourceId) returns the existing task with 200.',
    example: 'evt_2f9c1d',
    minLength: 1,
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @IsStorableText()
  sourceEventId?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: `Free JSON object stored with the task: arrays and objects nested at most ${MAX_JSON_DEPTH} levels, text without NUL (\\u0000) or lone surrogates.`,
    example: { requestedBy: 'ops@acme.test' },
  })
  @IsOptional()
  @IsObject()
  @IsStorableJson()
  metadata?: Record<string, unknown>;
}
