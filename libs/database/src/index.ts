export * from './data-source-options';
export * from './database.module';
export * from './embedded-postgres';
export * from './migrate';
