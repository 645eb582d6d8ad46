import type { DataSource } from 'typeorm';

/** Held while migrating, so that processes starting together apply each migration once. */
const MIGRATION_LOCK_KEY = 0x43_54_4d_47; // 'CTMG'

/** Applies pending migrations under a PostgreSQL advisory lock; returns the names applied. */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
