import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';

describe('Get [GET /api/cleanup-tasks/{id}]', () => {
  let sut: TestApp;
  let alphaTask: string;
  let gammaTask: string;

  beforeAll(async () => {
    sut = await createTestApp();
    [alphaTask, gammaTask] = await insertTasks(sut.dataSource, [
      { workspaceId: 'ws_alpha', metadata: { region: 'eu' }, sourceEventId: 'evt_1' },
      { workspaceId: 'ws_gamma', status: 'failed', attempts: 5, lastError: 'boom' },
    ]);
  });
  afterAll(async () => {
    await sut.close();
  });

  it('answers 401 problem+json with WWW-Authenticate when no token is sent', async () => {
    const response = await request(sut.server).get(`/api/cleanup-tasks/${alphaTask}`);
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(response.body).toMatchObject({ status: 401, title: expect.any(String), type: expect.any(String), detail: expect.any(String) });
  });

  it.each([
    ['a non-bearer scheme', (t: string) => `Basic ${t}`],
    ['a bearer header without token', () => 'Bearer'],
    ['a bearer header with two tokens', (t: string) => `Bearer ${t} ${t}`],
    ['an unknown token', () => 'Bearer ctk_unknownunknownunknownunknownunknownunknown'],
  ])('answers 401 for %s', async (_label, header) => {
    const response = await request(sut.server).get(`/api/cleanup-tasks/${alphaTask}`).set('Authorization', header(sut.tokens.admin));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('takes the token only from the Authorization header, never from an access_token parameter (401, nothing done)', async () => {
    const detail = expect.stringContaining('Authorization: Bearer');
    const inQuery = await request(sut.server).get(`/api/cleanup-tasks/${alphaTask}?access_token=${sut.tokens.admin}`);
    expect(inQuery.status).toBe(401);
    expect(inQuery.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(inQuery.body).toMatchObject({ status: 401, detail });
    const both = await request(sut.server).get(`/api/cleanup-tasks/${alphaTask}?access_token=${sut.tokens.admin}`).auth(sut.tokens.admin, { type: 'bearer' });
    expect(both.status).toBe(401);

    const before = await sut.dataSource.query('SELECT count(*)::int AS n FROM cleanup_tasks');
    const inBody = await request(sut.server)
      .post('/api/cleanup-tasks')
      .send({ access_token: sut.tokens.admin, resourceType: 'delete_workspace', resourceId: 'ws_body', workspaceId: 'ws_body' });
    expect(inBody.status).toBe(401);
    expect(inBody.body).toMatchObject({ status: 401, detail });
    expect(await sut.dataSource.query('SELECT count(*)::int AS n FROM cleanup_tasks')).toEqual(before);
  });

  it('answers 401 for a revoked token', async () => {
    const response = await request(sut.server).get(`/api/cleanup-tasks/${alphaTask}`).auth(sut.tokens.revoked, { type: 'bearer' });
    expect(response.status).toBe(401);
  });

  it('shows an admin any task, with the contract fields only', async () => {
    const response = await request(sut.server).get(`/api/cleanup-tasks/${gammaTask}`).auth(sut.tokens.admin, { type: 'bearer' });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(
      ['attempts', 'completedAt', 'createdAt', 'id', 'lastError', 'metadata', 'parentId', 'resourceId', 'resourceType', 'sourceEventId', 'status', 'workspaceId'].sort(),
    );
    expect(response.body).toMatchObject({ id: gammaTask, workspaceId: 'ws_gamma', status: 'failed', attempts: 5, lastError: 'boom', parentId: null, completedAt: null, metadata: {} });
    expect(response.body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("shows a member a task of the member's workspaces", async () => {
    const response = await request(sut.server).get(`/api/cleanup-tasks/${alphaTask}`).auth(sut.tokens.member, { type: 'bearer' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: alphaTask, metadata: { region: 'eu' }, sourceEventId: 'evt_1' });
  });

  it('answers 404, not 403, for a task outside the member scope', async () => {
    const response = await request(sut.server).get(`/api/cleanup-tasks/${gammaTask}`).auth(sut.tokens.member, { type: 'bearer' });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 404, code: 'not-found' });
  });

  it('answers 404 for an unknown well-formed id', async () => {
    const response = await request(sut.server).get('/api/cleanup-tasks/ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV').auth(sut.tokens.admin, { type: 'bearer' });
    expect(response.status).toBe(404);
  });

  it.each(['nope', 'ct_123', "ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0T'", 'ct_01jdq7z4y8k3m5n6p7q8r9s0tv'])('answers 400 naming the path for malformed id %s', async (id) => {
    const response = await request(sut.server).get(`/api/cleanup-tasks/${encodeURIComponent(id)}`).auth(sut.tokens.admin, { type: 'bearer' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: 'id', message: expect.stringContaining('ct_') }]);
  });

  it('shows a task exactly alike in the list, by id and in its tree (fields, their order, text escapes, numbers, timestamps)', async () => {
    // All three get their JSON from the same SQL (taskContractJson); this holds the endpoints to it.
    const awkward = 'quote " backslash \\ newline \n tab \t control \u0001 é 漢字 emoji 🧹 </script>';
    const [root] = await insertTasks(sut.dataSource, [
      {
        workspaceId: 'ws_escapes', sourceEventId: 'evt_"odd"', resourceId: 'res "1" \\ x', status: 'failed', attempts: 2, lastError: awkward,
        createdAt: '2026-03-04T05:06:07.009Z',
        metadata: { [awkward]: [awkward, null, true, false, 0, -1.5, 12345678, 1e-7, { nested: { deeper: [] } }], empty: {}, unicode: '🧹\u2028' },
      },
    ]);
    const [child] = await insertTasks(sut.dataSource, [
      { parentId: root, workspaceId: 'ws_escapes', resourceType: 'delete_app', status: 'completed', createdAt: '2026-03-04T05:06:07.999Z', completedAt: '2026-03-05T00:00:00.010Z' },
    ]);
    const get = (path: string) => request(sut.server).get(path).auth(sut.tokens.admin, { type: 'bearer' });
    const listed = await get(`/api/cleanup-tasks?workspace_id=ws_escapes`);
    const tree = await get(`/api/cleanup-tasks/${root}/tree`);
    for (const [index, id] of [root, child].entries()) {
      const single = await get(`/api/cleanup-tasks/${id}`);
      expect(single.status).toBe(200);
      expect(listed.body.data[index]).toEqual(single.body);
      expect(Object.keys(listed.body.data[index])).toEqual(Object.keys(single.body));
      expect(tree.body[index]).toEqual(single.body);
      expect(Object.keys(tree.body[index])).toEqual(Object.keys(single.body));
    }
    expect(listed.body.data[0]).toMatchObject({ lastError: awkward, createdAt: '2026-03-04T05:06:07.009Z', completedAt: null });
    expect(listed.body.data[0].metadata[awkward][7]).toBe(1e-7);
    expect(listed.body.data[1]).toMatchObject({ createdAt: '2026-03-04T05:06:07.999Z', completedAt: '2026-03-05T00:00:00.010Z' });
  });
});
