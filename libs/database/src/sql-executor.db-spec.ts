import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { createTestDatabase } from '../../../test/support/test-app';
import { databaseSettingsFor } from './database-settings';
import { SqlExecutor } from './sql-executor';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

const SETTINGS = `SELECT current_setting('statement_timeout') AS timeout, current_setting('application_name') AS name, current_setting('random_page_cost') AS cost`;

describe('SqlExecutor (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sut: SqlExecutor;

  beforeAll(async () => {
    database = await createTestDatabase();
    sut = new SqlExecutor(databaseSettingsFor(database.url, { poolSize: 2 }));
  });
  afterAll(async () => {
    await sut?.onApplicationShutdown();
    await database?.drop();
  });

  it('runs statements on the main pool and in transactions, rolling back on error', async () => {
    await sut.query('CREATE TABLE executor_probe (n int PRIMARY KEY)');
    await expect(
      sut.transaction(async (tx) => {
        await tx.query('INSERT INTO executor_probe VALUES (1)');
        await tx.query('INSERT INTO executor_probe VALUES (1)');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect((await sut.query('SELECT count(*)::int AS n FROM executor_probe')).rows).toEqual([{ n: 0 }]);
  });

  it('gives each side pool its own statement timeout and application name, once per name', async () => {
    const pool = sut.sidePool('probe', { max: 1, statementTimeoutMs: 50 });
    expect(sut.sidePool('probe', { max: 5 })).toBe(pool);
    const session = await pool.connect();
    try {
      const { rows } = await session.query<{ timeout: string; name: string; cost: string }>(SETTINGS);
      expect(rows).toEqual([{ timeout: '50ms', name: 'cleanup-tasks-probe', cost: '1.1' }]);
      await expect(session.query('SELECT pg_sleep(1)')).rejects.toMatchObject({ code: '57014' });
    } finally {
      await session.close();
    }
    expect(sut.poolStats().map((stats) => stats.pool)).toEqual(['main', 'probe']);
  });

  it('keeps named statements prepared on its connections (they pay on a direct connection)', async () => {
    const single = new SqlExecutor(databaseSettingsFor(database.url, { poolSize: 1 }));
    try {
      await single.query({ name: 'executor_probe_named', text: 'SELECT 1 AS one' });
      const { rows } = await single.query(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'executor_probe_named'`);
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await single.onApplicationShutdown();
    }
  });

  it('lets one session at a time hold an advisory lock', async () => {
    const inner = await sut.withTryAdvisoryLock(4242, () => sut.withTryAdvisoryLock(4242, async () => 'nested'));
    expect(inner).toEqual({ acquired: true, result: { acquired: false } });
    expect(await sut.withTryAdvisoryLock(4242, async () => 'again')).toEqual({ acquired: true, result: 'again' });
  });

  it('marks the database down when a call cannot reach it, and up again after a call that does', async () => {
    const unreachable = new SqlExecutor(databaseSettingsFor(`postgres://postgres:postgres@127.0.0.1:${await closedPort()}/x`, { poolSize: 1 }));
    try {
      expect(unreachable.availability.isUp).toBe(true);
      await expect(unreachable.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(unreachable.availability.isUp).toBe(false);
      expect(unreachable.availability.reason).toMatch(/ECONNREFUSED/);
      await expect(unreachable.sidePool('side', { max: 1 }).connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(unreachable.availability.isUp).toBe(false);
    } finally {
      await unreachable.onApplicationShutdown();
    }
    sut.availability.failed(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(sut.availability.isUp).toBe(false);
    // A failed statement on a working connection is still an answer from the server.
    await expect(sut.query('SELECT 1 + ')).rejects.toMatchObject({ code: '42601' });
    expect(sut.availability.isUp).toBe(true);
  });
});

/**
 * The rules behind a transaction pooler (DatabaseSettings.pooled), here
 * straight to the server so that what reaches a session can be inspected;
 * test/pgbouncer.e2e-spec.ts runs the application through a real PgBouncer.
 */
describe('SqlExecutor behind a transaction pooler', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sut: SqlExecutor;

  beforeAll(async () => {
    database = await createTestDatabase();
    sut = new SqlExecutor(databaseSettingsFor(database.url, { poolSize: 1, pooled: true }));
  });
  afterAll(async () => {
    await sut?.onApplicationShutdown();
    await database?.drop();
  });

  it('sends no start-up options and names no statement', async () => {
    await sut.query({ name: 'executor_probe_unnamed', text: 'SELECT 1 AS one' });
    await sut.query({ name: 'executor_probe_unnamed', text: 'SELECT 1 AS one' });
    const { rows } = await sut.query(`SELECT (SELECT count(*)::int FROM pg_prepared_statements) AS prepared, current_setting('random_page_cost') AS cost`);
    expect(rows).toEqual([{ prepared: 0, cost: '4' }]);
  });

  it("gives a side pool's statements its settings as SET LOCAL in a transaction of their own, leaving the session as it was", async () => {
    const session = await sut.sidePool('probe', { max: 1, statementTimeoutMs: 50 }).connect();
    try {
      expect((await session.query(SETTINGS)).rows).toEqual([{ timeout: '50ms', name: 'cleanup-tasks-probe', cost: '1.1' }]);
      await expect(session.query('SELECT pg_sleep(1)')).rejects.toMatchObject({ code: '57014' });
      // The next statement on the same connection still has them, and they ended with each transaction.
      expect((await session.query(SETTINGS)).rows).toEqual([{ timeout: '50ms', name: 'cleanup-tasks-probe', cost: '1.1' }]);
      await session.begin('READ ONLY');
      expect((await session.query(SETTINGS)).rows).toEqual([{ timeout: '50ms', name: 'cleanup-tasks-probe', cost: '1.1' }]);
    } finally {
      await session.close();
    }
    expect((await sut.sidePool('probe', { max: 1 }).query(SETTINGS)).rows).toEqual([{ timeout: '50ms', name: 'cleanup-tasks-probe', cost: '1.1' }]);
    const bare = await sut.sidePool('probe', { max: 1 }).pool.query(SETTINGS);
    expect(bare.rows).toEqual([{ timeout: '0', name: 'cleanup-tasks-probe', cost: '4' }]);
  });

  it('opens its transactions with the planner setting', async () => {
    const cost = await sut.transaction(async (tx) => (await tx.query(`SELECT current_setting('random_page_cost') AS cost`)).rows[0].cost);
    expect(cost).toBe('1.1');
  });

  it('holds session advisory locks on direct connections of their own', async () => {
    const held = await sut.withTryAdvisoryLock(4243, async (client) => {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4243 AND pid = pg_backend_pid()`);
      return rows[0].n;
    });
    expect(held).toEqual({ acquired: true, result: 1 });
    expect(sut.poolStats().map((stats) => stats.pool)).toContain('sessions');
  });
});
