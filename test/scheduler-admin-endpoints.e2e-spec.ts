import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import request from 'supertest';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';
import { waitFor } from './support/scheduler';

const UNKNOWN_ID = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV';
const TASK_FIELDS = ['attempts', 'completedAt', 'createdAt', 'id', 'lastError', 'metadata', 'parentId', 'resourceId', 'resourceType', 'sourceEventId', 'status', 'workspaceId'];

describe('Cleanup task admin operations (scheduler off: rows stay as written)', () => {
  let sut: TestApp;

  // Small pools, so that a leaked connection shows within a few requests.
  const POOL_SIZE = 5;
  const TREE_POOL_SIZE = 2;
  const STALL_TIMEOUT_MS = 1500;

  beforeAll(async () => {
    sut = await createTestApp({
      env: { DATABASE_POOL_SIZE: String(POOL_SIZE), TREE_POOL_SIZE: String(TREE_POOL_SIZE), STREAM_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS) },
    });
  });
  afterAll(async () => {
    await sut?.close();
  });
  const deleteAllTasks = () => sut.dataSource.query('DELETE FROM cleanup_tasks');

  const asAdmin = (test: request.Test) => test.auth(sut.tokens.admin, { type: 'bearer' });
  const row = async (id: string) =>
    (await sut.dataSource.query(`SELECT status, attempts, attempts_base, last_error, run_at <= now() AS due FROM cleanup_tasks WHERE id = $1`, [id]))[0] as {
      status: string;
      attempts: number;
      attempts_base: number;
      last_error: string | null;
      due: boolean;
    };

  describe('Retry [POST /api/cleanup-tasks/{id}/retry]', () => {
    beforeEach(deleteAllTasks);

    it('re-queues a failed task with its failed descendants, leaving completed ones alone', async () => {
      const [root] = await insertTasks(sut.dataSource, [{ status: 'failed', attempts: 2, lastError: 'child failed' }]);
      const [failedApp, completedDb] = await insertTasks(sut.dataSource, [
        { parentId: root, resourceType: 'delete_app', status: 'failed', attempts: 1, lastError: 'child failed' },
        { parentId: root, resourceType: 'delete_database', status: 'completed', attempts: 1 },
      ]);
      const [failedElement, completedElement] = await insertTasks(sut.dataSource, [
        { parentId: failedApp, resourceType: 'delete_element', resourceId: 'el_1', status: 'failed', attempts: 5, lastError: 'boom' },
        { parentId: failedApp, resourceType: 'delete_element', resourceId: 'el_2', status: 'completed', attempts: 1 },
      ]);

      const response = await asAdmin(request(sut.server).post(`/api/cleanup-tasks/${root}/retry`));
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ ok: true });

      expect(await row(root)).toEqual({ status: 'pending', attempts: 2, attempts_base: 2, last_error: 'child failed', due: true });
      expect(await row(failedApp)).toMatchObject({ status: 'pending', attempts: 1, attempts_base: 1, due: true });
      expect(await row(failedElement)).toEqual({ status: 'pending', attempts: 5, attempts_base: 5, last_error: 'boom', due: true });
      expect((await row(completedDb)).status).toBe('completed');
      expect((await row(completedElement)).status).toBe('completed');
    });

    it('re-queues a failed leaf alone, not its failed parent', async () => {
      const [root] = await insertTasks(sut.dataSource, [{ status: 'failed' }]);
      const [leaf] = await insertTasks(sut.dataSource, [{ parentId: root, resourceType: 'delete_app', status: 'failed' }]);
      expect((await asAdmin(request(sut.server).post(`/api/cleanup-tasks/${leaf}/retry`))).status).toBe(200);
      expect((await row(leaf)).status).toBe('pending');
      expect((await row(root)).status).toBe('failed');
    });

    it.each(['pending', 'in_progress', 'completed'])('answers 409 with currentStatus for a %s task, changing nothing', async (status) => {
      const [id] = await insertTasks(sut.dataSource, [{ status: status as 'pending' }]);
      const response = await asAdmin(request(sut.server).post(`/api/cleanup-tasks/${id}/retry`));
      expect(response.status).toBe(409);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 409, code: 'task-not-failed', currentStatus: status, detail: `Cleanup task ${id} is ${status}; only a failed task can be retried.` });
      expect((await row(id)).status).toBe(status);
    });

    it('answers 409 to the second of two retries', async () => {
      const [id] = await insertTasks(sut.dataSource, [{ status: 'failed' }]);
      const [first, second] = await Promise.all([
        asAdmin(request(sut.server).post(`/api/cleanup-tasks/${id}/retry`)),
        asAdmin(request(sut.server).post(`/api/cleanup-tasks/${id}/retry`)),
      ]);
      expect([first.status, second.status].sort()).toEqual([200, 409]);
      expect([first.body.currentStatus, second.body.currentStatus]).toContain('pending');
    });

    it('answers 404 for an unknown task, 400 for a malformed id, 403 for a member, 401 without a token', async () => {
      const [id] = await insertTasks(sut.dataSource, [{ status: 'failed', workspaceId: 'ws_alpha' }]);
      expect((await asAdmin(request(sut.server).post(`/api/cleanup-tasks/${UNKNOWN_ID}/retry`))).status).toBe(404);
      const malformed = await asAdmin(request(sut.server).post('/api/cleanup-tasks/ct_nope/retry'));
      expect(malformed.status).toBe(400);
      expect(malformed.body.errors).toEqual([{ path: 'id', message: expect.stringContaining('ct_') }]);
      expect((await request(sut.server).post(`/api/cleanup-tasks/${id}/retry`).auth(sut.tokens.member, { type: 'bearer' })).status).toBe(403);
      expect((await request(sut.server).post(`/api/cleanup-tasks/${id}/retry`)).status).toBe(401);
      expect((await row(id)).status).toBe('failed');
    });
  });

  describe('Tree [GET /api/cleanup-tasks/{id}/tree]', () => {
    const getTree = (id: string) => asAdmin(request(sut.server).get(`/api/cleanup-tasks/${id}/tree`));
    /** 1 root, `children` children with `grandchildren` children each; ids in ULID form, ordered by their number. */
    const insertWideTree = async (root: string, children: number, grandchildren: number) => {
      await sut.dataSource.query(`INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id) VALUES ($1, 'ws_big', 'delete_workspace', 'ws_big')`, [root]);
      await sut.dataSource.query(
        `INSERT INTO cleanup_tasks (id, parent_id, workspace_id, resource_type, resource_id)
         SELECT 'ct_01JDQ7Z4Y8K3M5N7' || lpad(i::text, 10, '0'), $1, 'ws_big', 'delete_app', 'app_' || i FROM generate_series(1, $2::int) AS i`,
        [root, children],
      );
      await sut.dataSource.query(
        `INSERT INTO cleanup_tasks (id, parent_id, workspace_id, resource_type, resource_id)
         SELECT 'ct_01JDQ7Z4Y8K3M5N8' || lpad((i * 1000 + j)::text, 10, '0'), 'ct_01JDQ7Z4Y8K3M5N7' || lpad(i::text, 10, '0'),
                'ws_big', 'delete_element', 'el_' || i || '_' || j
           FROM generate_series(1, $1::int) AS i, generate_series(1, $2::int) AS j`,
        [children, grandchildren],
      );
    };
    const ROOT = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0T0';

    beforeEach(deleteAllTasks);

    it('lists the task and its descendants: root first, then by depth, createdAt, id', async () => {
      const t = (seconds: number) => new Date(Date.UTC(2026, 10, 1, 12, 0, seconds)).toISOString();
      const [root] = await insertTasks(sut.dataSource, [{ createdAt: t(0), metadata: { why: 'demo' } }]);
      const [lateChild, earlyChild] = await insertTasks(sut.dataSource, [
        { parentId: root, resourceType: 'delete_app', resourceId: 'a', createdAt: t(30) },
        { parentId: root, resourceType: 'delete_app', resourceId: 'b', createdAt: t(10) },
      ]);
      const [sameTimeA, sameTimeB] = [`ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TA`, `ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TB`];
      await insertTasks(sut.dataSource, [
        { id: sameTimeB, parentId: root, resourceType: 'delete_database', resourceId: 'c', createdAt: t(20) },
        { id: sameTimeA, parentId: root, resourceType: 'delete_database', resourceId: 'd', createdAt: t(20) },
      ]);
      // Grandchildren created before every child still come after them (depth first).
      const [grandchild] = await insertTasks(sut.dataSource, [{ parentId: lateChild, resourceType: 'delete_element', resourceId: 'e', createdAt: t(1) }]);
      await insertTasks(sut.dataSource, [{ resourceType: 'delete_workspace', createdAt: t(5) }]); // another tree

      const response = await getTree(root);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body.map((task: { id: string }) => task.id)).toEqual([root, earlyChild, sameTimeA, sameTimeB, lateChild, grandchild]);
      expect(Object.keys(response.body[0]).sort()).toEqual(TASK_FIELDS);
      expect(response.body[0]).toMatchObject({ id: root, parentId: null, metadata: { why: 'demo' }, createdAt: t(0), completedAt: null });
      expect(response.body[5]).toMatchObject({ parentId: lateChild, resourceType: 'delete_element' });

      const subtree = await getTree(lateChild);
      expect(subtree.body.map((task: { id: string }) => task.id)).toEqual([lateChild, grandchild]);
    });

    it('is safe against a cycle of parent links: every task once, and it ends', async () => {
      const [root] = await insertTasks(sut.dataSource, [{}]);
      const [child] = await insertTasks(sut.dataSource, [{ parentId: root, resourceType: 'delete_app' }]);
      const [grandchild] = await insertTasks(sut.dataSource, [{ parentId: child, resourceType: 'delete_element' }]);
      await sut.dataSource.query(`UPDATE cleanup_tasks SET parent_id = $2 WHERE id = $1`, [root, grandchild]);

      const response = await getTree(root);
      expect(response.status).toBe(200);
      expect(response.body.map((task: { id: string }) => task.id)).toEqual([root, child, grandchild]);
      expect((await getTree(grandchild)).body.map((task: { id: string }) => task.id)).toEqual([grandchild, root, child]);
    });

    it('answers 404 for an unknown task, 400 for a malformed id, 403 for a member, 401 without a token', async () => {
      const [id] = await insertTasks(sut.dataSource, [{ workspaceId: 'ws_alpha' }]);
      const unknown = await getTree(UNKNOWN_ID);
      expect(unknown.status).toBe(404);
      expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await getTree('ct_01jdq7z4y8k3m5n6p7q8r9s0tv')).status).toBe(400);
      expect((await request(sut.server).get(`/api/cleanup-tasks/${id}/tree`).auth(sut.tokens.member, { type: 'bearer' })).status).toBe(403);
      expect((await request(sut.server).get(`/api/cleanup-tasks/${id}/tree`)).status).toBe(401);
    });

    it('streams a tree of 100,001 tasks in order, in many chunks', async () => {
      await insertWideTree(ROOT, 1000, 99);
      const response = await getTree(ROOT)
        .buffer(true)
        .parse((res, done) => {
          let chunks = 0;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            chunks++;
            text += chunk;
          });
          res.on('end', () => done(null, { chunks, text }));
        });
      expect(response.status).toBe(200);
      expect(response.headers['transfer-encoding']).toBe('chunked');
      expect(response.headers['content-length']).toBeUndefined();
      const { chunks, text } = response.body as { chunks: number; text: string };
      expect(chunks).toBeGreaterThan(50);
      const tasks = JSON.parse(text) as { id: string; resourceType: string }[];
      expect(tasks).toHaveLength(100_001);
      expect(tasks[0].id).toBe(ROOT);
      expect(tasks.slice(1, 1001).every((task) => task.resourceType === 'delete_app')).toBe(true);
      expect(tasks.slice(1001).every((task) => task.resourceType === 'delete_element')).toBe(true);
      const ids = tasks.map((task) => task.id);
      expect(ids.slice(1, 1001)).toEqual([...ids.slice(1, 1001)].sort());
      expect(ids.slice(1001)).toEqual([...ids.slice(1001)].sort());
      expect(new Set(ids).size).toBe(100_001);
    });

    const listening = async (): Promise<number> => {
      if (!sut.server.listening) await new Promise<void>((resolve) => sut.server.listen(0, '127.0.0.1', resolve));
      return (sut.server.address() as AddressInfo).port;
    };
    const openTreeCursors = async () =>
      (
        await sut.dataSource.query(
          `SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'FETCH%' AND state <> 'idle'`,
        )
      )[0].open as number;

    it('ends the stream of a client that stops reading (STREAM_STALL_TIMEOUT_MS), letting go of its cursor and connection', async () => {
      await insertWideTree(ROOT, 1000, 99);
      const port = await listening();
      let req: ReturnType<typeof httpGet> | undefined;
      try {
        // Take one chunk, then stop reading without closing: a stalled or half-open client.
        await new Promise<void>((resolve, reject) => {
          req = httpGet({ host: '127.0.0.1', port, path: `/api/cleanup-tasks/${ROOT}/tree`, headers: { authorization: `Bearer ${sut.tokens.admin}` } }, (res) => {
            res.once('data', () => {
              res.pause();
              resolve();
            });
          });
          req.on('error', reject);
        });
        const stalled = Date.now();
        expect(await openTreeCursors()).toBe(1);
        // The server gives up on the stalled client: its cursor (and connection) go, though the client never closed.
        await waitFor('the stalled tree cursor to be closed', async () => (await openTreeCursors()) === 0, { timeoutMs: 10_000 });
        expect(Date.now() - stalled).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS - 500);
      } finally {
        req?.destroy();
      }
      const response = await getTree(ROOT);
      expect(response.status).toBe(200);
      expect(response.body).toHaveLength(100_001);
    });

    it('answers 503 busy with Retry-After while every tree connection (TREE_POOL_SIZE) is in use; the rest of the API is unaffected', async () => {
      const [root] = await insertTasks(sut.dataSource, [{}]);
      // A client of its own holds the table: the downloads wait on it, each on a tree connection.
      const blocker = new pg.Client({ connectionString: sut.databaseUrl });
      await blocker.connect();
      const waitingTrees = async () =>
        (await sut.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE '%-tree' AND wait_event_type = 'Lock'`))[0].n as number;
      const held: Promise<request.Response>[] = [];
      try {
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE cleanup_tasks IN ACCESS EXCLUSIVE MODE');
        for (let i = 0; i < TREE_POOL_SIZE; i++) held.push(getTree(root).then((response) => response));
        await waitFor('the downloads to hold every tree connection', async () => (await waitingTrees()) === TREE_POOL_SIZE, { timeoutMs: 10_000 });
        const busy = await getTree(root);
        expect(busy.status).toBe(503);
        expect(busy.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(busy.headers['retry-after']).toBe('5');
        expect(busy.body).toMatchObject({ status: 503, code: 'busy', detail: expect.stringContaining('tree downloads') });
        // The main pool is untouched: tokens (another table) answer at once.
        expect((await asAdmin(request(sut.server).get('/api/tokens'))).status).toBe(200);
      } finally {
        await blocker.query('ROLLBACK').catch(() => undefined);
        await blocker.end();
      }
      for (const response of await Promise.all(held)) {
        expect(response.status).toBe(200);
        expect(response.body).toHaveLength(1);
      }
    });

    it('lets go of its database connection when the client hangs up half-way', async () => {
      await insertWideTree(ROOT, 50, 100);
      const port = await listening();
      // More aborted streams than the tree pool has connections: a leak would turn the last ones away (503).
      for (let i = 0; i < TREE_POOL_SIZE + 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = httpGet({ host: '127.0.0.1', port, path: `/api/cleanup-tasks/${ROOT}/tree`, headers: { authorization: `Bearer ${sut.tokens.admin}` } }, (res) => {
            if (res.statusCode !== 200) reject(new Error(`request ${i + 1} answered ${res.statusCode}: tree connections are not released`));
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          });
          req.on('error', reject);
          req.setTimeout(5000, () => reject(new Error(`request ${i + 1} got no answer in 5 s: tree connections are not released`)));
        });
      }
      await waitFor('tree cursors to be closed', async () => (await openTreeCursors()) === 0);
      const response = await getTree(`ct_01JDQ7Z4Y8K3M5N7${'1'.padStart(10, '0')}`);
      expect(response.status).toBe(200);
      expect(response.body).toHaveLength(101);
    });
  });
});

describe('Tree downloads past TREE_QUERY_TIMEOUT_MS', () => {
  const ROOT = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0T0';
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({ env: { TREE_QUERY_TIMEOUT_MS: '300', DATABASE_POOL_SIZE: '2' } });
    await insertTasks(sut.dataSource, [{ id: ROOT }, { parentId: ROOT }, { parentId: ROOT }]);
  });
  afterAll(async () => {
    await sut.close();
  });

  it('are cancelled in PostgreSQL and answered 504 problem+json (query-timeout) before anything is sent; the connection comes back without the limit', async () => {
    // A client of its own holds the table, so the tree's statement waits until PostgreSQL cancels it.
    const blocker = new pg.Client({ connectionString: sut.databaseUrl });
    await blocker.connect();
    let response: request.Response;
    const started = Date.now();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE cleanup_tasks IN ACCESS EXCLUSIVE MODE');
      response = await request(sut.server).get(`/api/cleanup-tasks/${ROOT}/tree`).auth(sut.tokens.admin, { type: 'bearer' });
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(response.status).toBe(504);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 504, code: 'query-timeout', limitMs: 300, detail: expect.stringContaining('parentId') });
    expect(JSON.stringify(response.body)).not.toMatch(/SELECT|FETCH|DECLARE|cleanup_tasks|statement/i);

    const again = await request(sut.server).get(`/api/cleanup-tasks/${ROOT}/tree`).auth(sut.tokens.admin, { type: 'bearer' });
    expect(again.status).toBe(200);
    expect(again.body).toHaveLength(3);
    // The limit was local to the tree's transaction: neither pooled connection keeps it.
    const settings = await Promise.all(
      [0, 1].map(async () => {
        const runner = sut.dataSource.createQueryRunner();
        await runner.connect();
        try {
          const [row] = await runner.query(`SELECT current_setting('statement_timeout') AS value, pg_sleep(0.05)`);
          return row.value as string;
        } finally {
          await runner.release();
        }
      }),
    );
    expect(settings).toEqual(['0', '0']);
  });
});
