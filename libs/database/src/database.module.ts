import { DynamicModule, Logger, Module } from '@nestjs/common';
import { DATABASE_REACHABILITY } from '@app/common/errors/database-reachability';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source-options';
import { databaseSettingsFor, directSettings, type DatabaseSettings } from './database-settings';
import { runMigrationsExclusively } from './migrate';
import { ReadRouting } from './read-routing';
import { DATABASE_SETTINGS, SqlExecutor } from './sql-executor';

export interface DatabaseModuleOptions {
  url: string;
  poolSize: number;
  applicationName?: string;
  /** Longest wait for a new or pooled connection (DATABASE_CONNECT_TIMEOUT_MS); default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** DATABASE_DIRECT_URL: set when `url` goes through a transaction pooler (PgBouncer). */
  directUrl?: string;
  /** DATABASE_READ_URL: a streaming replica for reads that may be a little stale. */
  readUrl?: string;
  /** READ_REPLICA_MAX_LAG_MS. */
  readReplicaMaxLagMs?: number;
}

/** READ_REPLICA_MAX_LAG_MS's default. */
export const DEFAULT_READ_REPLICA_MAX_LAG_MS = 5000;

/**
 * The database of a deployable: the SqlExecutor (hand-written and
 * QueryBuilder-built SQL) and TypeORM's DataSource, whose entities each
 * feature module registers itself (`TypeOrmModule.forFeature`,
 * `autoLoadEntities`). Migrations run before the DataSource is handed to
 * anyone (never `synchronize`), so every provider sees the current schema.
 */
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    const settings = databaseSettingsFor(options.url, {
      poolSize: options.poolSize,
      applicationName: options.applicationName,
      connectTimeoutMs: options.connectTimeoutMs,
      directUrl: options.directUrl,
    });
    // The replica goes through the same kind of pooler as the primary, if any (pooled rules are safe on a direct connection too).
    const replica = options.readUrl
      ? {
          database: databaseSettingsFor(options.readUrl, {
            poolSize: settings.poolSize,
            applicationName: settings.applicationName,
            connectTimeoutMs: settings.connectTimeoutMs,
            pooled: settings.pooled,
          }),
          maxLagMs: options.readReplicaMaxLagMs ?? DEFAULT_READ_REPLICA_MAX_LAG_MS,
        }
      : undefined;
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...buildDataSourceOptions(settings),
            autoLoadEntities: true,
            // A few quick retries ride out a server that is still starting; then fail fast.
            retryAttempts: 3,
            retryDelay: 1000,
          }),
          dataSourceFactory: async (dataSourceOptions) => {
            const dataSource = await new DataSource(dataSourceOptions!).initialize();
            // The migration lock is a session lock, and a migration may run outside a transaction: behind a pooler, both need the direct URL.
            const applied = settings.pooled ? await migrateDirectly(settings) : await runMigrationsExclusively(dataSource);
            if (applied.length > 0) new Logger('Database').log(`Applied migrations: ${applied.join(', ')}`);
            return dataSource;
          },
        }),
      ],
      providers: [
        { provide: DATABASE_SETTINGS, useValue: settings },
        // After the DataSource: nobody runs SQL before the migrations are applied.
        { provide: SqlExecutor, useFactory: (s: DatabaseSettings) => new SqlExecutor(s), inject: [DATABASE_SETTINGS, getDataSourceToken()] },
        { provide: ReadRouting, useFactory: (db: SqlExecutor) => new ReadRouting(db, replica), inject: [SqlExecutor] },
        // What the error filter asks to tell "busy" from "down".
        { provide: DATABASE_REACHABILITY, useFactory: (db: SqlExecutor) => db.availability, inject: [SqlExecutor] },
      ],
      exports: [DATABASE_SETTINGS, SqlExecutor, ReadRouting, DATABASE_REACHABILITY],
    };
  }
}

/** Applies pending migrations over a DataSource of its own on the direct URL, closed afterwards. */
async function migrateDirectly(settings: DatabaseSettings): Promise<string[]> {
  const migrator = await new DataSource(buildDataSourceOptions(directSettings(settings))).initialize();
  try {
    return await runMigrationsExclusively(migrator);
  } finally {
    await migrator.destroy();
  }
}
