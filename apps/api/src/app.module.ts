import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '@app/auth';
import { CleanupTasksModule } from '@app/cleanup-tasks';
import { AppConfig, AppConfigModule, createValidationPipe, ProblemDetailsFilter, ShutdownCallback } from '@app/common';
import { DatabaseModule } from '@app/database';
import { MetricsEndpointModule, ObservabilityModule } from '@app/observability';
import { ResourcesModule } from '@app/resources';
import { SchedulerModule } from '@app/scheduler';
import { WebhookDeliveryModule, WebhooksModule } from '@app/webhooks';
import { HealthController } from './health/health.controller';
import { RateLimitModule } from './http/rate-limit.module';

export interface AppModuleOptions {
  config: AppConfig;
  /** The resolved database: DATABASE_URL, or the embedded server's URL. */
  databaseUrl: string;
  /** Runs last when the application shuts down (e.g. stopping the embedded PostgreSQL). */
  onShutdown?: () => Promise<void>;
}

@Module({})
export class AppModule {
  static register({ config, databaseUrl, onShutdown }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        DatabaseModule.forRoot({
          url: databaseUrl,
          poolSize: config.DATABASE_POOL_SIZE,
          connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
          directUrl: config.DATABASE_DIRECT_URL,
          readUrl: config.DATABASE_READ_URL,
          readReplicaMaxLagMs: config.READ_REPLICA_MAX_LAG_MS,
        }),
        // Runs every @Interval/@Cron/@Timeout job of the modules below (the counters' compaction, the scheduler's sweeps).
        ScheduleModule.forRoot(),
        ObservabilityModule,
        MetricsEndpointModule,
        TerminusModule,
        RateLimitModule,
        AuthModule,
        CleanupTasksModule,
        ResourcesModule,
        WebhooksModule,
        // Task execution (and webhook delivery) in this process unless SCHEDULER_ENABLED=false (e.g. API-only replicas beside workers).
        ...(config.SCHEDULER_ENABLED ? [SchedulerModule, WebhookDeliveryModule] : []),
      ],
      controllers: [HealthController],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        ShutdownCallback.provider(onShutdown),
      ],
    };
  }
}
