import { Injectable } from '@nestjs/common';
import { AppConfig } from '@app/common';
import { MetricsRegistry } from '@app/observability/metrics/metrics-registry';
import { TableReadings } from '@app/observability/metrics/table-readings';
import { TaskQueueRepository } from './task-queue.repository';

/**
 * `cleanup_queue_ready_tasks` counts at most this many due tasks: reading it
 * stays cheap under a huge backlog (the count stops at the cap), and past
 * the cap the number matters less than the lag beside it.
 */
export const READY_TASKS_CAP = 100_000;

/**
 * The queue's table-wide gauges: due tasks and how long the oldest task a
 * claim could take now has waited (the lag: with fair claims, tasks held back
 * by their workspace's cap do not count). The same in every process
 * (dashboards take `max()`), read at most every 5 s per process (TableReadings).
 */
@Injectable()
export class QueueMetrics {
  constructor(registry: MetricsRegistry, readings: TableReadings, queue: TaskQueueRepository, config: AppConfig) {
    const workspaceCap = config.SCHEDULER_FAIR_CLAIMS ? config.SCHEDULER_WORKSPACE_CONCURRENCY : null;
    const stats = readings.create('the due queue', (db) => queue.readyQueueStats(READY_TASKS_CAP, workspaceCap, db));
    registry.gauge({
      name: 'cleanup_queue_ready_tasks',
      help: `Pending tasks that are due now, table-wide (counted up to ${READY_TASKS_CAP})`,
      async collect() {
        const value = await stats.get();
        if (value) this.set(value.ready);
      },
    });
    registry.gauge({
      name: 'cleanup_queue_oldest_ready_age_seconds',
      help: 'How long the earliest-due task that a claim could take now has been due (0 when none): the queue lag, table-wide; tasks held back by their workspace cap do not count',
      async collect() {
        const value = await stats.get();
        if (value) this.set(value.oldestAgeSeconds);
      },
    });
  }
}
