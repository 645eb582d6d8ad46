import type { AppConfig } from '@app/common';
import type { BackoffPolicy } from './backoff';

/** The scheduler's settings, derived once from the validated configuration. */
export class SchedulerSettings {
  concurrency: number;
  batchSize: number;
  /** Most tasks claimed ahead of free slots (SCHEDULER_PREFETCH). */
  prefetch: number;
  /** Round-robin claims with a per-workspace cap (SCHEDULER_FAIR_CLAIMS); else oldest first, no cap. */
  fairClaims: boolean;
  /** Most running tasks of one workspace across all processes (SCHEDULER_WORKSPACE_CONCURRENCY). */
  workspaceConcurrency: number;
  leaseMs: number;
  /** A third of the lease: two heartbeats may be lost before the lease expires. */
  heartbeatIntervalMs: number;
  /** Half a lease: a dead worker's tasks are back in at most 1.5 leases. */
  leaseSweepIntervalMs: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  pollIntervalMs: number;
  shutdownTimeoutMs: number;
  retention: { enabled: boolean; days: number };

  static from(config: AppConfig): SchedulerSettings {
    const leaseMs = config.SCHEDULER_LEASE_SECONDS * 1000;
    return Object.assign(new SchedulerSettings(), {
      concurrency: config.SCHEDULER_CONCURRENCY,
      batchSize: config.SCHEDULER_BATCH_SIZE,
      prefetch: config.SCHEDULER_PREFETCH,
      fairClaims: config.SCHEDULER_FAIR_CLAIMS,
      workspaceConcurrency: config.SCHEDULER_WORKSPACE_CONCURRENCY,
      leaseMs,
      heartbeatIntervalMs: Math.max(100, Math.floor(leaseMs / 3)),
      leaseSweepIntervalMs: Math.max(500, Math.floor(leaseMs / 2)),
      maxAttempts: config.SCHEDULER_MAX_ATTEMPTS,
      backoff: { baseMs: config.SCHEDULER_BACKOFF_BASE_MS, maxMs: Math.max(config.SCHEDULER_BACKOFF_BASE_MS, config.SCHEDULER_BACKOFF_MAX_MS) },
      pollIntervalMs: config.SCHEDULER_POLL_INTERVAL_MS,
      shutdownTimeoutMs: config.SCHEDULER_SHUTDOWN_TIMEOUT_MS,
      retention: { enabled: config.RETENTION_ENABLED, days: config.RETENTION_DAYS },
    });
  }
}
