import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CleanupTask } from './cleanup-task.entity';
import { CleanupTasksRepository } from './cleanup-tasks.repository';
import { CleanupTaskCountsCompactor } from './task-counts.compactor';
import { TaskCountsMetrics } from './task-counts.metrics';

/**
 * Folds the task counters' deltas (written by triggers) into the counts table,
 * and exposes them as the `cleanup_tasks` gauge. Every deployable that writes
 * tasks imports it — the API and the worker — so the deltas never pile up,
 * whichever processes are running.
 */
@Module({
  imports: [TypeOrmModule.forFeature([CleanupTask])],
  providers: [CleanupTasksRepository, CleanupTaskCountsCompactor, TaskCountsMetrics],
  // One repository per application: the list module uses this one.
  exports: [CleanupTasksRepository],
})
export class TaskCountsModule {}
