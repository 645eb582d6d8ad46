import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@app/observability/metrics/metrics-registry';
import { TableReadings } from '@app/observability/metrics/table-readings';
import { RESOURCE_TYPES, TASK_STATUSES } from './cleanup-task.enums';
import { CleanupTasksRepository } from './cleanup-tasks.repository';

/**
 * `cleanup_tasks{status, resource_type}`: the table's tasks, from the
 * counters (never a count over the table), read at most every 5 s per
 * process. Every pair is set, zeros included, so that no series vanishes
 * when its last task does.
 */
@Injectable()
export class TaskCountsMetrics {
  constructor(registry: MetricsRegistry, readings: TableReadings, repository: CleanupTasksRepository) {
    const counts = readings.create('the task counters', (db) => repository.countByTypeAndStatus(db));
    registry.gauge({
      name: 'cleanup_tasks',
      help: 'Tasks in the table by status and resource type (table-wide, from the counters)',
      labelNames: ['status', 'resource_type'] as const,
      async collect() {
        const rows = await counts.get();
        if (!rows) return;
        for (const status of TASK_STATUSES) {
          for (const resourceType of RESOURCE_TYPES) {
            const row = rows.find((candidate) => candidate.status === status && candidate.resourceType === resourceType);
            this.set({ status, resource_type: resourceType }, row?.count ?? 0);
          }
        }
      },
    });
  }
}
