import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { ADVISORY_LOCKS } from './advisory-locks';

/** Pause between attempts at the migration lock while another process migrates. */
const LOCK_RETRY_MS = 100;

/**
 * Applies pending migrations under a PostgreSQL advisory lock (processes
 * starting together apply each once); returns the names applied.
 *
 * A process waits for the lock by trying it again and again, never inside
 * one blocking `pg_advisory_lock` call: a statement waiting on a lock holds a
 * snapshot, and CREATE INDEX CONCURRENTLY (in the migration the lock holder
 * runs, on another connection) waits for every older snapshot to go. The
 * holder would wait for the waiter and the waiter for the holder, and
 * PostgreSQL cannot see that cycle (the holder's lock sits on an idle
 * connection of the same process): both processes hung at start-up.
 */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    for (;;) {
      const [{ acquired }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS acquired', [ADVISORY_LOCKS.migrations])) as { acquired: boolean }[];
      if (acquired) break;
      await sleep(LOCK_RETRY_MS);
    }
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.migrations]);
    }
  } finally {
    await runner.release();
  }
}
