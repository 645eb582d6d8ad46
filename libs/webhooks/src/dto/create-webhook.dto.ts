import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsOptional, IsString, IsUrl, Length, Matches, MaxLength } from 'class-validator';
import { IsStorableText } from '@app/common';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhook-events';

export const MAX_WEBHOOK_URL_LENGTH = 2000;

/** Subscribe a URL to cleanup events. */
export class CreateWebhookDto {
  @ApiProperty({
    description:
      'Where events are POSTed: an `http` or `https` URL. Its host must be a public address (checked on the resolved address at every delivery; an IP literal also here), unless the server runs with `WEBHOOKS_ALLOW_PRIVATE_TARGETS=true`. Redirects are not followed.',
    format: 'uri',
    maxLength: MAX_WEBHOOK_URL_LENGTH,
    example: 'https://hooks.example.com/cleanup-tasks',
  })
  @IsString()
  @MaxLength(MAX_WEBHOOK_URL_LENGTH)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_valid_protocol: true, require_tld: false }, { message: 'url must be an http or https URL' })
  @IsStorableText()
  url: string;

  @ApiProperty({
    enum: WEBHOOK_EVENT_TYPES,
    enumName: 'WebhookEventType',
    isArray: true,
    description:
      '`cleanup_task.tree.completed` / `cleanup_task.tree.failed`: a root task (a whole tree) reached that status. `cleanup_task.failed`: a task failed by itself (attempts exhausted or a permanent error), not a parent failing because a child failed.',
    example: ['cleanup_task.tree.completed', 'cleanup_task.tree.failed'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  events: WebhookEventType[];

  @ApiPropertyOptional({
    type: [String],
    nullable: true,
    description: 'Only events of tasks in these workspaces (1–100). Absent or null: every workspace.',
    example: ['ws_acme'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  @Matches(/^\S+$/, { each: true, message: 'workspaceIds must not contain white space' })
  @IsStorableText({ each: true })
  workspaceIds?: string[] | null;
}
