import { ApiProperty } from '@nestjs/swagger';
import type { DeliveryAttempt } from '../webhooks.repository';

export class WebhookDeliveryAttemptDto {
  @ApiProperty({ description: 'The event (`webhook-id`), the same on every attempt.', example: 'msg_0193c5b0f2a04c1e9d7b2f6a8c3e5d71' })
  eventId: string;

  @ApiProperty({ example: 'cleanup_task.tree.completed' })
  eventType: string;

  @ApiProperty({ description: 'Which attempt of this delivery (1 = the first).', example: 1 })
  attempt: number;

  @ApiProperty({ format: 'date-time', example: '2026-11-29T10:15:30.123Z' })
  attemptedAt: string;

  @ApiProperty({ description: 'From sending to the end of the answer, in milliseconds.', example: 84 })
  durationMs: number;

  @ApiProperty({ type: Number, nullable: true, description: "The receiver's HTTP status; null when none came (refused target, connection error, timeout).", example: 200 })
  statusCode: number | null;

  @ApiProperty({ type: String, nullable: true, description: 'Why the attempt failed; null when it delivered.', example: null })
  error: string | null;

  @ApiProperty({
    enum: ['pending', 'delivered', 'failed'],
    description: 'Where this event stands for this webhook now: `pending` (more attempts to come), `delivered`, or `failed` (given up after `WEBHOOK_MAX_ATTEMPTS`).',
    example: 'delivered',
  })
  deliveryStatus: 'pending' | 'delivered' | 'failed';

  static from(attempt: DeliveryAttempt): WebhookDeliveryAttemptDto {
    return Object.assign(new WebhookDeliveryAttemptDto(), { ...attempt, attemptedAt: attempt.attemptedAt.toISOString() });
  }
}

export class WebhookPingDto {
  @ApiProperty({ description: 'The `webhook.ping` event put in the outbox; see its attempts under `GET /api/webhooks/{id}/deliveries`.', example: 'msg_0193c5b0f2a04c1e9d7b2f6a8c3e5d71' })
  eventId: string;
}
