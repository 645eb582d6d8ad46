import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import pg from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/test-app';

const expectProblem = (response: request.Response, status: number) => {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toEqual(
    expect.objectContaining({ type: expect.stringMatching(/^urn:problem-type:cleanup-tasks:/), title: expect.any(String), status, detail: expect.any(String), code: expect.any(String) }),
  );
  expect(JSON.stringify(response.body)).not.toMatch(/\bat \S+ \(|node_modules|SELECT |INSERT |stack/i);
};

describe('Errors are RFC 9457 problem+json', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut.close();
  });

  it('answers 404 for an unknown route, with the request id', async () => {
    const response = await request(sut.server).get('/api/nothing-here').auth(sut.tokens.admin, { type: 'bearer' }).set('X-Request-Id', 'trace-123');
    expectProblem(response, 404);
    expect(response.body.requestId).toBe('trace-123');
    expect(response.headers['x-request-id']).toBe('trace-123');
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await request(sut.server)
      .post('/api/cleanup-tasks')
      .auth(sut.tokens.admin, { type: 'bearer' })
      .set('Content-Type', 'application/json')
      .send('{"resourceType": "delete_app", ');
    expectProblem(response, 400);
  });

  it('answers 413 for a body over 64 KiB', async () => {
    const response = await request(sut.server)
      .post('/api/cleanup-tasks')
      .auth(sut.tokens.admin, { type: 'bearer' })
      .send({ resourceType: 'delete_app', resourceId: 'x', workspaceId: 'ws', metadata: { blob: 'x'.repeat(70 * 1024) } });
    expectProblem(response, 413);
  });

  it('answers 414 for a request line over 64 KiB', async () => {
    const response = await request(sut.server).get(`/api/cleanup-tasks?filter=${'a'.repeat(66 * 1024)}`).auth(sut.tokens.admin, { type: 'bearer' });
    expectProblem(response, 414);
  });

  it("answers 414 and 431 as problem+json even past Node's header limit (128 KiB), where no middleware runs", async () => {
    if (!sut.server.listening) await new Promise<void>((resolve) => sut.server.listen(0, '127.0.0.1', resolve));
    const { port } = sut.server.address() as AddressInfo;
    const raw = (head: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(head));
        let answer = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (answer += chunk));
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
        socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
      });
    const parse = (answer: string) => {
      const [head, body] = answer.split('\r\n\r\n');
      return { status: Number(head.split(' ')[1]), head, body: JSON.parse(body) as Record<string, unknown> };
    };
    const longLine = parse(await raw(`GET /api/cleanup-tasks?workspace_id=${'x'.repeat(130 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    expect(longLine.status).toBe(414);
    expect(longLine.head).toMatch(/content-type: application\/problem\+json/i);
    expect(longLine.body).toMatchObject({ status: 414, code: 'uri-too-long' });
    const bigHeaders = parse(await raw(`GET /api/cleanup-tasks HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 140 }, (_, i) => `X-Filler-${i}: ${'y'.repeat(1000)}\r\n`).join('')}\r\n`));
    expect(bigHeaders.status).toBe(431);
    expect(bigHeaders.body).toMatchObject({ status: 431, code: 'headers-too-large' });
    // The same on a connection that already served a request (keep-alive): its earlier bytes do not count.
    const served = `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Pad: ${'z'.repeat(70 * 1024)}\r\n\r\n`;
    const second = await raw(`${served}GET /api/cleanup-tasks HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 140 }, (_, i) => `X-Filler-${i}: ${'y'.repeat(1000)}\r\n`).join('')}\r\n`);
    expect(second.startsWith('HTTP/1.1 200')).toBe(true);
    expect(second).toMatch(/HTTP\/1\.1 431 [^\r]*\r\n[\s\S]*"code":"headers-too-large"/);
  });

  it('lists every invalid input with its path', async () => {
    const response = await request(sut.server).post('/api/cleanup-tasks').auth(sut.tokens.admin, { type: 'bearer' }).send({ resourceType: 'nope', workspaceId: 3 });
    expectProblem(response, 400);
    expect(response.body.code).toBe('validation-failed');
    expect(response.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['resourceId', 'resourceType', 'workspaceId']);
  });
});

describe('Write endpoints under hostile input: 400 (or 404), never 5xx, nothing changes', () => {
  let sut: TestApp;

  const snapshot = async () => {
    const [row] = await sut.dataSource.query(`
      SELECT (SELECT count(*)::int FROM cleanup_tasks) AS tasks,
             (SELECT md5(string_agg(id || coalesce(revoked_at::text, ''), ',' ORDER BY id)) FROM api_tokens) AS tokens`);
    return row as Record<string, unknown>;
  };
  const nested = (depth: number) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown;
  const task = (extra: Record<string, unknown>) => ({ resourceType: 'delete_app', resourceId: 'app_1', workspaceId: 'ws_1', ...extra });

  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut.close();
  });

  // [case, method, path, body (raw JSON text or a value), expected status, path of the first error]
  const HOSTILE: [string, 'post' | 'delete', string, unknown, 400 | 404, string | null][] = [
    ['NUL in resourceId', 'post', '/api/cleanup-tasks', task({ resourceId: 'a\u0000b' }), 400, 'resourceId'],
    ['NUL in workspaceId', 'post', '/api/cleanup-tasks', task({ workspaceId: 'ws\u0000' }), 400, 'workspaceId'],
    ['NUL in sourceEventId', 'post', '/api/cleanup-tasks', task({ sourceEventId: 'evt\u0000' }), 400, 'sourceEventId'],
    ['a lone surrogate in resourceId', 'post', '/api/cleanup-tasks', '{"resourceType":"delete_app","resourceId":"a\\ud800","workspaceId":"ws_1"}', 400, 'resourceId'],
    ['NUL in a metadata value', 'post', '/api/cleanup-tasks', task({ metadata: { note: 'x\u0000' } }), 400, 'metadata'],
    ['NUL in a metadata key', 'post', '/api/cleanup-tasks', task({ metadata: { 'k\u0000': 1 } }), 400, 'metadata'],
    ['a lone surrogate deep in metadata', 'post', '/api/cleanup-tasks', '{"resourceType":"delete_app","resourceId":"a","workspaceId":"ws_1","metadata":{"a":[{"b":"\\udc00"}]}}', 400, 'metadata'],
    ['metadata 33 levels deep', 'post', '/api/cleanup-tasks', task({ metadata: { a: nested(32) } }), 400, 'metadata'],
    ['metadata 20,000 levels deep (fits in 64 KiB)', 'post', '/api/cleanup-tasks', `{"resourceType":"delete_app","resourceId":"a","workspaceId":"ws_1","metadata":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`, 400, 'metadata.a'],
    ['an unknown field 20,000 levels deep', 'post', '/api/cleanup-tasks', `{"extra":${'['.repeat(20_000)}${']'.repeat(20_000)}}`, 400, 'extra'],
    ['NUL in a token name', 'post', '/api/tokens', { name: 'x\u0000', role: 'admin' }, 400, 'name'],
    ['NUL in a member workspace', 'post', '/api/tokens', { name: 'x', role: 'member', workspaceIds: ['ws\u0000'] }, 400, 'workspaceIds'],
    ['a token name 20,000 levels deep', 'post', '/api/tokens', `{"name":${'['.repeat(20_000)}${']'.repeat(20_000)},"role":"admin"}`, 400, 'name'],
    ['NUL in a token id', 'delete', '/api/tokens/tok%00', undefined, 404, null],
    ['an id that is not UTF-8 (a lone surrogate, percent-encoded)', 'delete', '/api/tokens/%ED%A0%80', undefined, 400, null],
  ];

  it.each(HOSTILE)('%s', async (_name, method, path, body, expected, errorPath) => {
    const before = await snapshot();
    let call = request(sut.server)[method](path).auth(sut.tokens.admin, { type: 'bearer' });
    if (body !== undefined) call = call.set('Content-Type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
    const response = await call;
    expectProblem(response, expected);
    if (errorPath !== null) expect(response.body.errors[0].path.startsWith(errorPath)).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it('accepts metadata exactly 32 levels deep, and astral characters (surrogate pairs) anywhere', async () => {
    const response = await request(sut.server)
      .post('/api/cleanup-tasks')
      .auth(sut.tokens.admin, { type: 'bearer' })
      .send(task({ resourceId: 'app_🧹', metadata: { a: nested(31), '🧹': '𝄞' } }));
    expect(response.status).toBe(201);
    expect(response.body.metadata['🧹']).toBe('𝄞');
    expect(JSON.stringify(response.body.metadata.a)).toBe(`${'['.repeat(31)}${']'.repeat(31)}`);
  });
});

describe('Caching', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut.close();
  });

  it('tells browsers and proxies not to store API answers (tasks, token secrets, errors; no ETag), but lets the docs be cached', async () => {
    const admin = (test: request.Test) => test.auth(sut.tokens.admin, { type: 'bearer' });
    const answers = [
      await admin(request(sut.server).get('/api/cleanup-tasks')),
      await admin(request(sut.server).post('/api/tokens').send({ name: 'cache check', role: 'member', workspaceIds: ['ws_a'] })),
      await request(sut.server).get('/api/cleanup-tasks'),
      await request(sut.server).get('/health/live'),
    ];
    const noStore = expect.stringMatching(/(^|[ ,])no-store($|,)/);
    expect(answers.map((response) => [response.status, response.headers['cache-control']])).toEqual([
      [200, noStore],
      [201, noStore],
      [401, noStore],
      [200, noStore],
    ]);
    expect(answers[0].headers.etag).toBeUndefined();
    for (const path of ['/api/docs', '/api/docs-json']) {
      const docs = await request(sut.server).get(path);
      expect(docs.status).toBe(200);
      expect(docs.headers['cache-control'] ?? '').not.toContain('no-store');
    }
  });
});

describe('Rate limiting', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await sut.close();
  });

  it('answers 429 problem+json past the budget, per token, and never limits health checks', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await request(sut.server).get('/api/tokens').auth(sut.tokens.admin, { type: 'bearer' })).status);
    }
    // The token's first request is let in by the address's budget (the token was not known yet), then moved to the token's: 3 in all.
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await request(sut.server).get('/api/tokens').auth(sut.tokens.admin, { type: 'bearer' });
    expectProblem(limited, 429);
    expect(limited.headers['ratelimit']).toBeDefined();

    const otherToken = await request(sut.server).get('/api/cleanup-tasks/ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV').auth(sut.tokens.member, { type: 'bearer' });
    expect(otherToken.status).toBe(404);
    for (let i = 0; i < 5; i++) {
      expect((await request(sut.server).get('/health/live')).status).toBe(200);
    }
  });
});

describe('Rate limiting of unknown tokens', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await sut.close();
  });

  it('counts made-up tokens (and no token) against the address, so a new token per request buys no budget; known tokens keep theirs', async () => {
    const made = (i: number) => `ctk_made_up_${i}_${'x'.repeat(40)}`;
    expect((await request(sut.server).get('/api/tokens').auth(sut.tokens.admin, { type: 'bearer' })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(sut.server).get('/api/tokens').auth(made(i), { type: 'bearer' })).status);
    // The admin token's first request was let in by the address's budget and then moved to the token's: the address has all 3 left.
    expect(statuses).toEqual([401, 401, 401, 429]);
    expectProblem(await request(sut.server).get('/api/tokens').auth(made(99), { type: 'bearer' }), 429);
    expect((await request(sut.server).get('/api/tokens')).status).toBe(429);
    // The admin token authenticated: its own budget, untouched by the made-up ones.
    expect((await request(sut.server).get('/api/tokens').auth(sut.tokens.admin, { type: 'bearer' })).status).toBe(200);
  });
});

describe('Health [/health]', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut.close();
  });

  it('answers liveness without a token', async () => {
    const response = await request(sut.server).get('/health/live');
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
  });

  it('answers readiness with the database and migration checks up', async () => {
    const response = await request(sut.server).get('/health/ready');
    expect(response.status).toBe(200);
    expect(response.body.details).toMatchObject({ database: { status: 'up' }, migrations: { status: 'up' } });
  });

  it('reports not ready (503) while a migration is missing', async () => {
    await sut.dataSource.query(`DELETE FROM typeorm_migrations WHERE name = 'InitialSchema1764403200000'`);
    try {
      const response = await request(sut.server).get('/health/ready');
      expect(response.status).toBe(503);
      expectProblem(response, 503);
      expect(response.body.checks).toEqual({ database: 'up', migrations: 'down' });
    } finally {
      await sut.dataSource.query(`INSERT INTO typeorm_migrations ("timestamp", name) VALUES (1764403200000, 'InitialSchema1764403200000')`);
    }
  });

  it('reports not ready (503, database down) while the database refuses connections, and ready once it takes them again', async () => {
    // A session of its own turns new connections away and ends the app's.
    // (from the server's maintenance database: a session cannot lock out its own database).
    const url = new URL(sut.databaseUrl);
    const name = decodeURIComponent(url.pathname.slice(1));
    url.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    const database = `"${name.replaceAll('"', '""')}"`;
    try {
      await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      const response = await request(sut.server).get('/health/ready');
      expectProblem(response, 503);
      expect(response.body.checks.database).toBe('down');
      expect(response.body.detail).toMatch(/database/);
      expect((await request(sut.server).get('/health/live')).status).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await request(sut.server).get('/health/ready')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  });
});
