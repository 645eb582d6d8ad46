import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '@app/auth';
import { ApiProblem } from '@app/common';
import { CreateWebhookDto } from './dto/create-webhook.dto';
import { WebhookDeliveryAttemptDto, WebhookPingDto } from './dto/webhook-delivery-attempt.dto';
import { CreatedWebhookDto, WebhookDto } from './dto/webhook.dto';
import { MALFORMED_WEBHOOK_ID, ParseWebhookIdPipe } from './webhook-id.pipe';
import { DELIVERY_LOG_LENGTH, WebhooksService } from './webhooks.service';

const WEBHOOK_ID_PARAM = { name: 'id', description: "The webhook's id.", example: 'wh_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' } as const;
const MalformedIdProblem = () => ApiProblem(400, 'Malformed id.', { detail: `id: ${MALFORMED_WEBHOOK_ID}`, errors: [{ path: 'id', message: MALFORMED_WEBHOOK_ID }] });
const UnknownWebhookProblem = () => ApiProblem(404, 'No webhook has this id.');

const CREATE_DESCRIPTION = `
Admin. Subscribes \`url\` to events; the answer carries the signing \`secret\`, shown only here.

**Delivery.** Each event is a \`POST\` with a JSON body \`{"type", "timestamp", "data"}\` (\`data\`: the task as
\`GET /api/cleanup-tasks/{id}\` showed it when the event happened), signed as the Standard Webhooks specification
says: \`webhook-id\` (the event's id, the same on every retry: use it to drop duplicates), \`webhook-timestamp\`
(Unix seconds of the attempt) and \`webhook-signature\` (\`v1,\` + base64 of HMAC-SHA256 over
\`{webhook-id}.{webhook-timestamp}.{body}\` with the base64-decoded part of the secret after \`whsec_\`). Any 2xx
within 10 s ends the delivery; anything else (redirects included: they are not followed) is retried with
exponential backoff and jitter, up to \`WEBHOOK_MAX_ATTEMPTS\` (10) attempts.

At least once, in no guaranteed order: an event may arrive twice, and events may arrive in another order than
they happened (compare \`timestamp\`, or read the task).
`.trim();

@ApiTags('Webhooks')
@Authenticated({ admin: true })
@Controller('api/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({ summary: 'Create a webhook', description: CREATE_DESCRIPTION })
  @ApiCreatedResponse({ type: CreatedWebhookDto })
  @ApiProblem(400, 'Invalid body: `errors` names each invalid input (an unknown event, a URL that is not http(s), a private IP address as target, …).', {
    detail: 'url: 127.0.0.1 is a loopback address; webhook targets must be public unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true',
    errors: [{ path: 'url', message: '127.0.0.1 is a loopback address; webhook targets must be public unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true' }],
  })
  async create(@Body() body: CreateWebhookDto): Promise<CreatedWebhookDto> {
    const { subscription, secret } = await this.webhooks.create(body);
    return CreatedWebhookDto.withSecret(subscription, secret);
  }

  @Get()
  @ApiOperation({ summary: 'List webhooks', description: 'Admin. Every webhook, oldest first. Secrets are never listed.' })
  @ApiOkResponse({ type: [WebhookDto] })
  async list(): Promise<WebhookDto[]> {
    return (await this.webhooks.list()).map((subscription) => WebhookDto.from(subscription));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook', description: 'Admin. No more events are sent to it, including those not delivered yet; its deliveries log goes with it.' })
  @ApiParam(WEBHOOK_ID_PARAM)
  @ApiNoContentResponse({ description: 'Deleted.' })
  @MalformedIdProblem()
  @UnknownWebhookProblem()
  async delete(@Param('id', ParseWebhookIdPipe) id: string): Promise<void> {
    await this.webhooks.delete(id);
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: "A webhook's latest delivery attempts",
    description: `Admin. The last ${DELIVERY_LOG_LENGTH} attempts, newest first: the receiver's status code, how long it took, and why it failed. Kept until the event is purged (\`WEBHOOK_RETENTION_DAYS\` after it was delivered or given up).`,
  })
  @ApiParam(WEBHOOK_ID_PARAM)
  @ApiOkResponse({ type: [WebhookDeliveryAttemptDto] })
  @MalformedIdProblem()
  @UnknownWebhookProblem()
  async deliveries(@Param('id', ParseWebhookIdPipe) id: string): Promise<WebhookDeliveryAttemptDto[]> {
    return (await this.webhooks.deliveries(id)).map((attempt) => WebhookDeliveryAttemptDto.from(attempt));
  }

  @Post(':id/ping')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Send a test event',
    description: 'Admin. Queues a `webhook.ping` event (`data: {"webhookId"}`) to this webhook only, signed and retried like any other; its attempts show under the deliveries.',
  })
  @ApiParam(WEBHOOK_ID_PARAM)
  @ApiAcceptedResponse({ type: WebhookPingDto, description: 'Queued.' })
  @MalformedIdProblem()
  @UnknownWebhookProblem()
  async ping(@Param('id', ParseWebhookIdPipe) id: string): Promise<WebhookPingDto> {
    return { eventId: await this.webhooks.ping(id) };
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    summary: "Rotate a webhook's secret",
    description:
      'Admin. A new secret, shown only in this answer. For the next 24 h (`previousSecretExpiresAt`) every message carries two signatures, space-separated in `webhook-signature`: one with the new secret and one with the old, so receivers can switch at their pace. Rotating again within those 24 h ends the oldest secret at once.',
  })
  @ApiParam(WEBHOOK_ID_PARAM)
  @ApiOkResponse({ type: CreatedWebhookDto, description: 'The webhook with its new secret.' })
  @MalformedIdProblem()
  @UnknownWebhookProblem()
  async rotateSecret(@Param('id', ParseWebhookIdPipe) id: string): Promise<CreatedWebhookDto> {
    const { subscription, secret } = await this.webhooks.rotateSecret(id);
    return CreatedWebhookDto.withSecret(subscription, secret);
  }
}
