import { ApiProperty } from '@nestjs/swagger';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhook-events';
import type { WebhookSubscription } from '../webhooks.repository';

export class WebhookDto {
  @ApiProperty({ example: 'wh_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' })
  id: string;

  @ApiProperty({ format: 'uri', example: 'https://hooks.example.com/cleanup-tasks' })
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, enumName: 'WebhookEventType', isArray: true, example: ['cleanup_task.tree.completed', 'cleanup_task.tree.failed'] })
  events: WebhookEventType[];

  @ApiProperty({ type: [String], nullable: true, description: 'Workspaces whose events are sent; null: every workspace.', example: ['ws_acme'] })
  workspaceIds: string[] | null;

  @ApiProperty({ format: 'date-time', example: '2026-11-29T10:15:30.123Z' })
  createdAt: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'After a rotation: until when the previous secret still signs too (24 h). Null otherwise.',
    example: null,
  })
  previousSecretExpiresAt: string | null;

  static from(subscription: WebhookSubscription): WebhookDto {
    return Object.assign(new WebhookDto(), {
      id: subscription.id,
      url: subscription.url,
      events: subscription.events,
      workspaceIds: subscription.workspaceIds,
      createdAt: subscription.createdAt.toISOString(),
      previousSecretExpiresAt: subscription.previousSecretExpiresAt?.toISOString() ?? null,
    });
  }
}

export class CreatedWebhookDto extends WebhookDto {
  @ApiProperty({
    description:
      'The signing secret (`whsec_` + base64 of 32 random bytes), shown only in this response. Verify `webhook-signature` with it as the Standard Webhooks specification says.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw5yYZlbKGaUc=',
  })
  secret: string;

  static withSecret(subscription: WebhookSubscription, secret: string): CreatedWebhookDto {
    return Object.assign(new CreatedWebhookDto(), WebhookDto.from(subscription), { secret });
  }
}
