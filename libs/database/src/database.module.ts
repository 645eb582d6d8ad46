import { DynamicModule, Logger, Module } from '@nestjs/common';
import { DATABASE_REACHABILITY } from '@app/common/errors/database-reachability';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source-options';
import { databaseSettingsFor, type DatabaseSettings } from './database-settings';
import { runMigrationsExclusively } from './migrate';
import { DATABASE_SETTINGS, SqlExecutor } from './sql-executor';

export interface DatabaseModuleOptions {
  url: string;
  poolSize: number;
  applicationName?: string;
  /** Longest wait for a new or pooled connection (DATABASE_CONNECT_TIMEOUT_MS); default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
}

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
    });
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
            const applied = await runMigrationsExclusively(dataSource);
            if (applied.length > 0) new Logger('Database').log(`Applied migrations: ${applied.join(', ')}`);
            return dataSource;
          },
        }),
      ],
      providers: [
        { provide: DATABASE_SETTINGS, useValue: settings },
        // After the DataSource: nobody runs SQL before the migrations are applied.
        { provide: SqlExecutor, useFactory: (s: DatabaseSettings) => new SqlExecutor(s), inject: [DATABASE_SETTINGS, getDataSourceToken()] },
        // What the error filter asks to tell "busy" from "down".
        { provide: DATABASE_REACHABILITY, useFactory: (db: SqlExecutor) => db.availability, inject: [SqlExecutor] },
      ],
      exports: [DATABASE_SETTINGS, SqlExecutor, DATABASE_REACHABILITY],
    };
  }
}
