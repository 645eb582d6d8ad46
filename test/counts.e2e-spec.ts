import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { CleanupTasksRepository } from '@app/cleanup-tasks/cleanup-tasks.repository';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';
import { taskId } from './support/list-helpers';

/** `GET /api/cleanup-tasks/counts` with the given parameters (objects sent as JSON). */
function counts(sut: TestApp, token: string | undefined, params: Record<string, unknown> = {}) {
  const query = Object.fromEntries(Object.entries(params).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
  const test = request(sut.server).get('/api/cleanup-tasks/counts').query(query);
  return token === undefined ? test : test.auth(token, { type: 'bearer' });
}

describe('Counts [GET /api/cleanup-tasks/counts]', () => {
  let sut: TestApp;
  let countedBy: string[];

  beforeAll(async () => {
    sut = await createTestApp();
    // Which path answered each request (the counters or a GROUP BY): the real method, observed.
    const repository = sut.app.get(CleanupTasksRepository);
    const original = repository.counts.bind(repository);
    repository.counts = async (criteria) => {
      const result = await original(criteria);
      countedBy.push(result.countedBy);
      return result;
    };
  });
  afterAll(async () => {
    await sut.close();
  });
  beforeEach(async () => {
    countedBy = [];
    await sut.dataSource.query('DELETE FROM cleanup_tasks');
  });

  const ok = async (token: string, params: Record<string, unknown>) => {
    const response = await counts(sut, token, params);
    if (response.status !== 200) throw new Error(`expected 200, got ${response.status}: ${response.text}`);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    return response.body as { total: number; groups: Record<string, unknown>[] };
  };

  async function seed(): Promise<void> {
    await insertTasks(sut.dataSource, [
      { workspaceId: 'ws_alpha', resourceType: 'delete_app', status: 'failed', attempts: 5 },
      { workspaceId: 'ws_alpha', resourceType: 'delete_app', status: 'failed', attempts: 2 },
      { workspaceId: 'ws_alpha', resourceType: 'delete_app', status: 'completed' },
      { workspaceId: 'ws_alpha', resourceType: 'delete_workspace', status: 'pending' },
      { workspaceId: 'ws_beta', resourceType: 'delete_element', status: 'failed', attempts: 1 },
      { workspaceId: 'ws_gamma', resourceType: 'delete_app', status: 'in_progress', attempts: 1 },
      { workspaceId: 'ws_gamma', resourceType: 'delete_database', status: 'completed' },
    ]);
  }

  it('counts per group in the groupBy order, sorted by those fields, leaving out empty groups; the counts add up to total', async () => {
    await seed();
    expect(await ok(sut.tokens.admin, { groupBy: 'status,resource_type' })).toEqual({
      total: 7,
      groups: [
        { status: 'completed', resourceType: 'delete_app', count: 1 },
        { status: 'completed', resourceType: 'delete_database', count: 1 },
        { status: 'failed', resourceType: 'delete_app', count: 2 },
        { status: 'failed', resourceType: 'delete_element', count: 1 },
        { status: 'in_progress', resourceType: 'delete_app', count: 1 },
        { status: 'pending', resourceType: 'delete_workspace', count: 1 },
      ],
    });
    const byType = await ok(sut.tokens.admin, { groupBy: 'resource_type,status' });
    expect(byType.groups.map((group) => Object.keys(group))).toEqual(Array.from({ length: 6 }, () => ['resourceType', 'status', 'count']));
    expect(byType.groups.map((group) => `${group.resourceType}/${group.status}`)).toEqual([
      'delete_app/completed', 'delete_app/failed', 'delete_app/in_progress', 'delete_database/completed', 'delete_element/failed', 'delete_workspace/pending',
    ]);
    expect(await ok(sut.tokens.admin, { groupBy: 'workspace_id' })).toEqual({
      total: 7,
      groups: [
        { workspaceId: 'ws_alpha', count: 4 },
        { workspaceId: 'ws_beta', count: 1 },
        { workspaceId: 'ws_gamma', count: 2 },
      ],
    });
  });

  it('sorts workspace ids in byte order (uppercase before lowercase, accents last)', async () => {
    await insertTasks(sut.dataSource, ['ws_é', 'ws_a', 'ws_Z', 'ws_B', 'ws_a'].map((workspaceId) => ({ workspaceId })));
    for (const filter of [undefined, { attempts: { gte: 0 } }]) {
      const body = await ok(sut.tokens.admin, { groupBy: 'workspace_id', ...(filter ? { filter } : {}) });
      expect(body.groups).toEqual([
        { workspaceId: 'ws_B', count: 1 },
        { workspaceId: 'ws_Z', count: 1 },
        { workspaceId: 'ws_a', count: 2 },
        { workspaceId: 'ws_é', count: 1 },
      ]);
    }
    expect(countedBy).toEqual(['counters', 'rows']);
  });

  it('reads the counters when the query reads only workspace, status and resource type, and GROUP BYs the rows otherwise, with the same answers', async () => {
    await seed();
    const pairs: [Record<string, unknown>, Record<string, unknown>][] = [
      // The same selection, once on counted fields only and once with a condition on another field that every task meets.
      [{ groupBy: 'status' }, { groupBy: 'status', filter: { attempts: { gte: 0 } } }],
      [{ groupBy: 'workspace_id,status', resource_type: 'delete_app' }, { groupBy: 'workspace_id,status', resource_type: 'delete_app', filter: { createdAt: { gt: '2000-01-01' } } }],
      [
        { groupBy: 'resource_type', filter: { OR: [{ status: { eq: 'failed' } }, { workspaceId: { startsWith: 'ws_g' } }], NOT: { resourceType: { in: ['delete_database'] } } } },
        { groupBy: 'resource_type', filter: { OR: [{ status: { eq: 'failed' } }, { workspaceId: { startsWith: 'ws_g' } }], NOT: { resourceType: { in: ['delete_database'] } }, lastError: { isNull: true } } },
      ],
    ];
    for (const [counted, grouped] of pairs) {
      for (const token of [sut.tokens.admin, sut.tokens.member]) expect(await ok(token, grouped)).toEqual(await ok(token, counted));
    }
    expect(countedBy).toEqual(Array.from({ length: 6 }, () => ['rows', 'counters']).flat());
    // Relations, ids, parent_id and source_event_id read other fields: GROUP BY.
    countedBy = [];
    const [root] = await insertTasks(sut.dataSource, [{ workspaceId: 'ws_alpha', sourceEventId: 'evt_1', status: 'failed' }]);
    await insertTasks(sut.dataSource, [{ parentId: root, workspaceId: 'ws_alpha', resourceType: 'delete_app', status: 'failed' }]);
    expect(await ok(sut.tokens.admin, { groupBy: 'status', filter: { children: { some: { status: { eq: 'failed' } } } } })).toEqual({ total: 1, groups: [{ status: 'failed', count: 1 }] });
    expect(await ok(sut.tokens.admin, { groupBy: 'resource_type', parent_id: root })).toEqual({ total: 1, groups: [{ resourceType: 'delete_app', count: 1 }] });
    expect(await ok(sut.tokens.admin, { groupBy: 'status', source_event_id: 'evt_1' })).toEqual({ total: 1, groups: [{ status: 'failed', count: 1 }] });
    expect(await ok(sut.tokens.admin, { groupBy: 'status', ids: `${root},${taskId(1)}` })).toEqual({ total: 1, groups: [{ status: 'failed', count: 1 }] });
    expect(countedBy).toEqual(['rows', 'rows', 'rows', 'rows']);
  });

  it('stays exact across the compaction of the counters and after updates and deletes', async () => {
    await seed();
    const repository = sut.app.get(CleanupTasksRepository);
    const before = await ok(sut.tokens.admin, { groupBy: 'status,resource_type' });
    await repository.compactTaskCounts();
    expect(await ok(sut.tokens.admin, { groupBy: 'status,resource_type' })).toEqual(before);
    await sut.dataSource.query(`UPDATE cleanup_tasks SET status = 'completed', completed_at = now() WHERE status = 'failed' AND workspace_id = 'ws_alpha'`);
    await sut.dataSource.query(`DELETE FROM cleanup_tasks WHERE workspace_id = 'ws_gamma'`);
    const expected = {
      total: 5,
      groups: [
        { status: 'completed', count: 3 },
        { status: 'failed', count: 1 },
        { status: 'pending', count: 1 },
      ],
    };
    expect(await ok(sut.tokens.admin, { groupBy: 'status' })).toEqual(expected);
    await repository.compactTaskCounts();
    expect(await ok(sut.tokens.admin, { groupBy: 'status' })).toEqual(expected);
    expect(await ok(sut.tokens.admin, { groupBy: 'status', filter: { attempts: { gte: 0 } } })).toEqual(expected);
  });

  it("counts a member's workspaces only, also inside relations; admin and service see all", async () => {
    await seed();
    const [gammaRoot] = await insertTasks(sut.dataSource, [{ workspaceId: 'ws_alpha', status: 'failed' }]);
    await insertTasks(sut.dataSource, [{ parentId: gammaRoot, workspaceId: 'ws_gamma', status: 'failed', resourceType: 'delete_app' }]);
    expect(await ok(sut.tokens.member, { groupBy: 'workspace_id' })).toEqual({
      total: 6,
      groups: [
        { workspaceId: 'ws_alpha', count: 5 },
        { workspaceId: 'ws_beta', count: 1 },
      ],
    });
    expect(await ok(sut.tokens.member, { groupBy: 'status', workspace_id: 'ws_gamma' })).toEqual({ total: 0, groups: [] });
    expect(await ok(sut.tokens.member, { groupBy: 'status', filter: { children: { some: {} } } })).toEqual({ total: 0, groups: [] });
    expect(await ok(sut.tokens.admin, { groupBy: 'status', filter: { children: { some: {} } } })).toEqual({ total: 1, groups: [{ status: 'failed', count: 1 }] });
    for (const token of [sut.tokens.admin, sut.tokens.service]) expect((await ok(token, { groupBy: 'workspace_id' })).total).toBe(9);
  });

  it('answers 403 to a metrics token (it reads /metrics only)', async () => {
    const response = await counts(sut, sut.tokens.metrics, { groupBy: 'status' });
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('answers 401 without a token or with a revoked one', async () => {
    for (const token of [undefined, sut.tokens.revoked]) {
      const response = await counts(sut, token, { groupBy: 'status' });
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('answers 400 too-many-groups past 1,000 groups, on either path, and serves exactly 1,000', async () => {
    await sut.dataSource.query(`INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id)
      SELECT 'ct_' || lpad(i::text, 26, '0'), 'ws_' || lpad(i::text, 4, '0'), 'delete_workspace', 'ws_' || lpad(i::text, 4, '0') FROM generate_series(1, 1001) AS i`);
    for (const params of [{ groupBy: 'workspace_id' }, { groupBy: 'workspace_id', filter: { attempts: { gte: 0 } } }, { groupBy: 'status,workspace_id' }]) {
      const response = await counts(sut, sut.tokens.admin, params);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 400, code: 'too-many-groups', maxGroups: 1000, detail: expect.stringContaining('Narrow it') });
    }
    for (const filter of [{ workspaceId: { neq: 'ws_0001' } }, { workspaceId: { neq: 'ws_0001' }, attempts: { gte: 0 } }]) {
      const body = await ok(sut.tokens.admin, { groupBy: 'workspace_id', filter });
      expect(body.total).toBe(1000);
      expect(body.groups).toHaveLength(1000);
      expect(body.groups[0]).toEqual({ workspaceId: 'ws_0002', count: 1 });
      expect(body.groups.at(-1)).toEqual({ workspaceId: 'ws_1001', count: 1 });
    }
    expect(countedBy).toEqual(['counters', 'rows', 'counters', 'counters', 'rows']);
  });

  describe('validation', () => {
    const cases: [name: string, params: Record<string, unknown>, errors: { path: string; message: string | RegExp }[]][] = [
      ['no groupBy', {}, [{ path: 'groupBy', message: 'required: one or two of status, resource_type or workspace_id, comma-separated' }]],
      ['an empty groupBy', { groupBy: '' }, [{ path: 'groupBy[0]', message: 'expected status, resource_type or workspace_id' }]],
      ['an unknown field', { groupBy: 'status,resourceType' }, [{ path: 'groupBy[1]', message: 'expected status, resource_type or workspace_id' }]],
      ['a field twice', { groupBy: 'status,status' }, [{ path: 'groupBy[1]', message: 'status is already grouped by at groupBy[0]' }]],
      ['three fields', { groupBy: 'status,resource_type,workspace_id' }, [{ path: 'groupBy', message: 'at most 2 fields (got 3)' }]],
      ['a repeated groupBy', { groupBy: ['status', 'resource_type'] }, [{ path: 'groupBy', message: /given more than once/ }]],
      [
        'paging and order',
        { groupBy: 'status', limit: '10', after: 'x', before: 'y', orderBy: [{ createdAt: 'asc' }] },
        ['limit', 'after', 'before', 'orderBy'].map((path) => ({ path, message: 'not taken by counts: they cover every matching task (no paging, no order)' })),
      ],
      ['an unknown parameter', { groupBy: 'status', group_by: 'status' }, [{ path: 'group_by', message: /^unknown query parameter \(expected one of groupBy, ids, filter, status, resource_type, workspace_id, parent_id, source_event_id\)$/ }]],
      ['a bad shortcut', { groupBy: 'status', status: 'done', parent_id: 'ct_1' }, [{ path: 'status', message: /expected one of/ }, { path: 'parent_id', message: /ct_/ }]],
      ['a malformed id', { groupBy: 'status', ids: 'ct_1' }, [{ path: 'ids[0]', message: /ct_/ }]],
      ['a bad filter', { groupBy: 'status', filter: { OR: [{ status: { eq: 'failed' } }, { attempts: { gt: 'x' } }] } }, [{ path: 'filter.OR[1].attempts.gt', message: 'expected integer' }]],
      ['a filter on an unknown field', { groupBy: 'status', filter: { nope: { eq: 1 } } }, [{ path: 'filter.nope', message: 'unknown field' }]],
    ];

    it.each(cases)('answers 400 naming every problem for %s', async (_name, params, errors) => {
      const response = await request(sut.server)
        .get('/api/cleanup-tasks/counts')
        .query(Object.fromEntries(Object.entries(params).map(([key, value]) => [key, typeof value === 'string' || (Array.isArray(value) && typeof value[0] === 'string') ? value : JSON.stringify(value)])))
        .auth(sut.tokens.admin, { type: 'bearer' });
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 400, code: 'validation-failed' });
      expect(response.body.errors).toHaveLength(errors.length);
      errors.forEach((error, i) => {
        expect(response.body.errors[i].path).toBe(error.path);
        if (typeof error.message === 'string') expect(response.body.errors[i].message).toBe(error.message);
        else expect(response.body.errors[i].message).toMatch(error.message);
      });
    });
  });
});

describe('Counts past LIST_QUERY_TIMEOUT_MS', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({ env: { LIST_QUERY_TIMEOUT_MS: '300' } });
    await insertTasks(sut.dataSource, [{ status: 'failed' }, {}]);
  });
  afterAll(async () => {
    await sut.close();
  });

  it('are cancelled in PostgreSQL and answered 504 problem+json (query-timeout), on either path; the next one is served', async () => {
    for (const [table, params] of [
      ['cleanup_tasks', { groupBy: 'status', filter: JSON.stringify({ attempts: { gte: 0 } }) }],
      ['cleanup_task_counts', { groupBy: 'status' }],
    ] as const) {
      // A transaction holding the table blocks the statement until PostgreSQL cancels it.
      const blocker = sut.dataSource.createQueryRunner();
      await blocker.connect();
      let response: request.Response;
      try {
        await blocker.startTransaction();
        await blocker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
        response = await request(sut.server).get('/api/cleanup-tasks/counts').query(params).auth(sut.tokens.admin, { type: 'bearer' });
      } finally {
        if (blocker.isTransactionActive) await blocker.rollbackTransaction();
        await blocker.release();
      }
      expect(response.status).toBe(504);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 504, code: 'query-timeout', limitMs: 300, detail: expect.stringContaining('Narrow it') });
      expect(JSON.stringify(response.body)).not.toMatch(/SELECT|cleanup_task|statement/i);
      const again = await request(sut.server).get('/api/cleanup-tasks/counts').query(params).auth(sut.tokens.admin, { type: 'bearer' });
      expect(again.body).toEqual({ total: 2, groups: [{ status: 'failed', count: 1 }, { status: 'pending', count: 1 }] });
    }
  });
});
