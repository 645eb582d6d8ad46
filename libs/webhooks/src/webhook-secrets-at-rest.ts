import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SEALED_PREFIX, WebhookSecretCipher } from './webhook-secret-cipher';
import { WebhooksRepository } from './webhooks.repository';

/**
 * At start-up: without WEBHOOK_SECRETS_KEY, warns that webhook secrets are
 * stored in the clear; with it, seals the secrets stored in the clear
 * before it was set, so that from then on a dump of the database alone
 * cannot forge signatures.
 */
@Injectable()
export class WebhookSecretsAtRest implements OnApplicationBootstrap {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly cipher: WebhookSecretCipher,
    private readonly repository: WebhooksRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.cipher.encrypts) {
      this.logger.warn('WEBHOOK_SECRETS_KEY is not set: webhook signing secrets are stored in the clear (whoever reads the database can sign webhooks)');
      return;
    }
    let sealed = 0;
    for (const stored of await this.repository.findUnsealedSecrets(SEALED_PREFIX)) {
      const seal = (secret: string) => (this.cipher.isSealed(secret) ? secret : this.cipher.seal(secret, stored.id));
      const after = { id: stored.id, secret: seal(stored.secret), previousSecret: stored.previousSecret === null ? null : seal(stored.previousSecret) };
      if (await this.repository.replaceSecrets(stored, after)) sealed++;
    }
    if (sealed > 0) this.logger.log(`sealed ${sealed} webhook secret(s) stored in the clear before WEBHOOK_SECRETS_KEY was set`);
  }
}
