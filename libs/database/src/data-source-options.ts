import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/** One definition of the connection, shared by the app, the TypeORM CLI (ormconfig.ts) and the tests. */
export function buildDataSourceOptions(databaseUrl: string, overrides: { poolSize?: number; applicationName?: string } = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize: overrides.poolSize ?? 20,
    applicationName: overrides.applicationName ?? 'cleanup-tasks',
    extra: {
      // Fail fast when the server is unreachable rather than hang a request.
      connectionTimeoutMillis: 10_000,
    },
  };
}
