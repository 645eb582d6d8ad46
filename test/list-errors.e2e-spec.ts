import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';
import { list, listPage, taskId } from './support/list-helpers';
import { CleanupTasksRepository } from '@app/cleanup-tasks/cleanup-tasks.repository';

const ID = taskId(1);
const DROP = `'; DROP TABLE cleanup_tasks; --`;

/** A filter nested `depth` levels deep (root = 1). */
function nested(depth: number): Record<string, unknown> {
  let filter: Record<string, unknown> = { status: { eq: 'failed' } };
  for (let i = 1; i < depth; i++) filter = { NOT: filter };
  return filter;
}

type ErrorCase = [name: string, query: string | Record<string, unknown>, errors: { path: string; message: string | RegExp }[]];

const q = (params: Record<string, unknown>) =>
  new URLSearchParams(Object.entries(params).map(([key, value]): [string, string] => [key, typeof value === 'string' ? value : JSON.stringify(value)])).toString();

const ERROR_CASES: ErrorCase[] = [
  // limit
  ...['0', '101', 'abc', '1.5', '-1', '', '1e2'].map((limit): ErrorCase => [`limit=${limit}`, { limit }, [{ path: 'limit', message: 'expected an integer from 1 to 100' }]]),
  // parameters
  ['a repeated parameter', 'limit=1&limit=2', [{ path: 'limit', message: /given more than once/ }]],
  ['a repeated filter', `${q({ filter: { status: { eq: 'failed' } } })}&${q({ filter: {} })}`, [{ path: 'filter', message: /given more than once/ }]],
  ['an unknown parameter', 'offset=10', [{ path: 'offset', message: /^unknown query parameter \(expected one of limit, after, before, ids, filter, orderBy, status, resource_type, workspace_id, parent_id, source_event_id\)$/ }]],
  ['a parameter in the wrong case', 'Limit=5', [{ path: 'Limit', message: /unknown query parameter/ }]],
  ['bracket syntax', 'ids[]=x&filter[status]=failed', [{ path: 'ids[]', message: /unknown/ }, { path: 'filter[status]', message: /unknown/ }]],
  ['__proto__ as a parameter', '__proto__=x&constructor=y', [{ path: '__proto__', message: /unknown/ }, { path: 'constructor', message: /unknown/ }]],
  // ids
  ['a malformed id', { ids: `${ID},ct_123,ct_01jdq7z4y8k3m5n6p7q8r9s0tv` }, [{ path: 'ids[1]', message: /ct_/ }, { path: 'ids[2]', message: /ct_/ }]],
  ['an empty id', { ids: `${ID},` }, [{ path: 'ids[1]', message: /ct_/ }]],
  ['101 ids', { ids: Array.from({ length: 101 }, (_, i) => taskId(i)).join(',') }, [{ path: 'ids', message: 'expected at most 100 comma-separated ids' }]],
  // shortcuts
  ['a bad status', { status: 'FAILED' }, [{ path: 'status', message: 'expected one of pending, in_progress, completed, failed' }]],
  ['a bad resource_type', { resource_type: 'delete_user' }, [{ path: 'resource_type', message: /^expected one of delete_workspace/ }]],
  ['a malformed parent_id', { parent_id: 'ct_123' }, [{ path: 'parent_id', message: /ct_/ }]],
  ['an empty workspace_id', { workspace_id: '' }, [{ path: 'workspace_id', message: 'must not be empty' }]],
  ['an empty source_event_id', { source_event_id: '' }, [{ path: 'source_event_id', message: 'must not be empty' }]],
  ['a NUL in workspace_id', { workspace_id: 'ws\u0000' }, [{ path: 'workspace_id', message: /NUL/ }]],
  // filter
  ['malformed filter JSON', { filter: '{"status":' }, [{ path: 'filter', message: 'malformed JSON' }]],
  ['a filter that is not an object', { filter: [] }, [{ path: 'filter', message: 'expected object' }]],
  ['a null filter', { filter: 'null' }, [{ path: 'filter', message: 'expected object' }]],
  ['an unknown field', { filter: { nope: { eq: 1 } } }, [{ path: 'filter.nope', message: 'unknown field' }]],
  ['an unknown operator', { filter: { attempts: { between: [1, 2] } } }, [{ path: 'filter.attempts.between', message: 'unknown operator' }]],
  ['an operator the enum does not take', { filter: { status: { like: 'f%' } } }, [{ path: 'filter.status.like', message: /^operator not allowed for this field \(allowed: eq, neq, in, notIn, isNull\)$/ }]],
  ['an operator metadata does not take', { filter: { metadata: { eq: {} } } }, [{ path: 'filter.metadata.eq', message: /operator not allowed/ }]],
  ['lt on an enum', { filter: { resourceType: { lt: 'delete_app' } } }, [{ path: 'filter.resourceType.lt', message: /operator not allowed/ }]],
  ['the contract example: a string for an integer', { filter: { OR: [{ status: { eq: 'failed' } }, { attempts: { gt: 'x' } }] } }, [{ path: 'filter.OR[1].attempts.gt', message: 'expected integer' }]],
  ['a fraction for an integer', { filter: { attempts: { eq: 1.5 } } }, [{ path: 'filter.attempts.eq', message: 'expected integer' }]],
  ['an unsafe integer', { filter: '{"attempts":{"lt":9007199254740993}}' }, [{ path: 'filter.attempts.lt', message: 'expected integer' }]],
  ['eq null', { filter: { lastError: { eq: null } } }, [{ path: 'filter.lastError.eq', message: 'null is not allowed here, use isNull' }]],
  ['an empty in', { filter: { status: { in: [] } } }, [{ path: 'filter.status.in', message: 'expected non-empty array' }]],
  ['101 in items', { filter: { attempts: { in: Array.from({ length: 101 }, (_, i) => i) } } }, [{ path: 'filter.attempts.in', message: 'expected at most 100 items' }]],
  ['a bad enum value in a list', { filter: { status: { notIn: ['failed', 'done'] } } }, [{ path: 'filter.status.notIn[1]', message: /expected one of/ }]],
  ['a malformed timestamp', { filter: { createdAt: { gt: '2026-13-01' } } }, [{ path: 'filter.createdAt.gt', message: /expected an ISO 8601 date-time with an offset/ }]],
  ['a timestamp without offset', { filter: { completedAt: { lt: '2026-01-01T00:00:00' } } }, [{ path: 'filter.completedAt.lt', message: /expected an ISO 8601 date-time with an offset/ }]],
  ['a string for json contains', { filter: { metadata: { contains: 'eu' } } }, [{ path: 'filter.metadata.contains', message: 'expected JSON object' }]],
  ['a non-boolean isNull', { filter: { parentId: { isNull: 'yes' } } }, [{ path: 'filter.parentId.isNull', message: 'expected boolean' }]],
  ['an unknown quantifier', { filter: { children: { all: {} } } }, [{ path: 'filter.children.all', message: /unknown quantifier/ }]],
  ['NOT with an array', { filter: { NOT: [{}] } }, [{ path: 'filter.NOT', message: 'expected object' }]],
  ['AND with an object', { filter: { AND: {} } }, [{ path: 'filter.AND', message: 'expected array' }]],
  ['a LIKE pattern ending in the escape', { filter: { lastError: { like: 'a\\' } } }, [{ path: 'filter.lastError.like', message: /escape/ }]],
  ['a NUL in a value', { filter: { resourceId: { contains: 'a\u0000' } } }, [{ path: 'filter.resourceId.contains', message: /NUL/ }]],
  ['a lone surrogate', { filter: '{"lastError":{"eq":"\\ud800"}}' }, [{ path: 'filter.lastError.eq', message: /surrogate/ }]],
  ['nesting deeper than 8', { filter: nested(9) }, [{ path: `filter${'.NOT'.repeat(8)}`, message: 'filter is nested deeper than 8 levels' }]],
  ['more than 200 nodes', { filter: { AND: Array.from({ length: 200 }, () => ({})) } }, [{ path: 'filter', message: 'filter has more than 200 nodes' }]],
  ['a filter JSON over 16 KiB', { filter: { lastError: { eq: 'x'.repeat(16_400) } } }, [{ path: 'filter', message: 'filter JSON is longer than 16384 bytes' }]],
  ['several problems at once', { filter: { nope: 1, attempts: { gt: 'x' }, status: { eq: 'done' } } }, [
    { path: 'filter.nope', message: 'unknown field' },
    { path: 'filter.attempts.gt', message: 'expected integer' },
    { path: 'filter.status.eq', message: /expected one of/ },
  ]],
  // orderBy
  ['malformed orderBy JSON', { orderBy: '[{' }, [{ path: 'orderBy', message: 'malformed JSON' }]],
  ['an orderBy that is not an array', { orderBy: { createdAt: 'asc' } }, [{ path: 'orderBy', message: 'expected array' }]],
  ['an unknown orderBy field', { orderBy: [{ created_at: 'asc' }] }, [{ path: 'orderBy[0].created_at', message: 'unknown field' }]],
  ['an unknown direction', { orderBy: [{ createdAt: 'up' }] }, [{ path: 'orderBy[0].createdAt', message: /^expected one of asc, desc, asc_nulls_first/ }]],
  ['a field twice', { orderBy: [{ status: 'asc' }, { status: 'desc' }] }, [{ path: 'orderBy[1].status', message: 'field already ordered by at orderBy[0]' }]],
  ['ordering by metadata', { orderBy: [{ metadata: 'asc' }] }, [{ path: 'orderBy[0].metadata', message: 'field is not sortable' }]],
  ['two fields in one element', { orderBy: [{ status: 'asc', attempts: 'desc' }] }, [{ path: 'orderBy[0]', message: 'expected an object with exactly one field' }]],
  ['too many elements', { orderBy: Array.from({ length: 12 }, () => ({ id: 'asc' })) }, [{ path: 'orderBy', message: 'expected at most 11 elements' }]],
  // cursors
  ['a malformed after', { after: 'abc' }, [{ path: 'after', message: 'malformed cursor' }]],
  ['a malformed before', { before: 'a'.repeat(5000) }, [{ path: 'before', message: 'malformed cursor' }]],
  ['a cursor with padding', { after: 'abcd==' }, [{ path: 'after', message: 'malformed cursor' }]],
  // everything at once
  ['problems in several parameters', { limit: '0', status: 'x', filter: { nope: {} } }, [
    { path: 'limit', message: /integer/ },
    { path: 'status', message: /expected one of/ },
  ]],
];

describe('List [GET /api/cleanup-tasks] rejects bad input with 400 problem+json', () => {
  let sut: TestApp;
  let cursor: string;

  beforeAll(async () => {
    sut = await createTestApp();
    await insertTasks(sut.dataSource, [
      { id: taskId(1), workspaceId: 'ws_alpha', status: 'failed', lastError: 'boom', metadata: { region: 'eu' } },
      { id: taskId(2), parentId: taskId(1), workspaceId: 'ws_alpha', resourceType: 'delete_app' },
      { id: taskId(3), workspaceId: 'ws_gamma' },
    ]);
    cursor = (await listPage(sut, sut.tokens.admin, { limit: '1', status: 'failed' })).pageInfo.endCursor!;
  });
  afterAll(async () => {
    await sut.close();
  });

  it.each(ERROR_CASES)('400 for %s, naming each path', async (_name, query, errors) => {
    const response = await request(sut.server)
      .get(`/api/cleanup-tasks?${typeof query === 'string' ? query : q(query)}`)
      .auth(sut.tokens.admin, { type: 'bearer' });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: 'urn:problem-type:cleanup-tasks:validation-failed', status: 400, title: 'Invalid request', code: 'validation-failed', instance: '/api/cleanup-tasks' });
    expect(response.body.errors).toEqual(errors.map((error) => ({ path: error.path, message: typeof error.message === 'string' ? error.message : expect.stringMatching(error.message) })));
    expect(response.body.detail).toEqual(expect.any(String));
  });

  it('400 for a tampered cursor: every byte flipped, truncated, extended', async () => {
    const bytes = Buffer.from(cursor, 'base64url');
    const variants = [
      ...[0, 5, 31, 32, 40, bytes.length - 2].map((index) => {
        const copy = Buffer.from(bytes);
        copy[index] ^= 0x01;
        return copy.toString('base64url');
      }),
      bytes.subarray(0, bytes.length - 1).toString('base64url'),
      Buffer.concat([bytes, Buffer.from(' ')]).toString('base64url'),
      `${cursor}A`,
    ];
    for (const variant of variants) {
      const response = await list(sut, sut.tokens.admin, { status: 'failed', after: variant });
      expect({ variant, status: response.status, errors: response.body.errors }).toEqual({ variant, status: 400, errors: [{ path: 'after', message: 'malformed cursor' }] });
    }
  });

  it.each([
    ['another filter', { filter: { status: { eq: 'failed' } } }],
    ['another shortcut', { status: 'pending' }],
    ['another orderBy', { status: 'failed', orderBy: [{ createdAt: 'desc' }] }],
    ['added ids', { status: 'failed', ids: taskId(1) }],
  ])('400 for a cursor made under %s', async (_name, params) => {
    const response = await list(sut, sut.tokens.admin, { ...params, before: cursor });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: 'before', message: 'cursor does not belong to this query' }]);
  });

  it('401 without a token or with a revoked one, before any validation', async () => {
    const anonymous = await request(sut.server).get('/api/cleanup-tasks?limit=0');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await list(sut, sut.tokens.revoked, { limit: '0' })).status).toBe(401);
  });

  it('414 for a request line over 64 KiB; a 60 KiB line is served (and its 16 KiB+ filter rejected as such)', async () => {
    const long = await request(sut.server).get(`/api/cleanup-tasks?workspace_id=${'x'.repeat(66 * 1024)}`).auth(sut.tokens.admin, { type: 'bearer' });
    expect(long.status).toBe(414);
    expect(long.headers['content-type']).toMatch(/^application\/problem\+json/);
    const fits = await request(sut.server).get(`/api/cleanup-tasks?workspace_id=${'x'.repeat(60 * 1024)}`).auth(sut.tokens.admin, { type: 'bearer' });
    expect(fits.status).toBe(200);
    expect(fits.body.pageInfo.total).toBe(0);
    // A filter at the 16 KiB limit, URL-encoded (~3x), still fits the request line.
    const atLimit = JSON.stringify({ OR: Array.from({ length: 60 }, (_, i) => ({ lastError: { eq: `"${'é'.repeat(60)}${i}` } })) });
    expect(Buffer.byteLength(atLimit)).toBeLessThan(16 * 1024);
    expect((await list(sut, sut.tokens.admin, { filter: atLimit })).status).toBe(200);
  });

  it('serves a request line of exactly 64 KiB (method, target, version; CRLF not counted) and answers 414 one byte over', async () => {
    // `GET /api/cleanup-tasks?workspace_id=x…x HTTP/1.1`
    const pathFor = (lineBytes: number) => {
      const prefix = '/api/cleanup-tasks?workspace_id=';
      return prefix + 'x'.repeat(lineBytes - 'GET  HTTP/1.1'.length - prefix.length);
    };
    const at = await request(sut.server).get(pathFor(64 * 1024)).auth(sut.tokens.admin, { type: 'bearer' });
    expect(at.status).toBe(200);
    const over = await request(sut.server).get(pathFor(64 * 1024 + 1)).auth(sut.tokens.admin, { type: 'bearer' });
    expect(over.status).toBe(414);
  });
});

describe('List [GET /api/cleanup-tasks] under hostile input: 400 or a harmless 200, never 5xx, nothing changes', () => {
  let sut: TestApp;

  const snapshot = async () => {
    const [row] = await sut.dataSource.query(`
      SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM cleanup_tasks AS t) AS tasks,
             (SELECT count(*)::int FROM api_tokens WHERE revoked_at IS NULL) AS tokens,
             (SELECT md5(string_agg(tablename, ',' ORDER BY tablename)) FROM pg_tables WHERE schemaname = 'public') AS tables`);
    return row as Record<string, unknown>;
  };

  beforeAll(async () => {
    sut = await createTestApp();
    await insertTasks(sut.dataSource, [
      { id: taskId(1), workspaceId: 'ws_alpha', status: 'failed', lastError: 'boom', metadata: { region: 'eu' } },
      { id: taskId(2), parentId: taskId(1), workspaceId: 'ws_beta', resourceType: 'delete_app' },
    ]);
  });
  afterAll(async () => {
    await sut.close();
  });

  // [case, query, expected status]
  const HOSTILE: [string, string | Record<string, unknown>, 200 | 400][] = [
    ...['limit', 'after', 'before', 'ids', 'filter', 'orderBy', 'status', 'resource_type', 'parent_id'].map((name): [string, Record<string, unknown>, 400] => [`SQL in ${name}`, { [name]: DROP }, 400]),
    ['SQL in workspace_id (a value: compared, matches nothing)', { workspace_id: DROP }, 200],
    ['SQL in source_event_id', { source_event_id: `evt' OR '1'='1` }, 200],
    ['SQL as a parameter name', `${encodeURIComponent(DROP)}=1`, 400],
    ['SQL as a field name', { filter: { [`status" = 'x'; ${DROP}`]: { eq: 'failed' } } }, 400],
    ['SQL as an operator name', { filter: { status: { [`eq ${DROP}`]: 'failed' } } }, 400],
    ['SQL as an orderBy field', { orderBy: [{ 'created_at DESC; DROP TABLE cleanup_tasks; --': 'asc' }] }, 400],
    ['SQL as an orderBy direction', { orderBy: [{ createdAt: 'asc; DROP TABLE cleanup_tasks' }] }, 400],
    ['SQL in a string value', { filter: { lastError: { eq: `boom' OR '1'='1` } } }, 200],
    ['SQL in a LIKE pattern', { filter: { lastError: { like: `%'; ${DROP}` } } }, 200],
    ['SQL in an in list', { filter: { id: { in: [DROP, `${taskId(1)}' OR 1=1 --`] } } }, 200],
    ['SQL in a JSON key and value', { filter: { metadata: { contains: { [DROP]: DROP, region: { $ne: 1 } } } } }, 200],
    ['SQL in hasKey', { filter: { metadata: { hasKey: `region' OR '1'='1` } } }, 200],
    ['SQL in a timestamp', { filter: { createdAt: { lt: `2026-01-01'); ${DROP}` } } }, 400],
    ['SQL in an enum value', { filter: { status: { in: ['failed', DROP] } } }, 400],
    ['SQL in a relation filter', { filter: { children: { some: { resourceId: { eq: DROP } } } } }, 200],
    ['__proto__ as a field', { filter: '{"__proto__":{"polluted":true}}' }, 400],
    ['__proto__ as an operator', { filter: '{"status":{"__proto__":{"polluted":true}}}' }, 400],
    ['constructor as a field', { filter: { constructor: { eq: 1 } } }, 400],
    ['__proto__ in orderBy', { orderBy: '[{"__proto__":"asc"}]' }, 400],
    ['__proto__ inside a metadata value (plain data)', { filter: '{"metadata":{"contains":{"__proto__":{"polluted":true}}}}' }, 200],
    ['a deeply nested filter (1,000 levels)', { filter: `${'{"NOT":'.repeat(1000)}{}${'}'.repeat(1000)}` }, 400],
    ['a deeply nested JSON operand (7,000 levels)', { filter: `{"metadata":{"contains":{"a":${'['.repeat(7000)}${']'.repeat(7000)}}}}` }, 400],
    ['a JSON operand 33 levels deep', { filter: { metadata: { contains: { a: JSON.parse(`${'['.repeat(32)}${']'.repeat(32)}`) } } } }, 400],
    ['a JSON operand 32 levels deep (the limit)', { filter: { metadata: { contains: { a: JSON.parse(`${'['.repeat(31)}${']'.repeat(31)}`) } } } }, 200],
    ['a lone surrogate in a JSON operand key', { filter: '{"metadata":{"contains":{"\\ud800":1}}}' }, 400],
    ['a long list', { filter: { id: { in: Array.from({ length: 200 }, (_, i) => taskId(i)) } } }, 400],
    ['a huge number', { filter: { attempts: { gt: 1e308 } } }, 400],
    ['JSON with a BOM', { filter: '\ufeff{}' }, 400],
    ['a repeated parameter', 'limit=1&limit=2', 400],
    ['percent garbage', 'filter=%ZZ%7B', 400],
    ['a NUL byte', 'workspace_id=%00', 400],
    ['an invalid UTF-8 sequence', 'workspace_id=%C0%AF', 200],
  ];

  it.each(HOSTILE)('%s', async (_name, query, expected) => {
    const before = await snapshot();
    const response = await request(sut.server)
      .get(`/api/cleanup-tasks?${typeof query === 'string' ? query : q(query)}`)
      .auth(sut.tokens.member, { type: 'bearer' });
    expect(response.status).toBe(expected);
    if (expected === 400) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.errors.length).toBeGreaterThan(0);
    } else {
      expect(response.body.data.every((task: { workspaceId: string }) => ['ws_alpha', 'ws_beta'].includes(task.workspaceId))).toBe(true);
    }
    expect(response.text).not.toMatch(/syntax error|SELECT |QueryFailedError|\n\s+at /);
    expect(await snapshot()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a value with SQL in it is only ever compared', async () => {
    await insertTasks(sut.dataSource, [{ id: taskId(9), workspaceId: 'ws_alpha', lastError: DROP }]);
    const page = await listPage(sut, sut.tokens.admin, { filter: { lastError: { eq: DROP } } });
    expect(page.data.map((task) => task.id)).toEqual([taskId(9)]);
    expect(page.pageInfo.total).toBe(1);
  });
});

describe('List queries past LIST_QUERY_TIMEOUT_MS', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({ env: { LIST_QUERY_TIMEOUT_MS: '300' } });
    await insertTasks(sut.dataSource, [{}, {}]);
  });
  afterAll(async () => {
    await sut.close();
  });

  it('are cancelled in PostgreSQL and answered 504 problem+json (query-timeout) saying how to narrow them; the next one is served', async () => {
    // A transaction holding the table blocks the list's statement until PostgreSQL cancels it.
    const blocker = sut.dataSource.createQueryRunner();
    await blocker.connect();
    let response: request.Response;
    const started = Date.now();
    try {
      await blocker.startTransaction();
      await blocker.query('LOCK TABLE cleanup_tasks IN ACCESS EXCLUSIVE MODE');
      response = await request(sut.server).get('/api/cleanup-tasks').auth(sut.tokens.admin, { type: 'bearer' });
    } finally {
      if (blocker.isTransactionActive) await blocker.rollbackTransaction();
      await blocker.release();
    }
    expect(response.body).toMatchObject({ limitMs: 300 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(response.status).toBe(504);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 504, code: 'query-timeout', limitMs: 300, detail: expect.stringContaining('Narrow it') });
    expect(JSON.stringify(response.body)).not.toMatch(/SELECT|cleanup_tasks|statement/i);

    const again = await listPage(sut, sut.tokens.admin, {});
    expect(again.pageInfo.total).toBe(2);
    // Other queries do not share the list's limit: a by-id look-up has none.
    const [row] = await sut.dataSource.query(`SELECT setting FROM pg_settings WHERE name = 'statement_timeout'`);
    expect(row.setting).toBe('0');
  });
});

describe('List requests when every list connection is busy', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({ env: { LIST_POOL_SIZE: '1', LIST_QUERY_TIMEOUT_MS: '300' } });
  });
  afterAll(async () => {
    await sut.close();
  });

  it('wait at most LIST_QUERY_TIMEOUT_MS, then answer 503 problem+json (busy) with Retry-After; other endpoints are unaffected', async () => {
    const reads = sut.app.get(CleanupTasksRepository)['listReads'];
    const held = await sut.db.sidePool(reads.name, reads.shape!).connect();
    let busy: request.Response;
    try {
      busy = await request(sut.server).get('/api/cleanup-tasks').auth(sut.tokens.admin, { type: 'bearer' });
      const [task] = await insertTasks(sut.dataSource, [{}]);
      const other = await request(sut.server).get(`/api/cleanup-tasks/${task}`).auth(sut.tokens.admin, { type: 'bearer' });
      expect(other.status).toBe(200);
    } finally {
      await held.close();
    }
    expect(busy.status).toBe(503);
    expect(busy.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.body).toMatchObject({ status: 503, code: 'busy', detail: expect.stringContaining('retry') });
    expect((await listPage(sut, sut.tokens.admin, {})).pageInfo.total).toBe(1);
  });
});

