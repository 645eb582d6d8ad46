import { DataSource } from 'typeorm';
import { ApiToken } from './libs/auth/src/api-token.entity';
import { CleanupTask } from './libs/cleanup-tasks/src/cleanup-task.entity';
import { buildDataSourceOptions } from './libs/database/src/data-source-options';
import { databaseSettingsFor } from './libs/database/src/database-settings';
import { App } from './libs/resources/src/app.entity';
import { Element } from './libs/resources/src/element.entity';
import { WorkspaceDatabase } from './libs/resources/src/workspace-database.entity';
import { Workspace } from './libs/resources/src/workspace.entity';

/**
 * The DataSource of the TypeORM CLI (`npm run migration:generate|run|revert`):
 * the app's migrations and settings, and every entity listed here (in the
 * app, each feature module registers its own). The npm scripts go through
 * scripts/typeorm-cli.mjs, which supplies DATABASE_URL (starting the
 * embedded PostgreSQL when none is configured), or DATABASE_DIRECT_URL when
 * DATABASE_URL leads to PgBouncer.
 */
// Migrations take a session advisory lock and may run outside a transaction: never through a transaction pooler.
const databaseUrl = process.env.DATABASE_DIRECT_URL || process.env.DATABASE_URL;
if (!databaseUrl) {
  throw new Error('DATABASE_URL is not set: run the TypeORM CLI through `npm run migration:*`');
}

export default new DataSource(
  buildDataSourceOptions(
    databaseSettingsFor(databaseUrl, { applicationName: 'cleanup-tasks-cli' }),
    [CleanupTask, ApiToken, Workspace, App, Element, WorkspaceDatabase],
  ),
);
