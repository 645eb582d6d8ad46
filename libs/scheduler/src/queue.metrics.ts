import { Injectable } from '@nestjs/common';
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
 * The queue's table-wide gauges: due tasks and how long the oldest has
 * waited (the lag). The same in every process (dashboards take `max()`),
 * read at most every 5 s per process (TableReadings).
 */
@Injectable()
export class QueueMetrics {
  constructor(registry: MetricsRegistry, readings: TableReadings, queue: TaskQueueRepository) {
    const stats = readings.create('the due queue', (db) => queue.readyQueueStats(READY_TASKS_CAP, db));
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
      help: 'How long the earliest-due pending task has been due (0 when none is): the queue lag, table-wide',
      async collect() {
        const value = await stats.get();
        if (value) this.set(value.oldestAgeSeconds);
      },
    });
  }
}
