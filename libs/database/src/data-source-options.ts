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
      // Our sessions plan for SSD storage (PostgreSQL's default of 4 assumes
      // spinning disks): with it, relation filters (children.some) on 1M rows
      // took ~330 ms instead of ~15 ms (docs/benchmarks.md).
      options: '-c random_page_cost=1.1',
    },
  };
}
