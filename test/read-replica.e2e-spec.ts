import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { ReadRouting, type ReadSource } from '@app/database/read-routing';
import { waitFor } from './support/scheduler';
import { startStreamingReplica, type StreamingReplica } from './support/streaming-replica';
import { TEST_PG_PORT } from './support/test-database.config';
import { createTestApp, type TestApp } from './support/test-app';
import { asText } from './support/streamed-text';

/** The test PostgreSQL's port + 2 and + 3 (each TEST_PG_PORT run gets its own). */
const PRIMARY_PORT = TEST_PG_PORT + 2;
const STANDBY_PORT = TEST_PG_PORT + 3;
const DATABASE = 'cleanup_tasks';
const MAX_LAG_MS = 2000;

/**
 * The application on a real primary with a real hot standby streaming from
 * it (Debian's PostgreSQL, support/streaming-replica.ts): DATABASE_URL is
 * the primary, DATABASE_READ_URL the standby. Which server served a read is
 * read from the standby's pg_stat_activity (each read pool's connections are
 * named: cleanup-tasks-list, -tree; get by id uses the main one), or asked
 * of the server itself (pg_is_in_recovery()).
 */
describe('Reads on a streaming replica (DATABASE_READ_URL)', () => {
  let servers: StreamingReplica;
  let sut: TestApp;
  let routing: ReadRouting;
  let primary: pg.Client;
  let standby: pg.Client;
  const asAdmin = (test: request.Test) => test.auth(sut.tokens.admin, { type: 'bearer' });

  beforeAll(async () => {
    servers = await startStreamingReplica({
      dir: `.data/replica-${PRIMARY_PORT}`,
      primaryPort: PRIMARY_PORT,
      standbyPort: STANDBY_PORT,
      // A query in the way of replay is cancelled after 100 ms (the recovery-conflict test).
      standbySettings: { max_standby_streaming_delay: '100ms', hot_standby_feedback: 'off' },
    });
    primary = new pg.Client({ connectionString: servers.primary.url('postgres') });
    await primary.connect();
    await primary.query(`CREATE DATABASE ${DATABASE}`);
    await primary.end();
    const primaryUrl = servers.primary.url(DATABASE);
    sut = await createTestApp({
      database: { url: primaryUrl, drop: async () => undefined },
      env: { DATABASE_URL: primaryUrl, DATABASE_READ_URL: servers.standby.url(DATABASE), READ_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS) },
    });
    routing = sut.app.get(ReadRouting);
    primary = new pg.Client({ connectionString: primaryUrl });
    await primary.connect();
    standby = await connectStandby();
  }, 120_000);
  afterAll(async () => {
    await sut?.close();
    await primary?.end().catch(() => undefined);
    await standby?.end().catch(() => undefined);
    await servers?.destroy();
  });

  const connectStandby = () =>
    // A standby restarting may say "the database system is starting up" for a moment.
    waitFor(
      'the standby to take connections',
      async () => {
        const client = new pg.Client({ connectionString: servers.standby.url(DATABASE) });
        client.on('error', () => undefined);
        return client.connect().then(
          () => client,
          () => false as const,
        );
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  /** Waits until the standby has replayed everything the primary has written so far. */
  const caughtUp = async () => {
    const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn');
    await waitFor('the standby to replay the primary', async () => (await standby.query(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done`, [rows[0].lsn])).rows[0].done);
  };
  /** The standby's clock now: reads it serves afterwards leave a later state_change in pg_stat_activity. */
  const standbyNow = async (): Promise<Date> => (await standby.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0].now;
  const servedByStandby = async (applicationName: string, since: Date): Promise<boolean> =>
    (
      await standby.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND state_change > $2`,
        [applicationName, since],
      )
    ).rows[0].n > 0;
  const enqueue = async (sourceEventId: string): Promise<string> => {
    const response = await asAdmin(request(sut.server).post('/api/cleanup-tasks')).send({
      resourceType: 'delete_workspace',
      resourceId: `ws_${sourceEventId}`,
      workspaceId: `ws_${sourceEventId}`,
      sourceEventId,
    });
    expect(response.status).toBe(201);
    return response.body.id as string;
  };
  const listTotal = async (sourceEventId: string): Promise<number> => {
    const response = await asAdmin(request(sut.server).get('/api/cleanup-tasks').query({ source_event_id: sourceEventId }));
    expect(response.status).toBe(200);
    return response.body.pageInfo.total as number;
  };
  /** A healthy replica, freshly measured: reads go to it. */
  const replicaInUse = async () => {
    await caughtUp();
    await routing.checkReplica();
    expect(routing.replicaLag?.lagMs).toBe(0);
  };

  it('serves the list, get by id, the tree, counts and export from the replica; enqueues go to the primary', async () => {
    const id = await enqueue('evt_replica_reads');
    await replicaInUse();

    const since = await standbyNow();
    expect(await listTotal('evt_replica_reads')).toBe(1);
    expect(await servedByStandby('cleanup-tasks-list', since)).toBe(true);
    const task = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${id}`));
    expect(task.status).toBe(200);
    expect(await servedByStandby('cleanup-tasks', since)).toBe(true);
    const tree = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${id}/tree`));
    expect(tree.status).toBe(200);
    expect(tree.body.map((row: { id: string }) => row.id)).toEqual([id]);
    expect(await servedByStandby('cleanup-tasks-tree', since)).toBe(true);
    const afterTree = await standbyNow();
    const counts = await asAdmin(request(sut.server).get('/api/cleanup-tasks/counts').query({ groupBy: 'status', source_event_id: 'evt_replica_reads' }));
    expect(counts.status).toBe(200);
    expect(counts.body.total).toBe(1);
    expect(await servedByStandby('cleanup-tasks-list', afterTree)).toBe(true);
    const exported = await asText(asAdmin(request(sut.server).get('/api/cleanup-tasks/export').query({ source_event_id: 'evt_replica_reads' })));
    expect(exported.status).toBe(200);
    expect((exported.body as string).trim().split('\n').map((line) => JSON.parse(line).id)).toEqual([id]);
    expect(await servedByStandby('cleanup-tasks-export', since)).toBe(true);

    // Asked of the server behind the list's read pool itself.
    const sources: ReadSource[] = [];
    const recovery = await routing.read({ name: 'list', shape: { max: 1 } }, async (db, source) => {
      sources.push(source);
      return (await db.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0].standby;
    });
    expect({ recovery, sources }).toEqual({ recovery: true, sources: ['replica'] });
  });

  it('reads a task the replica does not have yet from the primary (get by id, tree); the list turns to the primary once the lag passes READ_REPLICA_MAX_LAG_MS', async () => {
    await enqueue('evt_before_pause');
    // Fresh replay, so that the lag starts small when replay stops.
    await replicaInUse();
    await standby.query('SELECT pg_wal_replay_pause()');
    try {
      const paused = Date.now();
      const id = await enqueue('evt_while_paused');
      await routing.checkReplica();

      // Read-your-writes: the replica misses it, the primary has it.
      const task = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${id}`));
      expect(task.status).toBe(200);
      expect(task.body).toMatchObject({ id, status: 'pending' });
      const tree = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${id}/tree`));
      expect(tree.status).toBe(200);
      expect(tree.body.map((row: { id: string }) => row.id)).toEqual([id]);

      // Within the limit the list is the replica's, a little stale…
      expect(Date.now() - paused).toBeLessThan(MAX_LAG_MS);
      expect(await listTotal('evt_while_paused')).toBe(0);
      // …and once the replica lags by more, the primary's.
      await waitFor('the list to turn to the primary', async () => (await listTotal('evt_while_paused')) === 1, { timeoutMs: MAX_LAG_MS + 5000, intervalMs: 100 });
      expect(Date.now() - paused).toBeGreaterThanOrEqual(MAX_LAG_MS - 1000);
      // The lag last measured, aged since: what the replica may lag by now.
      const { lagMs, measuredAt } = routing.replicaLag!;
      expect(lagMs).toBeGreaterThan(0);
      expect(lagMs + (Date.now() - measuredAt)).toBeGreaterThan(MAX_LAG_MS);
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
    }

    // Caught up again: back to the replica.
    await replicaInUse();
    const since = await standbyNow();
    expect(await listTotal('evt_while_paused')).toBe(1);
    expect(await servedByStandby('cleanup-tasks-list', since)).toBe(true);
  });

  it('sends reads to the primary while the replica is stopped, and back to it once it runs again', async () => {
    const id = await enqueue('evt_replica_down');
    await replicaInUse();
    await standby.end();
    await servers.standby.stop();
    try {
      expect(await listTotal('evt_replica_down')).toBe(1);
      expect((await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${id}`))).status).toBe(200);
      expect((await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${id}/tree`))).status).toBe(200);
      expect(routing.replicaLag).toBeUndefined();
    } finally {
      await servers.standby.start();
      standby = await connectStandby();
    }
    await waitFor('reads to return to the replica', async () => {
      const since = await standbyNow();
      await listTotal('evt_replica_down');
      return servedByStandby('cleanup-tasks-list', since);
    }, { timeoutMs: 15_000, intervalMs: 200 });
  });

  it('reads again on the primary what the replica cancelled for a recovery conflict (40001), but not a statement timeout', async () => {
    await primary.query('CREATE TABLE conflict_probe (n int); INSERT INTO conflict_probe VALUES (1)');
    await replicaInUse();
    const probe = { name: 'conflict-probe', shape: { max: 1 } };
    const sources: ReadSource[] = [];
    // Long on the standby, holding a lock on conflict_probe; quick on the primary.
    const reading = routing.read(probe, async (db, source) => {
      sources.push(source);
      const { rows } = await db.query<{ standby: boolean }>(
        'SELECT pg_is_in_recovery() AS standby, pg_sleep(CASE WHEN pg_is_in_recovery() THEN 10 ELSE 0 END) FROM conflict_probe',
      );
      return rows[0].standby;
    });
    await waitFor('the read to run on the standby', async () =>
      (await standby.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%FROM conflict_probe' AND state = 'active'`)).rows[0].n === 1,
    );
    const started = Date.now();
    // Replaying this lock must cancel the standby's read after max_standby_streaming_delay (100 ms).
    await primary.query('BEGIN; LOCK TABLE conflict_probe IN ACCESS EXCLUSIVE MODE; COMMIT');
    expect(await reading).toBe(false);
    expect(sources).toEqual(['replica', 'primary']);
    expect(Date.now() - started).toBeLessThan(5000);
    // A conflict, not a lost connection: the replica stays in use.
    expect(routing.replicaLag).toBeDefined();
    const { rows } = await standby.query<{ n: number }>('SELECT confl_lock::int AS n FROM pg_stat_database_conflicts WHERE datname = current_database()');
    expect(rows[0].n).toBeGreaterThanOrEqual(1);

    const timedOut: ReadSource[] = [];
    await expect(
      routing.read({ name: 'timeout-probe', shape: { max: 1, statementTimeoutMs: 100 } }, async (db, source) => {
        timedOut.push(source);
        return db.query('SELECT pg_sleep(1)');
      }),
    ).rejects.toMatchObject({ code: '57014' });
    expect(timedOut).toEqual(['replica']);
  });
});
