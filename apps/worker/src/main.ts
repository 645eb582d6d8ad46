// First: tracing must patch http and pg before anything loads them.
import { tracing } from './tracing';
import 'reflect-metadata';
import { ConfigValidationError, validateEnvironment } from '@app/common';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '@app/database';
import { MetricsListener } from '@app/observability';
import { createWorker } from './create-worker';
import type { WorkerHandlers } from './worker.module';

/**
 * The worker deployable: runs cleanup tasks, serves no HTTP. Run as many as
 * you like beside the API (which can then set SCHEDULER_ENABLED=false). Same
 * settings as the API; besides, WORKER_HANDLERS=probe swaps the reference
 * handlers for the instrumented probe handlers (tests, benchmark).
 */
async function main(): Promise<void> {
  const config = validateEnvironment(process.env);
  const handlers = (process.env.WORKER_HANDLERS ?? 'reference') as WorkerHandlers;
  if (handlers !== 'reference' && handlers !== 'probe') {
    throw new ConfigValidationError([`WORKER_HANDLERS=${JSON.stringify(handlers)}: must be reference or probe`]);
  }
  if (!config.SCHEDULER_ENABLED) {
    throw new ConfigValidationError(['SCHEDULER_ENABLED=false: a worker with the scheduler off would do nothing']);
  }

  let embedded: EmbeddedPostgresHandle | undefined;
  if (!config.DATABASE_URL) {
    process.stdout.write(`Starting embedded PostgreSQL (data in ${config.EMBEDDED_POSTGRES_DIR}, port ${config.EMBEDDED_POSTGRES_PORT})…\n`);
    embedded = await startEmbeddedPostgres({ dataDir: config.EMBEDDED_POSTGRES_DIR, port: config.EMBEDDED_POSTGRES_PORT, database: 'cleanup_tasks' });
  }
  const worker = await createWorker({
    config,
    databaseUrl: config.DATABASE_URL ?? embedded!.url,
    handlers,
    onShutdown: async () => {
      await embedded?.stop();
      // The last spans (the released attempts') go out before the process ends.
      await tracing?.shutdown().catch(() => undefined);
    },
  });
  // SIGTERM/SIGINT: stop claiming, let handlers finish (SCHEDULER_SHUTDOWN_TIMEOUT_MS), release the rest, exit 0.
  worker.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  const metricsUrl = config.METRICS_PORT === undefined ? undefined : worker.get(MetricsListener).url;
  const metrics = metricsUrl ? `metrics on ${metricsUrl}` : 'no metrics listener (METRICS_PORT unset)';
  process.stdout.write(`Cleanup Tasks worker running (pid ${process.pid}, ${handlers} handlers, concurrency ${config.SCHEDULER_CONCURRENCY}, ${metrics}).\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigValidationError ? error.message : `Worker start-up failed: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@')}\n`, () => process.exit(1));
});
