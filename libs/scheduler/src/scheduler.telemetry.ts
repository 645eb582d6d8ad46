import { Injectable } from '@nestjs/common';
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { RESOURCE_TYPES, type ResourceType } from '@app/cleanup-tasks/cleanup-task.enums';
import { MetricsRegistry } from '@app/observability/metrics/metrics-registry';
import { contextOfTraceParent, serviceTracer } from '@app/observability/tracing/trace-context';
import type { ClaimedTask } from './cleanup-handler';

/**
 * How an attempt ended, as the metrics tell it:
 * - `success`: the handler returned and its result was recorded;
 * - `error`: the handler threw (the task is retried later, or failed);
 * - `lease_lost`: the lease expired under it, so its result was not recorded;
 * - `released`: the worker gave the task back (shutdown) — not the task's fault.
 */
export const ATTEMPT_OUTCOMES = ['success', 'error', 'lease_lost', 'released'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** One attempt's telemetry: its span (a child of the enqueue request's, when there was one) and its measurements. */
export interface AttemptTelemetry {
  /** Runs `work` with the attempt's span current, so that its SQL and logs belong to it. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** The handler returned or threw: its run time ends here (recording the outcome is not part of it). */
  handlerReturned(): void;
  /** Records the outcome and ends the span; `error` is what the handler threw, if it did. The first call counts, later ones do nothing. */
  finished(outcome: AttemptOutcome, error?: unknown): void;
}

/**
 * What the scheduler tells monitoring (metrics and traces), in its own
 * words: the worker and the sweeper call these methods and know nothing of
 * Prometheus or OpenTelemetry. Counters are kept per process.
 */
@Injectable()
export class SchedulerTelemetry {
  private readonly attempts: Counter<'resource_type' | 'outcome'>;
  private readonly failedTasks: Counter<'resource_type'>;
  private readonly runDuration: Histogram<'resource_type' | 'outcome'>;
  private readonly queueWait: Histogram<'resource_type'>;
  private readonly leaseReclaims: Counter;
  private readonly running: Gauge;

  constructor(registry: MetricsRegistry) {
    this.attempts = registry.counter({
      name: 'cleanup_task_attempts_total',
      help: 'Task attempts run by this process, by how they ended',
      labelNames: ['resource_type', 'outcome'] as const,
    });
    this.failedTasks = registry.counter({
      name: 'cleanup_tasks_failed_total',
      help: 'Tasks this process moved to failed by themselves (attempts spent, a permanent error, or a lease expired with no attempt left); their ancestors failing with them are not counted',
      labelNames: ['resource_type'] as const,
    });
    this.runDuration = registry.histogram({
      name: 'cleanup_task_run_duration_seconds',
      help: "Handler run time of this process's attempts",
      labelNames: ['resource_type', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    });
    this.queueWait = registry.histogram({
      name: 'cleanup_task_queue_wait_seconds',
      help: "Time from a task's due time (run_at) to its claim by this process",
      labelNames: ['resource_type'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    });
    this.leaseReclaims = registry.counter({ name: 'cleanup_lease_reclaims_total', help: 'Expired leases this process took back (their worker died or stalled)' });
    this.running = registry.gauge({ name: 'cleanup_scheduler_running_tasks', help: 'Handlers running in this process now' });
    // Every series from the start: a rate over a series that appears late misses its first increments.
    for (const resourceType of RESOURCE_TYPES) {
      this.failedTasks.inc({ resource_type: resourceType }, 0);
      this.queueWait.zero({ resource_type: resourceType });
      for (const outcome of ATTEMPT_OUTCOMES) {
        this.attempts.inc({ resource_type: resourceType, outcome }, 0);
        this.runDuration.zero({ resource_type: resourceType, outcome });
      }
    }
  }

  /** A claimed task's handler is about to run. */
  attemptStarted(task: ClaimedTask): AttemptTelemetry {
    const started = performance.now();
    let handlerSeconds: number | undefined;
    let ended = false;
    this.running.inc();
    this.queueWait.observe({ resource_type: task.resourceType }, Math.max(0, Date.now() - task.runAt.getTime()) / 1000);
    const span = serviceTracer().startSpan(
      `attempt ${task.resourceType}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'cleanup_task.id': task.id,
          'cleanup_task.resource_type': task.resourceType,
          'cleanup_task.resource_id': task.resourceId,
          'cleanup_task.workspace_id': task.workspaceId,
          'cleanup_task.attempt': task.attempts,
        },
      },
      contextOfTraceParent(task.traceParent),
    );
    const handlerReturned = () => {
      if (handlerSeconds !== undefined) return;
      handlerSeconds = (performance.now() - started) / 1000;
      this.running.dec();
    };
    return {
      run: (work) => context.with(trace.setSpan(context.active(), span), work),
      handlerReturned,
      finished: (outcome, error) => {
        if (ended) return;
        ended = true;
        handlerReturned();
        this.attempts.inc({ resource_type: task.resourceType, outcome });
        this.runDuration.observe({ resource_type: task.resourceType, outcome }, handlerSeconds!);
        endSpan(span, outcome, error);
      },
    };
  }

  /** A task failed for good in this process, by itself (not as the ancestor of a failed task). */
  taskFailed(resourceType: ResourceType): void {
    this.failedTasks.inc({ resource_type: resourceType });
  }

  /** The stale-lease sweep took back expired leases. */
  leasesReclaimed(count: number): void {
    if (count > 0) this.leaseReclaims.inc(count);
  }
}

function endSpan(span: Span, outcome: AttemptOutcome, error: unknown): void {
  span.setAttribute('cleanup_task.outcome', outcome);
  if (error !== undefined && outcome === 'error') {
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}
