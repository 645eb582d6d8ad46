import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AppConfig } from '@app/common';
import { DueTaskListener } from './due-task.listener';
import { HandlerRegistry } from './handler-registry';
import { RetentionSweeper } from './retention.sweeper';
import { SchedulerSettings } from './scheduler-settings';
import { StaleLeaseSweeper } from './stale-lease.sweeper';
import { TaskQueueModule } from './task-queue.module';
import { TaskClaimer } from './task-claimer';
import { TaskSettlement } from './task-settlement';
import { TaskWorker } from './task-worker';

/**
 * Task execution: import it in a process that should run cleanup tasks
 * (the API unless SCHEDULER_ENABLED=false, and the worker deployable). The
 * handlers come from elsewhere (ResourcesModule, or a team's own module):
 * every provider marked @CleanupHandler is found at boot. Its sweeps are
 * @nestjs/schedule jobs: the deployable's root module imports
 * `ScheduleModule.forRoot()` (once per application).
 */
@Module({
  imports: [DiscoveryModule, TaskQueueModule],
  providers: [
    { provide: SchedulerSettings, useFactory: (config: AppConfig) => SchedulerSettings.from(config), inject: [AppConfig] },
    TaskSettlement,
    TaskClaimer,
    HandlerRegistry,
    DueTaskListener,
    TaskWorker,
    StaleLeaseSweeper,
    RetentionSweeper,
  ],
  exports: [TaskWorker, StaleLeaseSweeper, RetentionSweeper],
})
export class SchedulerModule {}
