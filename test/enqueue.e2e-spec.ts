import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { CleanupTasksService } from '@app/cleanup-tasks';
import { createTestApp, type TestApp } from './support/test-app';

describe('Enqueue [POST /api/cleanup-tasks]', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut.close();
  });

  const enqueue = (body: unknown, token = sut.tokens.admin) => request(sut.server).post('/api/cleanup-tasks').auth(token, { type: 'bearer' }).send(body as object);
  const count = async () => (await sut.dataSource.query('SELECT count(*)::int AS n FROM cleanup_tasks'))[0].n as number;

  it('creates a pending root task (201, Location naming it) and answers 200 with the same task for the same event again', async () => {
    const body = { resourceType: 'delete_workspace', resourceId: 'ws_delta', workspaceId: 'ws_delta', sourceEventId: 'evt_42', metadata: { reason: 'offboarding', by: { team: 'ops', n: 1 } } };
    const first = await enqueue(body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ ...body, status: 'pending', attempts: 0, parentId: null, lastError: null, completedAt: null });
    expect(first.body.id).toMatch(/^ct_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(first.headers.location).toBe(`/api/cleanup-tasks/${first.body.id}`);
    expect((await request(sut.server).get(first.headers.location).auth(sut.tokens.admin, { type: 'bearer' })).body).toEqual(first.body);

    const second = await enqueue(body);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.location).toBeUndefined();
    // Metadata is compared as a JSON value: key order and number spelling do not matter.
    const reordered = await request(sut.server)
      .post('/api/cleanup-tasks')
      .auth(sut.tokens.admin, { type: 'bearer' })
      .set('content-type', 'application/json')
      .send('{"metadata":{"by":{"n":1.0,"team":"ops"},"reason":"offboarding"},"sourceEventId":"evt_42","workspaceId":"ws_delta","resourceId":"ws_delta","resourceType":"delete_workspace"}');
    expect(reordered.status).toBe(200);
    expect(reordered.body.id).toBe(first.body.id);
  });

  it.each([
    ['other metadata', { metadata: { reason: 'redelivered' } }],
    ['metadata left out', { metadata: undefined }],
    ['a nested value changed', { metadata: { reason: 'offboarding', by: { team: 'ops', n: 2 } } }],
    ['another workspace', { workspaceId: 'ws_epsilon', resourceId: 'ws_epsilon' }],
  ])('answers 409 idempotency-conflict, naming the existing task, to the same event key with %s', async (_label, change) => {
    const body = { resourceType: 'delete_app', resourceId: 'app_conflict', workspaceId: 'ws_delta', sourceEventId: 'evt_conflict', metadata: { reason: 'offboarding', by: { team: 'ops', n: 1 } } };
    const first = await enqueue(body);
    expect([200, 201]).toContain(first.status);
    const before = await count();
    const response = await enqueue({ ...body, ...change, resourceId: 'app_conflict' });
    expect(response.status).toBe(409);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 409, code: 'idempotency-conflict', existingTaskId: first.body.id });
    expect(await count()).toBe(before);
  });

  it('answers 400 to a delete_workspace whose resourceId is not its workspaceId, here and in-process', async () => {
    const before = await count();
    const response = await enqueue({ resourceType: 'delete_workspace', resourceId: 'ws_other', workspaceId: 'ws_mine' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: 'resourceId', message: 'a delete_workspace task deletes its own workspace: resourceId must equal workspaceId' }]);
    await expect(sut.app.get(CleanupTasksService).enqueue({ resourceType: 'delete_workspace', resourceId: 'ws_other', workspaceId: 'ws_mine' })).rejects.toMatchObject({
      status: 400,
      code: 'validation-failed',
    });
    expect(await count()).toBe(before);
  });

  it('keeps one task when the same event is delivered concurrently', async () => {
    const body = { resourceType: 'delete_app', resourceId: 'app_1', workspaceId: 'ws_delta', sourceEventId: 'evt_race' };
    const responses = await Promise.all(Array.from({ length: 8 }, () => enqueue(body)));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
  });

  it('treats a different resource of the same event as a new task, and tasks without an event as always new', async () => {
    const a = await enqueue({ resourceType: 'delete_app', resourceId: 'app_2', workspaceId: 'ws_delta', sourceEventId: 'evt_race' });
    expect(a.status).toBe(201);
    const b1 = await enqueue({ resourceType: 'delete_app', resourceId: 'app_3', workspaceId: 'ws_delta' });
    const b2 = await enqueue({ resourceType: 'delete_app', resourceId: 'app_3', workspaceId: 'ws_delta' });
    expect([b1.status, b2.status]).toEqual([201, 201]);
    expect(b1.body.id).not.toBe(b2.body.id);
    expect(b1.body.metadata).toEqual({});
  });

  it.each([
    ['an unknown resource type', { resourceType: 'delete_universe', resourceId: 'x', workspaceId: 'ws' }, 'resourceType'],
    ['a missing workspace', { resourceType: 'delete_app', resourceId: 'x' }, 'workspaceId'],
    ['an array as metadata', { resourceType: 'delete_app', resourceId: 'x', workspaceId: 'ws', metadata: [1] }, 'metadata'],
    ['null metadata', { resourceType: 'delete_app', resourceId: 'x', workspaceId: 'ws', metadata: 'null' }, 'metadata'],
    ['a client-chosen status', { resourceType: 'delete_app', resourceId: 'x', workspaceId: 'ws', status: 'completed' }, 'status'],
    ['a client-chosen parent', { resourceType: 'delete_app', resourceId: 'x', workspaceId: 'ws', parentId: 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' }, 'parentId'],
    ['a numeric resource id', { resourceType: 'delete_app', resourceId: 7, workspaceId: 'ws' }, 'resourceId'],
    ['SQL in a field', { resourceType: "delete_app'; DROP TABLE cleanup_tasks; --", resourceId: 'x', workspaceId: 'ws' }, 'resourceType'],
  ])('answers 400 for %s, naming %s, and stores nothing', async (_label, body, path) => {
    const before = await count();
    const response = await enqueue(body);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await count()).toBe(before);
  });

  it('accepts a service token, which also reads every workspace', async () => {
    const created = await enqueue({ resourceType: 'delete_database', resourceId: 'db_9', workspaceId: 'ws_zeta', sourceEventId: 'evt_svc' }, sut.tokens.service);
    expect(created.status).toBe(201);
    const read = await request(sut.server).get(`/api/cleanup-tasks/${created.body.id}`).auth(sut.tokens.service, { type: 'bearer' });
    expect(read.status).toBe(200);
    const tokens = await request(sut.server).get('/api/tokens').auth(sut.tokens.service, { type: 'bearer' });
    expect(tokens.status).toBe(403);
  });

  it('answers 403 to a member and 401 without a token', async () => {
    const body = { resourceType: 'delete_app', resourceId: 'x', workspaceId: 'ws_alpha' };
    expect((await enqueue(body, sut.tokens.member)).status).toBe(403);
    expect((await request(sut.server).post('/api/cleanup-tasks').send(body)).status).toBe(401);
    expect((await enqueue(body, sut.tokens.revoked)).status).toBe(401);
  });

  it('offers the same to other modules in-process (CleanupTasksService.enqueue), with the stored task', async () => {
    const tasks = sut.app.get(CleanupTasksService);
    const input = { resourceType: 'delete_app' as const, resourceId: 'app_inproc', workspaceId: 'ws_inproc', sourceEventId: 'evt_inproc', metadata: { by: 'module' } };
    const first = await tasks.enqueue(input);
    expect(first.created).toBe(true);
    expect(first.task).toMatchObject({ resourceType: 'delete_app', resourceId: 'app_inproc', workspaceId: 'ws_inproc', parentId: null, status: 'pending', metadata: { by: 'module' } });
    const again = await tasks.enqueue(input);
    expect(again).toMatchObject({ created: false, task: { id: first.task.id } });
    const overHttp = await enqueue({ resourceType: 'delete_app', resourceId: 'app_inproc', workspaceId: 'ws_inproc', sourceEventId: 'evt_inproc', metadata: { by: 'module' } }, sut.tokens.admin);
    expect(overHttp.status).toBe(200);
    expect(overHttp.body.id).toBe(first.task.id);
  });
});
