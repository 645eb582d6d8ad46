import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { CursorCodec } from '@app/query-dsl';
import { CleanupTasksRepository } from '@app/cleanup-tasks/cleanup-tasks.repository';
import { CleanupTasksService } from '@app/cleanup-tasks/cleanup-tasks.service';
import { CURSOR_SECRET_NAME, loadCursorSecret } from '@app/cleanup-tasks/cursor-secret.provider';
import { validateEnvironment } from '@app/common';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';
import { list, listPage, taskId, walkBackward, walkForward } from './support/list-helpers';

/** 30 tasks: createdAt in ties of three, statuses rotating, in ws_alpha and ws_beta; ids in order. */
const ROWS = Array.from({ length: 30 }, (_, i) => ({
  id: taskId(100 + i),
  workspaceId: i % 4 === 3 ? 'ws_beta' : 'ws_alpha',
  status: (['pending', 'failed', 'in_progress'] as const)[i % 3],
  attempts: i % 5,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, Math.floor(i / 3))).toISOString(),
}));
const ALL = ROWS.map((row) => row.id);
const ids = (page: { data: Record<string, unknown>[] }) => page.data.map((task) => task.id as string);

describe('List [GET /api/cleanup-tasks] keyset paging and exact totals', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
    await insertTasks(sut.dataSource, ROWS);
  });
  afterAll(async () => {
    await sut.close();
  });

  it('walks forward with after and backward with before, reproducing the order without gaps or duplicates', async () => {
    const forward = await walkForward(sut, sut.tokens.admin, { limit: '7' });
    expect(forward.ids).toEqual(ALL);
    expect(forward.pages.map((page) => [page.data.length, page.pageInfo.hasPreviousPage, page.pageInfo.hasNextPage, page.pageInfo.total])).toEqual([
      [7, false, true, 30],
      [7, true, true, 30],
      [7, true, true, 30],
      [7, true, true, 30],
      [2, true, false, 30],
    ]);
    const backward = await walkBackward(sut, sut.tokens.admin, { limit: '7' }, forward.pages[4].pageInfo.startCursor!);
    expect([...backward.ids, ...ids(forward.pages[4])]).toEqual(ALL);
    expect(backward.pages.map((page) => [page.data.length, page.pageInfo.hasPreviousPage, page.pageInfo.hasNextPage])).toEqual([
      [7, true, true],
      [7, true, true],
      [7, true, true],
      [7, false, true],
    ]);
  });

  it('pages backward in forward order: the limit rows closest to the before cursor', async () => {
    const all = await listPage(sut, sut.tokens.admin, { limit: '100' });
    const cursorOf = async (index: number) => (await listPage(sut, sut.tokens.admin, { limit: '1', ...(index > 0 ? { after: (await listPage(sut, sut.tokens.admin, { limit: String(index) })).pageInfo.endCursor } : {}) })).pageInfo.startCursor!;
    const before = await listPage(sut, sut.tokens.admin, { limit: '4', before: await cursorOf(10) });
    expect(ids(before)).toEqual(ALL.slice(6, 10));
    expect(before.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true, total: 30 });
    const nearStart = await listPage(sut, sut.tokens.admin, { limit: '4', before: await cursorOf(2) });
    expect(ids(nearStart)).toEqual(ALL.slice(0, 2));
    expect(nearStart.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    expect(ids(all)).toEqual(ALL);
  });

  it('answers the rows strictly between after and before, forward from after', async () => {
    const first = await listPage(sut, sut.tokens.admin, { limit: '5' });
    const fourth = await listPage(sut, sut.tokens.admin, { limit: '5', after: (await listPage(sut, sut.tokens.admin, { limit: '15' })).pageInfo.endCursor! });
    const between = await listPage(sut, sut.tokens.admin, { limit: '100', after: first.pageInfo.endCursor!, before: fourth.pageInfo.startCursor! });
    expect(ids(between)).toEqual(ALL.slice(5, 15));
    expect(between.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true, total: 30 });
    const capped = await listPage(sut, sut.tokens.admin, { limit: '3', after: first.pageInfo.endCursor!, before: fourth.pageInfo.startCursor! });
    expect(ids(capped)).toEqual(ALL.slice(5, 8));
    expect(capped.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    const empty = await listPage(sut, sut.tokens.admin, { after: fourth.pageInfo.startCursor!, before: fourth.pageInfo.startCursor! });
    expect(empty).toEqual({ data: [], pageInfo: { total: 30, hasPreviousPage: true, hasNextPage: true, startCursor: null, endCursor: null } });
  });

  it('answers an empty page past either end, with exact neighbours and null cursors', async () => {
    const last = await listPage(sut, sut.tokens.admin, { limit: '1', orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    const end = await listPage(sut, sut.tokens.admin, { after: (await walkForward(sut, sut.tokens.admin, { limit: '30' })).pages[0].pageInfo.endCursor! });
    expect(end).toEqual({ data: [], pageInfo: { total: 30, hasPreviousPage: true, hasNextPage: false, startCursor: null, endCursor: null } });
    const start = await listPage(sut, sut.tokens.admin, { before: (await listPage(sut, sut.tokens.admin, { limit: '1' })).pageInfo.startCursor! });
    expect(start.pageInfo).toMatchObject({ total: 30, hasPreviousPage: false, hasNextPage: true });
    expect(ids(last)).toEqual([ALL[29]]);
  });

  it('keeps a cursor valid when the page size changes', async () => {
    const page = await listPage(sut, sut.tokens.admin, { limit: '2' });
    expect(ids(await listPage(sut, sut.tokens.admin, { limit: '5', after: page.pageInfo.endCursor! }))).toEqual(ALL.slice(2, 7));
  });

  it('keeps a cursor working after its row changed or was deleted (it holds sort values, not a row reference)', async () => {
    const params = { status: 'failed', limit: '3' };
    const first = await listPage(sut, sut.tokens.admin, params);
    const failed = ROWS.filter((row) => row.status === 'failed').map((row) => row.id);
    expect(ids(first)).toEqual(failed.slice(0, 3));
    const [cursorRow] = ids(first).slice(-1);
    await sut.dataSource.query(`UPDATE cleanup_tasks SET status = 'pending' WHERE id = $1`, [cursorRow]);
    try {
      const next = await listPage(sut, sut.tokens.admin, { ...params, after: first.pageInfo.endCursor! });
      expect(ids(next)).toEqual(failed.slice(3, 6));
      expect(next.pageInfo).toMatchObject({ total: failed.length - 1, hasPreviousPage: true });
    } finally {
      await sut.dataSource.query(`UPDATE cleanup_tasks SET status = 'failed' WHERE id = $1`, [cursorRow]);
    }

    const page = await listPage(sut, sut.tokens.admin, { limit: '10', after: (await listPage(sut, sut.tokens.admin, { limit: '9' })).pageInfo.endCursor! });
    const victim = ALL[9];
    expect(ids(page)[0]).toBe(victim);
    const victimRow = ROWS[9];
    await sut.dataSource.query(`DELETE FROM cleanup_tasks WHERE id = $1`, [victim]);
    try {
      const after = await listPage(sut, sut.tokens.admin, { limit: '3', after: page.pageInfo.startCursor! });
      expect(ids(after)).toEqual(ALL.slice(10, 13));
      const before = await listPage(sut, sut.tokens.admin, { limit: '3', before: page.pageInfo.startCursor! });
      expect(ids(before)).toEqual(ALL.slice(6, 9));
      expect(before.pageInfo).toMatchObject({ total: 29, hasPreviousPage: true, hasNextPage: true });
    } finally {
      await insertTasks(sut.dataSource, [victimRow]);
    }
  });

  it('serves identical pages whether it walks an index or enumerates the matches (the run-time branch)', async () => {
    const repository = sut.app.get(CleanupTasksRepository);
    // The repository the endpoint uses is the one tuned here (one instance per application).
    expect((sut.app.get(CleanupTasksService) as unknown as { repository: unknown }).repository).toBe(repository);
    // Records the SQL the endpoint sends, through the list pool's clients.
    const statements: string[] = [];
    const reads = repository['listReads'];
    const pool = sut.db.sidePool(reads.name, reads.shape!).pool;
    const connect = pool.connect.bind(pool) as () => Promise<{ query: (...args: unknown[]) => unknown }>;
    const patched = new Map<{ query: (...args: unknown[]) => unknown }, (...args: unknown[]) => unknown>();
    const spy = jest.spyOn(pool, 'connect').mockImplementation((async () => {
      const client = await connect();
      if (!patched.has(client)) {
        const query = client.query;
        patched.set(client, query);
        client.query = (config: unknown, ...rest: unknown[]) => {
          statements.push((config as { text: string }).text);
          return query.call(client, config, ...rest);
        };
      }
      return client;
    }) as never);
    // Only filters with relation traversal take the run-time branch.
    const queries: Record<string, unknown>[] = [
      { limit: '4', filter: { children: { none: {} } } },
      { limit: '4', filter: { NOT: { parent: { parentId: { isNull: true } } } } },
      { limit: '3', filter: { OR: [{ children: { every: { status: { eq: 'failed' } } } }, { attempts: { gte: 2 } }] }, orderBy: [{ attempts: 'desc' }, { status: 'asc' }] },
      { limit: '5', status: 'pending', filter: { NOT: { parent: {} } }, orderBy: [{ createdAt: 'desc' }] },
    ];
    const walk = async (enumerateBelow: number) => {
      repository.listOptions.enumerateBelow = enumerateBelow;
      const results = [];
      for (const query of queries) {
        const forward = await walkForward(sut, sut.tokens.member, query);
        const backward = await walkBackward(sut, sut.tokens.member, query, forward.pages[forward.pages.length - 1].pageInfo.endCursor!);
        results.push({ query, forward: forward.pages.map((page) => [ids(page), page.pageInfo]), backward: backward.pages.map((page) => [ids(page), page.pageInfo]) });
      }
      return results;
    };
    try {
      const byIndex = await walk(0);
      const byEnumeration = await walk(1_000_000);
      expect(byEnumeration).toEqual(byIndex);
      expect(byIndex[0].forward.length).toBeGreaterThan(3);
      // Both settings reached the statement.
      expect(statements.some((text) => text.includes('LIMIT 1), info AS'))).toBe(true);
      expect(statements.some((text) => text.includes('LIMIT 1000001), info AS'))).toBe(true);
    } finally {
      spy.mockRestore();
      for (const [client, query] of patched) client.query = query;
      repository.listOptions.enumerateBelow = 5000;
    }
  });

  describe('exact totals from the counters', () => {
    const totals = async () => ({
      admin: (await listPage(sut, sut.tokens.admin, { limit: '1' })).pageInfo.total,
      member: (await listPage(sut, sut.tokens.member, { limit: '1' })).pageInfo.total,
      failedAlpha: (await listPage(sut, sut.tokens.admin, { limit: '1', status: 'failed', workspace_id: 'ws_alpha' })).pageInfo.total,
      notPendingApps: (await listPage(sut, sut.tokens.admin, { limit: '1', filter: { resourceType: { eq: 'delete_app' }, NOT: { status: { eq: 'pending' } } } })).pageInfo.total,
    });
    const counted = async () => {
      const [row] = await sut.dataSource.query(`
        SELECT count(*)::int AS admin,
               count(*) FILTER (WHERE workspace_id IN ('ws_alpha', 'ws_beta'))::int AS member,
               count(*) FILTER (WHERE status = 'failed' AND workspace_id = 'ws_alpha')::int AS "failedAlpha",
               count(*) FILTER (WHERE resource_type = 'delete_app' AND status <> 'pending')::int AS "notPendingApps"
          FROM cleanup_tasks`);
      return row as Record<string, number>;
    };

    it('stay exact through inserts, status changes, cascading deletes and compaction', async () => {
      const repository = sut.app.get(CleanupTasksRepository);
      await repository.compactTaskCounts();
      expect(await totals()).toEqual(await counted());

      const [root, child1, child2] = [taskId(900), taskId(901), taskId(902)];
      await insertTasks(sut.dataSource, [
        { id: root, workspaceId: 'ws_alpha', status: 'in_progress' },
        { id: child1, parentId: root, workspaceId: 'ws_alpha', resourceType: 'delete_app', status: 'pending' },
        { id: child2, parentId: root, workspaceId: 'ws_alpha', resourceType: 'delete_app', status: 'failed' },
      ]);
      expect(await totals()).toEqual(await counted());
      await sut.dataSource.query(`UPDATE cleanup_tasks SET status = 'failed', updated_at = now() WHERE id = ANY($1)`, [[child1, taskId(101), taskId(104)]]);
      await sut.dataSource.query(`UPDATE cleanup_tasks SET locked_until = now() WHERE id = $1`, [child2]);
      expect(await totals()).toEqual(await counted());
      expect(await repository.compactTaskCounts()).toBeGreaterThan(0);
      expect(await totals()).toEqual(await counted());
      await sut.dataSource.query(`DELETE FROM cleanup_tasks WHERE id = $1`, [root]);
      expect(await totals()).toEqual(await counted());
      await sut.dataSource.query(`UPDATE cleanup_tasks SET status = 'pending' WHERE id = ANY($1)`, [[taskId(101), taskId(104)]]);
      await sut.dataSource.query(`UPDATE cleanup_tasks SET status = 'failed' WHERE id = $1`, [taskId(101)]);
      await repository.compactTaskCounts();
      expect(await totals()).toEqual(await counted());
      const [{ n }] = await sut.dataSource.query(`SELECT count(*)::int AS n FROM cleanup_task_count_deltas`);
      expect(n).toBe(0);
    });

    it('see only committed work, like the rows they count', async () => {
      const runner = sut.dataSource.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      try {
        const before = await totals();
        await runner.query(`INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id) VALUES ($1, 'ws_alpha', 'delete_app', 'r')`, [taskId(950)]);
        expect(await totals()).toEqual(before);
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
      expect(await totals()).toEqual(await counted());
    });
  });
});

describe('List cursors are signed with CURSOR_SECRET, else with a key kept in the database', () => {
  let sut: TestApp;
  const secret = 'configured-cursor-secret-0123456789-abcdef';

  beforeAll(async () => {
    sut = await createTestApp({ env: { CURSOR_SECRET: secret } });
    await insertTasks(sut.dataSource, ROWS.slice(0, 3));
  });
  afterAll(async () => {
    await sut.close();
  });

  it('signs with CURSOR_SECRET when configured', async () => {
    const page = await listPage(sut, sut.tokens.admin, { limit: '1' });
    const other = new CursorCodec('another-secret-of-sufficient-length-000');
    const decode = (codec: CursorCodec) => () =>
      codec.decode(page.pageInfo.endCursor, { orderBy: [{ field: 'createdAt', direction: 'asc', nulls: 'last' }, { field: 'id', direction: 'asc', nulls: 'last' }], spec: { fields: {} } as never, fingerprint: 'x', path: 'after' });
    expect(decode(other)).toThrow('malformed cursor');
    expect(decode(new CursorCodec(secret))).toThrow('cursor does not belong to this query');
  });

  it('otherwise generates one key once, stored in service_secrets, and reuses it', async () => {
    const config = validateEnvironment({});
    const first = await loadCursorSecret(config, sut.db);
    const second = await loadCursorSecret(config, sut.db);
    expect(first).toBe(second);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sut.dataSource.query(`SELECT secret FROM service_secrets WHERE name = $1`, [CURSOR_SECRET_NAME])).toEqual([{ secret: first }]);
    expect(await loadCursorSecret(validateEnvironment({ CURSOR_SECRET: secret }), sut.db)).toBe(secret);
  });

  it('rejects a cursor signed with another key', async () => {
    const foreign = new CursorCodec('a-different-key-000000000000000000').encode(['2026-01-01T00:00:00.000Z', taskId(100)], 'x');
    const response = await list(sut, sut.tokens.admin, { after: foreign });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: 'after', message: 'malformed cursor' }]);
  });
});
