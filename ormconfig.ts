import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './libs/database/src/data-source-options';

/**
 * The DataSource of the TypeORM CLI (`npm run migration:generate|run|revert`):
 * the same entities, migrations and settings as the application. The npm
 * scripts go through scripts/typeorm-cli.mjs, which supplies DATABASE_URL
 * (starting the embedded PostgreSQL when none is configured).
 */
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  throw new Error('DATABASE_URL is not set: run the TypeORM CLI through `npm run migration:*`');
}

export default new DataSource(buildDataSourceOptions(databaseUrl, { poolSize: 2, applicationName: 'cleanup-tasks-cli' }));
