import { Module } from '@nestjs/common';
import { TaskQueueRepository } from './task-queue.repository';

/**
 * The queue's SQL alone — the one owner of the queue columns (`status`
 * transitions, `run_at`, `locked_*`, `attempts_base`). The scheduler builds
 * on it; the API imports it for the retry endpoint, also in processes that
 * run no scheduler.
 */
@Module({
  providers: [TaskQueueRepository],
  exports: [TaskQueueRepository],
})
export class TaskQueueModule {}
