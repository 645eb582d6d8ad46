import { Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import { newId, ResourceNotFoundError, ValidationFailedError } from '@app/common';
import type { CreateWebhookDto } from './dto/create-webhook.dto';
import { WebhookSecretCipher } from './webhook-secret-cipher';
import { targetPolicy } from './webhook-sender';
import { WebhookSettings } from './webhook-settings';
import { newWebhookSecret } from './webhook-signature';
import { type DeliveryAttempt, type WebhookSubscription, WebhooksRepository } from './webhooks.repository';

/** How long a rotated-out secret keeps signing beside the new one. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** Attempts shown by GET /api/webhooks/{id}/deliveries. */
export const DELIVERY_LOG_LENGTH = 100;

/** Webhook subscriptions: create, list, delete, ping, rotate, and the deliveries log. */
@Injectable()
export class WebhooksService {
  private readonly refuse: (address: string) => string | undefined;

  constructor(
    private readonly repository: WebhooksRepository,
    private readonly cipher: WebhookSecretCipher,
    settings: WebhookSettings,
  ) {
    this.refuse = targetPolicy(settings.allowPrivateTargets);
  }

  /** A new subscription and its secret (which only this answer shows). */
  async create(input: CreateWebhookDto): Promise<{ subscription: WebhookSubscription; secret: string }> {
    this.checkTarget(input.url);
    const id = newId('wh');
    const secret = newWebhookSecret();
    const subscription = await this.repository.insert({
      id,
      url: input.url,
      events: [...input.events],
      workspaceIds: input.workspaceIds ?? null,
      storedSecret: this.cipher.seal(secret, id),
    });
    return { subscription, secret };
  }

  list(): Promise<WebhookSubscription[]> {
    return this.repository.list();
  }

  async delete(id: string): Promise<void> {
    if (!(await this.repository.delete(id))) throw new ResourceNotFoundError('Webhook', id);
  }

  /** A new secret; the old one keeps signing for SECRET_ROTATION_OVERLAP_MS (both signatures are sent meanwhile). */
  async rotateSecret(id: string): Promise<{ subscription: WebhookSubscription; secret: string }> {
    const secret = newWebhookSecret();
    const subscription = await this.repository.rotate(id, this.cipher.seal(secret, id), SECRET_ROTATION_OVERLAP_MS);
    if (!subscription) throw new ResourceNotFoundError('Webhook', id);
    return { subscription, secret };
  }

  /** Queues a `webhook.ping` to this subscription; its event id. */
  async ping(id: string): Promise<string> {
    const eventId = await this.repository.enqueuePing(id);
    if (eventId === null) throw new ResourceNotFoundError('Webhook', id);
    return eventId;
  }

  async deliveries(id: string): Promise<DeliveryAttempt[]> {
    if (!(await this.repository.exists(id))) throw new ResourceNotFoundError('Webhook', id);
    return this.repository.attempts(id, DELIVERY_LOG_LENGTH);
  }

  /**
   * An IP literal that deliveries would refuse is refused here already. A
   * host name is only resolved when delivering (at every attempt: what it
   * resolves to now says little about later).
   */
  private checkTarget(url: string): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ValidationFailedError([{ path: 'url', message: 'url must be an http or https URL' }]);
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    const range = isIP(host) ? this.refuse(host) : undefined;
    if (range) {
      throw new ValidationFailedError([{ path: 'url', message: `${host} is a ${range} address; webhook targets must be public unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true` }]);
    }
  }
}
