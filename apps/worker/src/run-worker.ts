import type { Type } from '@nestjs/common';
import { ConfigValidationError, validateEnvironment } from '@app/common';
import { startConfiguredDatabase } from '@app/database';
import { MetricsListener } from '@app/observability';
import { createWorker } from './create-worker';

export interface RunWorkerOptions {
  /** A module of @CleanupHandler providers. */
  handlers: Type;
  /** Named in the start line: which handlers run. */
  description: string;
  /** The process's tracing, if on: flushed last on shutdown. */
  tracing?: { shutdown(): Promise<void> };
}

/**
 * Starts a worker process: the database (DATABASE_URL or the embedded one),
 * the scheduler with `handlers`, the `/metrics` listener when METRICS_PORT is
 * set, shutdown on SIGTERM/SIGINT. Exits 1 with a clear message when it
 * cannot start.
 */
export async function runWorker({ handlers, description, tracing }: RunWorkerOptions): Promise<void> {
  try {
    const config = validateEnvironment(process.env);
    if (!config.SCHEDULER_ENABLED) {
      throw new ConfigValidationError(['SCHEDULER_ENABLED=false: a worker with the scheduler off would do nothing']);
    }
    const { url: databaseUrl, embedded } = await startConfiguredDatabase(config);
    const worker = await createWorker({
      config,
      databaseUrl,
      handlers,
      onShutdown: async () => {
        await embedded?.stop();
        // The last spans (the released attempts') go out before the process ends.
        await tracing?.shutdown().catch(() => undefined);
      },
    }).catch(async (error: unknown) => {
      await embedded?.stop();
      throw error;
    });
    // SIGTERM/SIGINT: stop claiming, let handlers finish (SCHEDULER_SHUTDOWN_TIMEOUT_MS), release the rest, exit 0.
    worker.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
    const metricsUrl = config.METRICS_PORT === undefined ? undefined : worker.get(MetricsListener).url;
    const metrics = metricsUrl ? `metrics on ${metricsUrl}` : 'no metrics listener (METRICS_PORT unset)';
    process.stdout.write(`Cleanup Tasks worker running (pid ${process.pid}, ${description} handlers, concurrency ${config.SCHEDULER_CONCURRENCY}, ${metrics}).\n`);
  } catch (error) {
    const message = error instanceof ConfigValidationError ? error.message : `Worker start-up failed: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`${message.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@')}\n`, () => process.exit(1));
  }
}
