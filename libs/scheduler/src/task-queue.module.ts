import { Module } from '@nestjs/common';
import { QueueMetrics } from './queue.metrics';
import { SchedulerTelemetry } from './scheduler.telemetry';
import { TaskQueueRepository } from './task-queue.repository';

/**
 * The queue's SQL alone — the one owner of the queue columns (`status`
 * transitions, `run_at`, `locked_*`, `attempts_base`) — and its metrics. The
 * scheduler builds on it; the API imports it for the retry endpoint, also
 * in processes that run no scheduler (whose /metrics then lists the
 * scheduler's metrics at 0, like any process's).
 */
@Module({
  providers: [TaskQueueRepository, QueueMetrics, SchedulerTelemetry],
  exports: [TaskQueueRepository, SchedulerTelemetry],
})
export class TaskQueueModule {}
