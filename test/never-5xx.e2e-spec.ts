import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import request from 'supertest';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';

/**
 * "No input may produce a 500": random requests to every endpoint, shaped
 * like real ones (known parameters, fields and operators) but filled with
 * hostile values: NUL, lone surrogates, invalid UTF-8, SQL, huge numbers,
 * JSON nested thousands of levels deep. Every answer must be a success or a
 * 4xx problem+json that names no SQL or stack frame, and a refused request
 * changes nothing. Fixed seed (NEVER_5XX_SEED to vary it), bounded in time.
 */
const SEED = Number(process.env.NEVER_5XX_SEED ?? 20261129);
const RUNS = 150;
const TIME_LIMIT_MS = 20_000;

const TASK = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0T0';
const FIELDS = ['id', 'parentId', 'workspaceId', 'sourceEventId', 'resourceType', 'resourceId', 'metadata', 'status', 'attempts', 'lastError', 'createdAt', 'completedAt'];
const OPERATORS = ['eq', 'neq', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'contains', 'startsWith', 'endsWith', 'like', 'ilike', 'hasKey', 'isNull', 'some', 'every', 'none'];

/** Strings PostgreSQL, URLs and parsers find awkward, among ordinary ones. */
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udc00', "'; DROP TABLE cleanup_tasks; --", '%', '_', '\\', 'é🧹', '__proto__', 'constructor', 'ws_alpha', TASK, '2026-01-01T00:00:00Z', ''),
);
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, 1.5));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, fc.constant(null), fc.boolean(), number, text, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(text, tie('value'), { maxKeys: 4 }),
})).value;
/** JSON text nested `depth` levels (up to far past any limit), inside a key. */
const deepJsonText = fc.integer({ min: 20, max: 6000 }).map((depth) => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`);

const filterArb = fc.letrec((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.dictionary(fc.constantFrom(...FIELDS, 'parent', 'children'), fc.oneof(tie('operand'), json), { maxKeys: 3 }),
    fc.record({ AND: fc.array(tie('filter'), { maxLength: 3 }) }),
    fc.record({ OR: fc.array(tie('filter'), { maxLength: 3 }) }),
    fc.record({ NOT: tie('filter') }),
    json,
  ),
  operand: fc.dictionary(fc.constantFrom(...OPERATORS), fc.oneof(json, tie('filter')), { minKeys: 1, maxKeys: 2 }),
})).filter;

/** Percent-encodes any string (lone surrogates as the UTF-8 of U+FFFD, as browsers do). */
const encode = (value: string) => [...Buffer.from(value, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
/** A query string value: a random one, or raw bytes that are not UTF-8. */
const rawValue = fc.oneof(text.map(encode), fc.constantFrom('%ED%A0%80', '%C0%AF', '%FF', '%ZZ', '%00'));

const filterValue = fc.oneof(filterArb.map((value) => encode(JSON.stringify(value) ?? 'null')), deepJsonText.map((value) => encode(`{"metadata":{"contains":${value}}}`)), rawValue);
const orderByValue = fc.oneof(fc.array(fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.constantFrom('asc', 'desc', 'asc_nulls_first', 'desc_nulls_last'), json), { maxKeys: 2 }), { maxLength: 3 }).map((value) => encode(JSON.stringify(value))), rawValue);
/** The parameters that choose tasks (list, counts, export), `filter` aside. */
const narrowing = {
  ids: fc.oneof(fc.array(fc.oneof(text, fc.constant(TASK)), { maxLength: 3 }).map((ids) => encode(ids.join(','))), rawValue),
  status: rawValue,
  resource_type: rawValue,
  workspace_id: rawValue,
  parent_id: rawValue,
  source_event_id: rawValue,
  [encode('x\u0000')]: rawValue,
};
const paging = {
  limit: fc.oneof(fc.integer({ min: -5, max: 600 }).map(String), rawValue),
  after: rawValue,
  before: rawValue,
};
const selection = { filter: filterValue, ...narrowing };
const queryString = (params: Record<string, string>) => Object.entries(params).map(([key, value]) => `${key}=${value}`).join('&');

const listQuery = fc.record({ filter: filterValue, orderBy: orderByValue, ...paging, ...narrowing }, { requiredKeys: [] }).map(queryString);
/** `value` one time in five, else nothing. */
const rarely = <T>(value: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, value);
/** For counts and exports: often a single hostile string in an otherwise valid query, so that it reaches SQL. */
const oneHostileString = fc.oneof(
  fc.record({ workspace_id: rawValue }),
  fc.record({ source_event_id: rawValue }),
  fc.record({ filter: text.map((value) => encode(JSON.stringify({ OR: [{ lastError: { contains: value } }, { workspaceId: { in: [value] } }] }))) }),
  fc.record(selection, { requiredKeys: [] }),
);
const countsQuery = fc
  .tuple(
    fc.record({ groupBy: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('status', 'resource_type,status', 'workspace_id', 'status,workspace_id') }, fc.constantFrom('status,status', 'a,b,c'), rawValue) }),
    oneHostileString,
    // Now and then a parameter counts refuse.
    rarely(fc.record({ ...paging, orderBy: orderByValue }, { requiredKeys: [] })),
  )
  .map(([groupBy, chosen, refused]) => queryString({ ...groupBy, ...chosen, ...refused }));
const exportQuery = fc
  .tuple(
    fc.record({ format: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('ndjson', 'csv') }, rawValue) }, { requiredKeys: [] }),
    rarely(fc.record({ orderBy: orderByValue })),
    oneHostileString,
    rarely(fc.record(paging, { requiredKeys: [] })),
  )
  .map(([format, orderBy, chosen, refused]) => queryString({ ...format, ...orderBy, ...chosen, ...refused }));

const taskBody = fc.oneof(
  fc.record(
    {
      resourceType: fc.oneof(fc.constantFrom('delete_app', 'delete_element'), json),
      resourceId: fc.oneof(text, json),
      workspaceId: fc.oneof(fc.constant('ws_alpha'), text, json),
      sourceEventId: fc.oneof(text, json),
      metadata: fc.oneof(json, fc.dictionary(text, json, { maxKeys: 3 })),
    },
    { requiredKeys: ['resourceType', 'resourceId', 'workspaceId'] },
  ).map((body) => JSON.stringify(body)),
  deepJsonText.map((deep) => `{"resourceType":"delete_app","resourceId":"r","workspaceId":"ws_alpha","metadata":${deep}}`),
  json.map((value) => JSON.stringify(value) ?? 'null'),
);
const tokenBody = fc.oneof(
  fc.record({ name: fc.oneof(text, json), role: fc.oneof(fc.constantFrom('admin', 'member', 'service'), json), workspaceIds: fc.oneof(fc.array(text, { maxLength: 3 }), json) }, { requiredKeys: [] }).map((body) =>
    JSON.stringify(body),
  ),
  deepJsonText.map((deep) => `{"name":${deep},"role":"admin"}`),
);
const pathId = fc.oneof(fc.constant(TASK), text.map(encode), fc.constantFrom('%ED%A0%80', '%00', '..%2F..', '%FF'));
const WEBHOOK = 'wh_01JDQ7Z4Y8K3M5N6P7Q8R9S0T0';
const webhookUrl = fc.oneof(
  text,
  json,
  text.map((host) => `https://${host}/hook`),
  fc.constantFrom('http://127.0.0.1/x', 'http://[::1]/x', 'http://[fe80::1%25eth0]/x', 'https://exa mple.com', 'http://0x7f.1/', 'javascript:alert(1)', `https://h.example/${'a'.repeat(3000)}`),
);
const webhookBody = fc
  .record(
    { url: webhookUrl, events: fc.oneof(fc.array(fc.oneof(fc.constantFrom('cleanup_task.failed', 'cleanup_task.tree.completed'), text), { maxLength: 3 }), json), workspaceIds: fc.oneof(fc.array(text, { maxLength: 3 }), json) },
    { requiredKeys: [] },
  )
  .map((body) => JSON.stringify(body));
const webhookId = fc.oneof(fc.constant(WEBHOOK), pathId);

type Call = { method: 'get' | 'post' | 'delete'; path: string; body?: string };
const calls: fc.Arbitrary<Call> = fc.oneof(
  listQuery.map((query): Call => ({ method: 'get', path: `/api/cleanup-tasks?${query}` })),
  countsQuery.map((query): Call => ({ method: 'get', path: `/api/cleanup-tasks/counts?${query}` })),
  exportQuery.map((query): Call => ({ method: 'get', path: `/api/cleanup-tasks/export?${query}` })),
  pathId.map((id): Call => ({ method: 'get', path: `/api/cleanup-tasks/${id}` })),
  pathId.map((id): Call => ({ method: 'get', path: `/api/cleanup-tasks/${id}/tree` })),
  pathId.map((id): Call => ({ method: 'post', path: `/api/cleanup-tasks/${id}/retry` })),
  taskBody.map((body): Call => ({ method: 'post', path: '/api/cleanup-tasks', body })),
  tokenBody.map((body): Call => ({ method: 'post', path: '/api/tokens', body })),
  pathId.map((id): Call => ({ method: 'delete', path: `/api/tokens/${id}` })),
  webhookBody.map((body): Call => ({ method: 'post', path: '/api/webhooks', body })),
  webhookId.chain((id) =>
    fc.constantFrom<Call>(
      { method: 'get', path: `/api/webhooks/${id}/deliveries` },
      { method: 'post', path: `/api/webhooks/${id}/ping` },
      { method: 'post', path: `/api/webhooks/${id}/rotate-secret` },
      { method: 'delete', path: `/api/webhooks/${id}` },
    ),
  ),
);

describe('No input produces a 5xx (random hostile requests to every endpoint)', () => {
  let sut: TestApp;

  const counts = async () =>
    (
      await sut.dataSource.query(`SELECT (SELECT count(*)::int FROM cleanup_tasks) AS tasks, (SELECT count(*)::int FROM api_tokens WHERE revoked_at IS NULL) AS tokens,
                                         (SELECT md5(string_agg(id || status || attempts, ',' ORDER BY id)) FROM cleanup_tasks) AS states,
                                         (SELECT md5(string_agg(id || secret, ',' ORDER BY id)) FROM webhook_subscriptions) AS webhooks,
                                         (SELECT count(*)::int FROM webhook_events) AS events`)
    )[0] as Record<string, unknown>;

  beforeAll(async () => {
    sut = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
    await insertTasks(sut.dataSource, [
      { id: TASK, workspaceId: 'ws_alpha', status: 'failed', lastError: 'boom', metadata: { region: 'eu', tags: ['a'] } },
      { parentId: TASK, workspaceId: 'ws_alpha', resourceType: 'delete_app', metadata: { nested: { deeper: [1, 2] } } },
    ]);
    await sut.dataSource.query(`INSERT INTO webhook_subscriptions (id, url, events, secret) VALUES ($1, 'https://hooks.example.com/x', '{cleanup_task.failed}', 'whsec_c2VjcmV0')`, [WEBHOOK]);
  });
  afterAll(async () => {
    await sut.close();
  });

  it('answers every one with a success or a 4xx problem+json that leaks nothing; refused ones change nothing', async () => {
    const statuses = new Map<number, number>();
    const property = fc.asyncProperty(calls, fc.constantFrom('admin', 'member'), async (call, who) => {
      const before = await counts();
      let test = request(sut.server)[call.method](call.path).auth(sut.tokens[who], { type: 'bearer' });
      if (call.body !== undefined) test = test.set('Content-Type', 'application/json').send(call.body);
      const response = await test;
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const context = `${call.method.toUpperCase()} ${call.path.slice(0, 300)} ${call.body?.slice(0, 300) ?? ''} → ${response.status} ${response.text.slice(0, 300)}`;
      if (response.status >= 500) throw new Error(`5xx: ${context}`);
      if (/SELECT |INSERT |QueryFailedError|node_modules|\n\s+at /.test(response.text)) throw new Error(`leak: ${context}`);
      if (response.status >= 400) {
        if (!/^application\/problem\+json/.test(response.headers['content-type'] ?? '')) throw new Error(`not problem+json: ${context}`);
        if (typeof response.body.code !== 'string') throw new Error(`no code: ${context}`);
        const after = await counts();
        if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`a refused request changed something: ${context}`);
      }
    });
    const details = await fc.check(property, { seed: SEED, numRuns: RUNS * 7, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false });
    if (details.failed) {
      throw new Error(`seed ${details.seed}, path "${details.counterexamplePath}" (NEVER_5XX_SEED=${details.seed}):\n${String(details.errorInstance instanceof Error ? details.errorInstance.message : details.errorInstance)}`);
    }
    expect(details.numRuns).toBeGreaterThanOrEqual(200);
    // Both refusals and successes were exercised.
    expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
    expect([...statuses.keys()].some((status) => status < 300)).toBe(true);
  }, 60_000);
});
