import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { TASK_STATUSES } from '@app/cleanup-tasks/cleanup-task.enums';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';
import { asText } from './support/streamed-text';

/**
 * The task's JSON is built once, by PostgreSQL (taskContractJson); its
 * schema is written once, as CleanupTaskDto in the OpenAPI document. This
 * holds the two to each other: every answer that carries tasks validates
 * against the published schema, with exactly its fields, in every status.
 */
describe('Task JSON against the OpenAPI schema of CleanupTask', () => {
  let sut: TestApp;
  let validate: ValidateFunction;
  let properties: string[];

  beforeAll(async () => {
    sut = await createTestApp();
    const document = (await request(sut.server).get('/api/docs-json')).body as {
      components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
    };
    const schemas = document.components.schemas;
    const task = schemas.CleanupTaskDto;
    properties = Object.keys(task.properties ?? {});
    // OpenAPI 3.0 schema objects: Ajv knows `nullable`; `example` is annotation only.
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addSchema({ $id: 'openapi', components: { schemas } });
    validate = ajv.compile({ $ref: 'openapi#/components/schemas/CleanupTaskDto' });
  });
  afterAll(async () => {
    await sut?.close();
  });

  const expectValid = (label: string, task: Record<string, unknown>) => {
    const ok = validate(task);
    expect({ label, errors: ok ? [] : validate.errors }).toEqual({ label, errors: [] });
    expect({ label, fields: Object.keys(task) }).toEqual({ label, fields: properties });
  };

  it('requires every field it describes', () => {
    expect(properties).toEqual([
      'id', 'parentId', 'workspaceId', 'sourceEventId', 'resourceType', 'resourceId',
      'metadata', 'status', 'attempts', 'lastError', 'createdAt', 'completedAt',
    ]);
  });

  it('holds for tasks in every status, with nullable fields null and set, in the list, by id, in a tree, in an export and from enqueue', async () => {
    const [root] = await insertTasks(sut.dataSource, [
      { workspaceId: 'ws_schema', sourceEventId: 'evt_schema', status: 'failed', attempts: 5, lastError: 'gone', metadata: { nested: { list: [1, null, 'x'] } } },
    ]);
    const children = await insertTasks(
      sut.dataSource,
      TASK_STATUSES.map((status, index) => ({
        parentId: root,
        workspaceId: 'ws_schema',
        resourceType: 'delete_app' as const,
        resourceId: `app_${index}`,
        status,
        attempts: index,
        lastError: status === 'pending' ? null : `attempt ${index} failed`,
      })),
    );
    const get = (path: string) => request(sut.server).get(path).auth(sut.tokens.admin, { type: 'bearer' });

    const listed = await get('/api/cleanup-tasks?workspace_id=ws_schema');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((task: { status: string }) => task.status).sort()).toEqual(['failed', ...TASK_STATUSES].sort());
    for (const task of listed.body.data) expectValid(`list ${task.status}`, task);

    for (const id of [root, ...children]) {
      const single = await get(`/api/cleanup-tasks/${id}`);
      expect(single.status).toBe(200);
      expectValid(`by id ${single.body.status}`, single.body);
    }

    const tree = await get(`/api/cleanup-tasks/${root}/tree`);
    expect(tree.status).toBe(200);
    expect(tree.body).toHaveLength(1 + TASK_STATUSES.length);
    for (const task of tree.body) expectValid(`tree ${task.status}`, task);

    const exported = await asText(get('/api/cleanup-tasks/export?workspace_id=ws_schema'));
    expect(exported.status).toBe(200);
    const lines = (exported.body as string).split('\n').slice(0, -1);
    expect(lines).toHaveLength(1 + TASK_STATUSES.length);
    for (const line of lines) expectValid('export', JSON.parse(line));

    const enqueued = await request(sut.server)
      .post('/api/cleanup-tasks')
      .auth(sut.tokens.admin, { type: 'bearer' })
      .send({ resourceType: 'delete_workspace', resourceId: 'ws_new', workspaceId: 'ws_new' });
    expect(enqueued.status).toBe(201);
    expectValid('enqueue', enqueued.body);
  });

  it('is what the schema rejects when a field is missing, mistyped or null where it may not be', () => {
    const valid = {
      id: 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV', parentId: null, workspaceId: 'ws', sourceEventId: null, resourceType: 'delete_app', resourceId: 'a',
      metadata: {}, status: 'pending', attempts: 0, lastError: null, createdAt: '2026-11-29T10:15:30.123Z', completedAt: null,
    };
    expect(validate(valid)).toBe(true);
    const { attempts: _attempts, ...missing } = valid;
    for (const broken of [missing, { ...valid, attempts: '1' }, { ...valid, metadata: null }, { ...valid, status: 'done' }, { ...valid, workspaceId: null }, { ...valid, createdAt: 'yesterday' }]) {
      expect(validate(broken)).toBe(false);
    }
  });
});
