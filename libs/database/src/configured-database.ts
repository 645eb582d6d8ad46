import { type AppConfig, createLogger } from '@app/common';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';

/** Where a deployable's database is: its URL, and the embedded server when one was started for it (stop it on shutdown). */
export interface ConfiguredDatabase {
  url: string;
  embedded?: EmbeddedPostgresHandle;
}

/**
 * The database of the API and the worker: DATABASE_URL when set; otherwise
 * the embedded PostgreSQL of EMBEDDED_POSTGRES_DIR on EMBEDDED_POSTGRES_PORT,
 * started here (its restarts logged through the app's logger).
 */
export async function startConfiguredDatabase(config: AppConfig): Promise<ConfiguredDatabase> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  process.stdout.write(`Starting embedded PostgreSQL (data in ${config.EMBEDDED_POSTGRES_DIR}, port ${config.EMBEDDED_POSTGRES_PORT})…\n`);
  const logger = createLogger(config.LOG_LEVEL);
  const embedded = await startEmbeddedPostgres({
    dataDir: config.EMBEDDED_POSTGRES_DIR,
    port: config.EMBEDDED_POSTGRES_PORT,
    database: 'cleanup_tasks',
    logger: { log: (message) => logger.log(message, 'EmbeddedPostgres'), warn: (message) => logger.warn(message, 'EmbeddedPostgres') },
  });
  return { url: embedded.url, embedded };
}
