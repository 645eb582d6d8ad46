import { DynamicModule, Module, type Type } from '@nestjs/common';
import { TaskCountsModule } from '@app/cleanup-tasks/task-counts.module';
import { AppConfig, AppConfigModule, ShutdownCallback } from '@app/common';
import { DatabaseModule } from '@app/database';
import { ResourcesModule } from '@app/resources';
import { SchedulerModule } from '@app/scheduler';
import { ProbeHandlersModule } from '@app/scheduler/testing/probe-handlers.module';

/**
 * Which handlers the worker runs: the reference resource handlers, or the
 * probe handlers (instrumented no-op/sleep/fail handlers for the multi-process
 * tests and the benchmark; never for real work).
 */
export type WorkerHandlers = 'reference' | 'probe';

export interface WorkerModuleOptions {
  config: AppConfig;
  databaseUrl: string;
  handlers: WorkerHandlers;
  /** Runs last when the worker shuts down (e.g. stopping the embedded PostgreSQL). */
  onShutdown?: () => Promise<void>;
}

const HANDLER_MODULES: Record<WorkerHandlers, Type> = { reference: ResourcesModule, probe: ProbeHandlersModule };

/** The worker deployable: database, scheduler and handlers; no HTTP. */
@Module({})
export class WorkerModule {
  static register({ config, databaseUrl, handlers, onShutdown }: WorkerModuleOptions): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        AppConfigModule.forRoot(config),
        DatabaseModule.forRoot({
          url: databaseUrl,
          poolSize: config.DATABASE_POOL_SIZE,
          applicationName: 'cleanup-tasks-worker',
          connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
        }),
        HANDLER_MODULES[handlers],
        SchedulerModule,
        TaskCountsModule,
      ],
      providers: [ShutdownCallback.provider(onShutdown)],
    };
  }
}
