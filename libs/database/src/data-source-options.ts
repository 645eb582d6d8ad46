import type { DataSourceOptions, EntitySchema, MixedList } from 'typeorm';
import { poolConfig, type DatabaseSettings } from './database-settings';
import { MIGRATIONS } from './migrations';

/** Connections of TypeORM's own pool: migrations and the entity repositories (tokens, resources); hand-written SQL runs on SqlExecutor. */
export const TYPEORM_POOL_SIZE = 4;

/**
 * The TypeORM DataSource's options, from the same DatabaseSettings as every
 * other pool: used by the app (entities registered by each feature module,
 * `autoLoadEntities`), the TypeORM CLI (ormconfig.ts lists the entities) and
 * the tests (migrations only).
 */
export function buildDataSourceOptions(
  settings: DatabaseSettings,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema> = [],
): DataSourceOptions {
  const { connectionString, application_name, connectionTimeoutMillis, options } = poolConfig(settings, { name: 'orm', max: TYPEORM_POOL_SIZE });
  return {
    type: 'postgres',
    url: connectionString,
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize: TYPEORM_POOL_SIZE,
    applicationName: application_name,
    // No start-up options behind a pooler (poolConfig leaves them out); TypeORM names no statements.
    extra: { connectionTimeoutMillis, ...(options === undefined ? {} : { options }) },
  };
}
