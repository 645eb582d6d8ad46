import { DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source-options';
import { runMigrationsExclusively } from './migrate';

export interface DatabaseModuleOptions {
  url: string;
  poolSize: number;
  applicationName?: string;
}

/**
 * The TypeORM connection. Migrations run before the DataSource is handed to
 * anyone (never `synchronize`), so every provider sees the current schema.
 */
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...buildDataSourceOptions(options.url, options),
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
    };
  }
}
