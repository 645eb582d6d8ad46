import { DynamicModule, Module, type Type } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TaskCountsModule } from '@app/cleanup-tasks/task-counts.module';
import { AppConfig, AppConfigModule, ShutdownCallback } from '@app/common';
import { DatabaseModule } from '@app/database';
import { MetricsListenerModule, ObservabilityModule } from '@app/observability';
import { SchedulerModule } from '@app/scheduler';
import { WebhookDeliveryModule } from '@app/webhooks';

export interface WorkerModuleOptions {
  config: AppConfig;
  databaseUrl: string;
  /**
   * The module providing the @CleanupHandler classes: ResourcesModule in the
   * deployable; the tests' probe worker (test/support/probe-worker) swaps in
   * instrumented handlers.
   */
  handlers: Type;
  /** Runs last when the worker shuts down (e.g. stopping the embedded PostgreSQL). */
  onShutdown?: () => Promise<void>;
}

/** The worker deployable: database, scheduler, handlers and webhook delivery; no HTTP but an optional `/metrics` listener. */
@Module({})
export class WorkerModule {
  static register({ config, databaseUrl, handlers, onShutdown }: WorkerModuleOptions): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        AppConfigModule.forRoot(config),
        // No read replica: a worker only claims and writes.
        DatabaseModule.forRoot({
          url: databaseUrl,
          poolSize: config.DATABASE_POOL_SIZE,
          applicationName: 'cleanup-tasks-worker',
          connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
          directUrl: config.DATABASE_DIRECT_URL,
        }),
        // Runs every @Interval/@Cron/@Timeout job of the modules below (the counters' compaction, the scheduler's sweeps).
        ScheduleModule.forRoot(),
        handlers,
        ObservabilityModule,
        // No API here: `/metrics` gets a listener of its own when METRICS_PORT is set.
        ...(config.METRICS_PORT === undefined ? [] : [MetricsListenerModule]),
        SchedulerModule,
        WebhookDeliveryModule,
        TaskCountsModule,
      ],
      providers: [ShutdownCallback.provider(onShutdown)],
    };
  }
}
