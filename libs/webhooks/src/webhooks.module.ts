import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AppConfig } from '@app/common';
import { WebhookDeliveryQueue } from './webhook-delivery-queue.repository';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { WebhookRetentionSweeper } from './webhook-retention.sweeper';
import { WebhookSecretCipher } from './webhook-secret-cipher';
import { WebhookSecretsAtRest } from './webhook-secrets-at-rest';
import { WebhookSettings } from './webhook-settings';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** Settings, secrets at rest and subscriptions: what both the admin API and delivery need, once per process. */
@Module({
  providers: [
    { provide: WebhookSettings, useFactory: (config: AppConfig) => WebhookSettings.from(config), inject: [AppConfig] },
    { provide: WebhookSecretCipher, useFactory: (config: AppConfig) => new WebhookSecretCipher(config.WEBHOOK_SECRETS_KEY), inject: [AppConfig] },
    WebhooksRepository,
    WebhookSecretsAtRest,
  ],
  exports: [WebhookSettings, WebhookSecretCipher, WebhooksRepository],
})
export class WebhookCoreModule {}

/** The admin API of webhooks (`/api/webhooks`): every API process. */
@Module({
  imports: [WebhookCoreModule],
  controllers: [WebhooksController],
  providers: [WebhooksService],
})
export class WebhooksModule {}

/**
 * Delivery of the webhook outbox and its retention: import it where the
 * scheduler runs (the API with SCHEDULER_ENABLED, the worker deployable).
 */
@Module({
  imports: [WebhookCoreModule, ScheduleModule.forRoot()],
  providers: [WebhookDeliveryQueue, WebhookDeliveryWorker, WebhookRetentionSweeper],
  exports: [WebhookDeliveryWorker, WebhookRetentionSweeper],
})
export class WebhookDeliveryModule {}
