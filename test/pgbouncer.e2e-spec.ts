import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import request from 'supertest';
import { newId } from '@app/common';
import { CleanupTasksRepository } from '@app/cleanup-tasks/cleanup-tasks.repository';
import { MIGRATIONS } from '@app/database/migrations';
import { ResourcesService } from '@app/resources';
import { PROBE_RUNS_DDL } from './support/probe-worker/probe.handlers';
import { startPgBouncer, type PgBouncer } from './support/pgbouncer';
import { assertWorkerBuildIsFresh, startWorker, stopWorkers, waitFor } from './support/scheduler';
import { STATE_ENV, TEST_PG_PORT } from './support/test-database.config';
import { createTestApp, createTestDatabase, insertTasks, type TestApp, type TestDatabase } from './support/test-app';
import { asText } from './support/streamed-text';

/** The test PostgreSQL's port + 1 (each TEST_PG_PORT run gets its own). */
const PGBOUNCER_PORT = TEST_PG_PORT + 1;

const SETTINGS = `SELECT current_setting('statement_timeout') AS timeout, current_setting('random_page_cost') AS cost`;

/**
 * The application with DATABASE_URL pointing at a real PgBouncer (Debian's
 * 1.18) in transaction pooling mode, and DATABASE_DIRECT_URL at the server
 * behind it. PgBouncer refuses start-up options and discards every session's
 * state after each transaction (support/pgbouncer.ts), so a named statement
 * used twice, a start-up option, a session setting, a session lock or a
 * LISTEN that went through it would fail these tests.
 */
describe('Through PgBouncer in transaction pooling mode', () => {
  let bouncer: PgBouncer;

  beforeAll(async () => {
    assertWorkerBuildIsFresh();
    bouncer = await startPgBouncer(process.env[STATE_ENV]!, PGBOUNCER_PORT);
  });
  afterAll(async () => {
    await stopWorkers();
    await bouncer?.stop();
  });

  it('refuses start-up options and loses named statements between transactions (what makes the other tests strict)', async () => {
    const database = await createTestDatabase();
    try {
      const pooledUrl = bouncer.urlFor(database.url);
      const withOptions = new pg.Client({ connectionString: pooledUrl, options: '-c random_page_cost=1.1' });
      await expect(withOptions.connect()).rejects.toThrow(/unsupported startup parameter: options/);
      const client = new pg.Client({ connectionString: pooledUrl });
      await client.connect();
      try {
        await client.query({ name: 'probe', text: 'SELECT 1' });
        await expect(client.query({ name: 'probe', text: 'SELECT 1' })).rejects.toMatchObject({ code: '26000' });
        await client.query(`SET statement_timeout = '1s'`);
        expect((await client.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '0' }]);
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
    }
  });

  it('starts the built app (npm start): migrates an empty database, prints the first admin token, serves it, stops on SIGTERM', async () => {
    const database = await createTestDatabase({ empty: true });
    let output = '';
    const child = spawn(process.execPath, [join(process.cwd(), 'dist/apps/api/apps/api/src/main.js')], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', PORT: '0', DATABASE_URL: bouncer.urlFor(database.url), DATABASE_DIRECT_URL: database.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const [, base] = await waitFor('the app to listen', async () => {
        if (child.exitCode !== null) throw new Error(`the app exited during start-up:\n${output}`);
        return output.match(/listening on (http:\/\/\S+)/) ?? undefined;
      });
      const [token] = output.match(/ctk_[A-Za-z0-9_-]{43}/)!;
      expect(output).toContain('Database:      DATABASE_URL (a pooler; sessions of their own on DATABASE_DIRECT_URL)');
      const response = await fetch(`${base}/api/cleanup-tasks`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await database.drop();
    }
    expect(output).not.toMatch(/prepared statement|unsupported startup parameter/);
  });

  describe('the API, with the scheduler in its process', () => {
    let database: TestDatabase;
    let sut: TestApp;
    const asAdmin = (test: request.Test) => test.auth(sut.tokens.admin, { type: 'bearer' });

    beforeAll(async () => {
      // Empty: the start-up migrates it (over the direct URL).
      database = await createTestDatabase({ empty: true });
      const pooledUrl = bouncer.urlFor(database.url);
      sut = await createTestApp({
        database,
        connectVia: (url) => bouncer.urlFor(url),
        env: {
          DATABASE_URL: pooledUrl,
          DATABASE_DIRECT_URL: database.url,
          SCHEDULER_ENABLED: 'true',
          SCHEDULER_LEASE_SECONDS: '2',
          SCHEDULER_BACKOFF_BASE_MS: '100',
          SCHEDULER_BACKOFF_MAX_MS: '500',
          // Prompt pickups can only come from LISTEN/NOTIFY.
          SCHEDULER_POLL_INTERVAL_MS: '60000',
          LIST_QUERY_TIMEOUT_MS: '300',
          TREE_QUERY_TIMEOUT_MS: '300',
        },
      });
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('started by applying every migration', async () => {
      const [row] = await sut.dataSource.query('SELECT count(*)::int AS n FROM typeorm_migrations');
      expect(row.n).toBe(MIGRATIONS.length);
    });

    it('holds session advisory locks (the sweeps\') on direct connections, where they outlive a transaction', async () => {
      const held = await sut.db.withTryAdvisoryLock(4244, async (client) => {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4244 AND pid = pg_backend_pid()`);
        return rows[0].n;
      });
      expect(held).toEqual({ acquired: true, result: 1 });
    });

    it('creates, uses and revokes tokens', async () => {
      const created = await asAdmin(request(sut.server).post('/api/tokens')).send({ name: 'pooled member', role: 'member', workspaceIds: ['ws_pooled'] });
      expect(created.status).toBe(201);
      const member = (test: request.Test) => test.auth(created.body.token as string, { type: 'bearer' });
      expect((await member(request(sut.server).get('/api/cleanup-tasks'))).status).toBe(200);
      expect((await asAdmin(request(sut.server).delete(`/api/tokens/${created.body.id as string}`))).status).toBe(200);
      expect((await member(request(sut.server).get('/api/cleanup-tasks'))).status).toBe(401);
    });

    it('enqueues a workspace cleanup that the scheduler carries out (children, a failure and its retry); get, list, tree, counts and export show it', async () => {
      const workspace = await sut.app.get(ResourcesService).provisionWorkspace({
        name: 'Pooled',
        apps: [{ name: 'CRM', elements: [{ name: 'flaky', failDeletes: 1 }, { name: 'fine' }] }],
        databases: [{ name: 'crm-db', rows: 50 }],
      });
      const started = Date.now();
      const enqueued = await asAdmin(request(sut.server).post('/api/cleanup-tasks')).send({
        resourceType: 'delete_workspace',
        resourceId: workspace.id,
        workspaceId: workspace.id,
        sourceEventId: 'evt_pooled',
      });
      expect(enqueued.status).toBe(201);
      const rootId = enqueued.body.id as string;
      await waitFor('the tree to complete', async () => {
        const root = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${rootId}`));
        expect(root.status).toBe(200);
        return root.body.status === 'completed';
      });
      // Far within the 60 s poll interval: the notification reached the LISTEN connection.
      expect(Date.now() - started).toBeLessThan(10_000);

      const tree = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${rootId}/tree`));
      expect(tree.status).toBe(200);
      expect(tree.body.map((task: { resourceType: string }) => task.resourceType).sort()).toEqual(
        ['delete_app', 'delete_database', 'delete_element', 'delete_element', 'delete_workspace'].sort(),
      );
      expect(tree.body.every((task: { status: string }) => task.status === 'completed')).toBe(true);
      // Once each, but the element whose first delete failed: no completion was lost (it would have run again after its lease).
      const attempts = Object.fromEntries(tree.body.map((task: { resourceId: string; attempts: number }) => [task.resourceId, task.attempts]));
      expect(attempts).toEqual({ ...Object.fromEntries(Object.keys(attempts).map((id) => [id, 1])), [workspace.elementIds[0]]: 2 });

      const list = await asAdmin(request(sut.server).get('/api/cleanup-tasks').query({ source_event_id: 'evt_pooled' }));
      expect(list.status).toBe(200);
      expect(list.body.pageInfo.total).toBe(5);
      const counts = await asAdmin(request(sut.server).get('/api/cleanup-tasks/counts').query({ groupBy: 'resource_type', source_event_id: 'evt_pooled' }));
      expect(counts.status).toBe(200);
      expect(counts.body.total).toBe(5);
      const exported = await asText(asAdmin(request(sut.server).get('/api/cleanup-tasks/export').query({ format: 'csv', source_event_id: 'evt_pooled' })));
      expect(exported.status).toBe(200);
      expect((exported.body as string).trim().split('\r\n')).toHaveLength(1 + 5);
    });

    it('retries a failed tree and streams a tree of 2,500 tasks (three cursor batches)', async () => {
      const failedRoot = newId('ct');
      await insertTasks(sut.dataSource, [
        { id: failedRoot, resourceType: 'delete_app', status: 'failed', attempts: 5, lastError: 'child failed' },
        { parentId: failedRoot, resourceType: 'delete_element', status: 'failed', attempts: 5, lastError: 'boom' },
      ]);
      expect((await asAdmin(request(sut.server).post(`/api/cleanup-tasks/${failedRoot}/retry`))).status).toBe(200);
      await waitFor('the retried tree to complete', async () => (await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${failedRoot}`))).body.status === 'completed');

      const bigRoot = newId('ct');
      await insertTasks(sut.dataSource, [{ id: bigRoot, status: 'completed' }]);
      await sut.dataSource.query(
        `INSERT INTO cleanup_tasks (id, parent_id, workspace_id, resource_type, resource_id, metadata, status, completed_at)
         SELECT 'ct_' || lpad(g::text, 26, '0'), $1, 'ws_alpha', 'delete_element', 'el_' || g, '{}', 'completed', now()
           FROM generate_series(1, 2499) AS g`,
        [bigRoot],
      );
      const tree = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${bigRoot}/tree`));
      expect(tree.status).toBe(200);
      expect(tree.body).toHaveLength(2500);
      expect(tree.body[0].id).toBe(bigRoot);
    });

    it("keeps the list's statement_timeout and planner setting: a slow list answers 504 at LIST_QUERY_TIMEOUT_MS, a slow tree too", async () => {
      const reads = sut.app.get(CleanupTasksRepository)['listReads'];
      const session = await sut.db.sidePool(reads.name, reads.shape!).connect();
      try {
        expect((await session.query(SETTINGS)).rows).toEqual([{ timeout: '300ms', cost: '1.1' }]);
      } finally {
        await session.close();
      }

      const [root] = await insertTasks(sut.dataSource, [{ status: 'completed' }]);
      // A direct session holds the table, so the list's and the tree's statements wait until PostgreSQL cancels them.
      const blocker = new pg.Client({ connectionString: database.url });
      await blocker.connect();
      let list: request.Response;
      let tree: request.Response;
      const started = Date.now();
      try {
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE cleanup_tasks IN ACCESS EXCLUSIVE MODE');
        list = await asAdmin(request(sut.server).get('/api/cleanup-tasks'));
        tree = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${root}/tree`));
      } finally {
        await blocker.query('ROLLBACK').catch(() => undefined);
        await blocker.end();
      }
      expect(Date.now() - started).toBeLessThan(5000);
      expect(list.status).toBe(504);
      expect(list.body).toMatchObject({ code: 'query-timeout', limitMs: 300 });
      expect(tree.status).toBe(504);
      expect(tree.body).toMatchObject({ code: 'query-timeout', limitMs: 300 });
      expect((await asAdmin(request(sut.server).get('/api/cleanup-tasks'))).status).toBe(200);
    });
  });

  describe('worker processes', () => {
    let database: TestDatabase;
    let direct: pg.Client;

    beforeAll(async () => {
      database = await createTestDatabase();
      direct = new pg.Client({ connectionString: database.url });
      await direct.connect();
      await direct.query(PROBE_RUNS_DDL);
    });
    afterAll(async () => {
      await stopWorkers();
      await direct?.end();
      await database?.drop();
    });

    it('claim, heartbeat, complete and sweep: every task runs exactly once', async () => {
      // A task whose worker died mid-run: only the stale-lease sweep (under its session lock) frees it.
      const orphan = newId('ct');
      await direct.query(
        `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata, status, attempts, locked_by, locked_until)
         VALUES ($1, 'ws_probe', 'delete_element', 'el_orphan', '{"probe": {"record": true}}', 'in_progress', 1, 'gone-worker', now() - interval '1 second')`,
        [orphan],
      );
      const env = {
        DATABASE_DIRECT_URL: database.url,
        SCHEDULER_LEASE_SECONDS: '2',
        SCHEDULER_POLL_INTERVAL_MS: '60000',
        SCHEDULER_CONCURRENCY: '8',
        DATABASE_POOL_SIZE: '5',
      };
      const workers = await Promise.all([startWorker(bouncer.urlFor(database.url), env), startWorker(bouncer.urlFor(database.url), env)]);

      const ids = Array.from({ length: 300 }, () => newId('ct'));
      // One in ten outlives its lease: only heartbeats keep it from running twice.
      await direct.query(
        `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata)
         SELECT id, 'ws_probe', 'delete_element', 'el_' || id,
                CASE WHEN n % 10 = 0 THEN '{"probe": {"record": true, "sleepMs": 2500}}' ELSE '{"probe": {"record": true}}' END::jsonb
           FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)`,
        [ids],
      );
      await waitFor(
        'every task to complete',
        async () => (await direct.query(`SELECT count(*)::int AS n FROM cleanup_tasks WHERE status <> 'completed'`)).rows[0].n === 0,
        { timeoutMs: 30_000, intervalMs: 100 },
      );

      const { rows: runs } = await direct.query<{ task_id: string; outcome: string | null }>('SELECT task_id, outcome FROM scheduler_probe_runs');
      expect(runs).toHaveLength(301);
      expect(new Set(runs.map((run) => run.task_id))).toEqual(new Set([...ids, orphan]));
      expect(runs.every((run) => run.outcome === 'ok')).toBe(true);
      const { rows: summary } = await direct.query(`SELECT max(attempts) AS most, count(*) FILTER (WHERE locked_by IS NOT NULL)::int AS locked FROM cleanup_tasks`);
      expect(summary).toEqual([{ most: 2, locked: 0 }]);
      for (const worker of workers) process.kill(worker.pid, 'SIGTERM');
      const exits = await Promise.all(workers.map((worker) => worker.exited));
      expect(exits.map((exit) => exit.code)).toEqual([0, 0]);
      expect(workers.map((worker) => worker.output()).join('')).not.toMatch(/prepared statement|unsupported startup parameter/);
    });
  });
});
