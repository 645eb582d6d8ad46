import 'reflect-metadata';
import { ConfigValidationError, createLogger, validateEnvironment } from '@app/common';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '@app/database';
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
    const logger = createLogger(config.LOG_LEVEL);
    embedded = await startEmbeddedPostgres({
      dataDir: config.EMBEDDED_POSTGRES_DIR,
      port: config.EMBEDDED_POSTGRES_PORT,
      database: 'cleanup_tasks',
      logger: { log: (message) => logger.log(message, 'EmbeddedPostgres'), warn: (message) => logger.warn(message, 'EmbeddedPostgres') },
    });
  }
  const worker = await createWorker({
    config,
    databaseUrl: config.DATABASE_URL ?? embedded!.url,
    handlers,
    onShutdown: () => embedded?.stop() ?? Promise.resolve(),
  }).catch(async (error: unknown) => {
    await embedded?.stop();
    throw error;
  });
  // SIGTERM/SIGINT: stop claiming, let handlers finish (SCHEDULER_SHUTDOWN_TIMEOUT_MS), release the rest, exit 0.
  worker.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  process.stdout.write(`Cleanup Tasks worker running (pid ${process.pid}, ${handlers} handlers, concurrency ${config.SCHEDULER_CONCURRENCY}).\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigValidationError ? error.message : `Worker start-up failed: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@')}\n`, () => process.exit(1));
});
