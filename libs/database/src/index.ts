export * from './advisory-locks';
export * from './data-source-options';
export * from './database-settings';
export * from './database.module';
export * from './embedded-postgres';
export * from './migrate';
export * from './sql-executor';
export * from './database-availability';
