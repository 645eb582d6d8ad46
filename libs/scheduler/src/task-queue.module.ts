import { Module } from '@nestjs/common';
import { QueueMetrics } from './queue.metrics';
import { TaskQueueRepository } from './task-queue.repository';

/**
 * The queue's SQL alone — the one owner of the queue columns (`status`
 * transitions, `run_at`, `locked_*`, `attempts_base`) — and its gauges. The
 * scheduler builds on it; the API imports it for the retry endpoint, also
 * in processes that run no scheduler.
 */
@Module({
  providers: [TaskQueueRepository, QueueMetrics],
  exports: [TaskQueueRepository],
})
export class TaskQueueModule {}
