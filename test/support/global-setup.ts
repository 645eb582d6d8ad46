import './register-path-aliases';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../libs/database/src/data-source-options';
import { databaseSettingsFor } from '../../libs/database/src/database-settings';
import { quoteIdentifier, startEmbeddedPostgres } from '../../libs/database/src/embedded-postgres';
import { STATE_ENV, TEMPLATE_DATABASE, TEST_PG_DIR, TEST_PG_PORT } from './test-database.config';

/**
 * Starts a real PostgreSQL (embedded, or the server in DATABASE_URL), builds a
 * migrated template database once, and leaves the server's URL for the suites,
 * which each clone the template into a database of their own.
 */
export default async function globalSetup(): Promise<void> {
  let serverUrl: string;
  if (process.env.DATABASE_URL) {
    serverUrl = process.env.DATABASE_URL;
  } else {
    const handle = await startEmbeddedPostgres({ dataDir: TEST_PG_DIR, port: TEST_PG_PORT, database: 'postgres' });
    (globalThis as { __embeddedPostgres?: unknown }).__embeddedPostgres = handle;
    serverUrl = handle.url;
  }
  process.env[STATE_ENV] = serverUrl;

  const admin = new DataSource({ type: 'postgres', url: serverUrl });
  await admin.initialize();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(TEMPLATE_DATABASE)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdentifier(TEMPLATE_DATABASE)}`);
    // Databases left by an interrupted earlier run.
    const stale = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'cleanup_tasks_test_%' AND datname <> $1`, [TEMPLATE_DATABASE]);
    for (const { datname } of stale as { datname: string }[]) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(datname)} WITH (FORCE)`);
    }
  } finally {
    await admin.destroy();
  }

  const template = new DataSource(buildDataSourceOptions(databaseSettingsFor(withDatabase(serverUrl, TEMPLATE_DATABASE))));
  await template.initialize();
  try {
    await template.runMigrations({ transaction: 'each' });
  } finally {
    await template.destroy();
  }
}

export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

