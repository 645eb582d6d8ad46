import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import request from 'supertest';
import { CleanupTasksRepository } from '@app/cleanup-tasks/cleanup-tasks.repository';
import { MetricsRegistry } from '@app/observability';
import { TaskQueueRepository } from '@app/scheduler';
import { CONTRACT_METRICS, parseExposition, promtoolProblems, samplesOf } from './support/metrics';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { STATE_ENV } from './support/test-database.config';
import { waitFor } from './support/scheduler';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';

const TASK_ID = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV';

/** Requests counted with these labels (summed over the others). */
const httpCount = (families: ReturnType<typeof parseExposition>, labels: Record<string, string>) =>
  samplesOf(families, 'http_request_duration_seconds', labels, 'http_request_duration_seconds_count').reduce((sum, sample) => sum + sample.value, 0);

const scrape = async (sut: TestApp, token = sut.tokens.admin) => {
  const response = await request(sut.server).get('/metrics').auth(token, { type: 'bearer' });
  expect(response.status).toBe(200);
  return response.text;
};

describe('Metrics [GET /metrics]', () => {
  let sut: TestApp;

  beforeAll(async () => {
    // The scheduler off (createTestApp's default): its metrics are listed all the same.
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut?.close();
  });

  describe('auth matrix', () => {
    const as = (token: string | undefined, test: request.Test) => (token ? test.auth(token, { type: 'bearer' }) : test);

    it('answers the Prometheus text format to an admin token and to a metrics token', async () => {
      for (const token of [sut.tokens.admin, sut.tokens.metrics]) {
        const response = await as(token, request(sut.server).get('/metrics'));
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
        expect(response.text).toMatch(/^# HELP /);
      }
    });

    it('answers 403 to a member and a service token, 401 without a token or with an unknown or revoked one', async () => {
      for (const token of [sut.tokens.member, sut.tokens.service]) {
        const response = await as(token, request(sut.server).get('/metrics'));
        expect(response.status).toBe(403);
        expect(response.body).toMatchObject({ code: 'forbidden', detail: 'This operation needs an admin or metrics token.' });
      }
      for (const token of [undefined, 'ctk_unknown', sut.tokens.revoked]) {
        expect((await as(token, request(sut.server).get('/metrics'))).status).toBe(401);
      }
    });

    it.each([
      ['GET', '/api/cleanup-tasks'],
      ['GET', `/api/cleanup-tasks/${TASK_ID}`],
      ['GET', `/api/cleanup-tasks/${TASK_ID}/tree`],
      ['POST', `/api/cleanup-tasks/${TASK_ID}/retry`],
      ['POST', '/api/cleanup-tasks'],
      ['GET', '/api/tokens'],
      ['POST', '/api/tokens'],
      ['DELETE', '/api/tokens/tok_x'],
    ])('refuses a metrics token on %s %s with 403', async (method, path) => {
      const before = await sut.dataSource.query(`SELECT (SELECT count(*) FROM cleanup_tasks) + (SELECT count(*) FROM api_tokens) AS n`);
      const call = request(sut.server)[method.toLowerCase() as 'get' | 'post' | 'delete'](path).auth(sut.tokens.metrics, { type: 'bearer' });
      const response = await (method === 'POST' ? call.send({ name: 'm', role: 'admin', resourceType: 'delete_app', resourceId: 'a', workspaceId: 'ws' }) : call);
      expect(response.status).toBe(403);
      expect(response.body).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await sut.dataSource.query(`SELECT (SELECT count(*) FROM cleanup_tasks) + (SELECT count(*) FROM api_tokens) AS n`)).toEqual(before);
    });
  });

  it('lists every metric of the contract with its type and label names, plus the runtime defaults', async () => {
    const families = parseExposition(await scrape(sut));
    for (const [name, type, labels] of CONTRACT_METRICS) {
      const family = families.get(name);
      expect({ name, type: family?.type }).toEqual({ name, type });
      expect({ name, samples: family!.samples.length > 0 }).toEqual({ name, samples: true });
      for (const sample of family!.samples) {
        const names = Object.keys(sample.labels).filter((label) => !(type === 'histogram' && sample.name === `${name}_bucket` && label === 'le'));
        expect({ name, labels: names.sort() }).toEqual({ name, labels: [...labels].sort() });
      }
    }
    expect([...families.keys()].filter((name) => /^(cleanup_|http_)/.test(name)).sort()).toEqual(CONTRACT_METRICS.map(([name]) => name).sort());
    for (const runtime of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(families.has(runtime)).toBe(true);
    }
  });

  it('passes `promtool check metrics`: it parses, and nothing of ours is linted', async () => {
    const text = await scrape(sut);
    expect(promtoolProblems(text)).toEqual([]);
    // The check can fail: a malformed line is reported.
    expect(promtoolProblems(`${text}broken{ 1\n`).join('\n')).toMatch(/pars/);
  });

  it('reads the table-wide gauges at most once per 5 s, however often it is scraped', async () => {
    const queue = jest.spyOn(sut.app.get(TaskQueueRepository), 'readyQueueStats');
    const counts = jest.spyOn(sut.app.get(CleanupTasksRepository), 'countByTypeAndStatus');
    try {
      const started = Date.now();
      for (let i = 0; i < 5; i++) await scrape(sut);
      // All five fell within one 5-second window (or, on a slow machine, two).
      const windows = Math.floor((Date.now() - started) / 5000) + 1;
      expect(queue.mock.calls.length).toBeLessThanOrEqual(windows);
      expect(counts.mock.calls.length).toBeLessThanOrEqual(windows);
      expect(queue.mock.calls.length + counts.mock.calls.length).toBeLessThan(10);
    } finally {
      queue.mockRestore();
      counts.mockRestore();
    }
  });

  describe('http_request_duration_seconds', () => {
    it('labels a request with its route template, and every request that matched no route as "unmatched"', async () => {
      const before = parseExposition(await scrape(sut));
      const asAdmin = (test: request.Test) => test.auth(sut.tokens.admin, { type: 'bearer' });
      for (let i = 0; i < 3; i++) {
        expect((await asAdmin(request(sut.server).get(`/api/cleanup-tasks/ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0T${i}`))).status).toBe(404);
        expect((await asAdmin(request(sut.server).get(`/no/such/path/${i}`))).status).toBe(404);
      }
      // Refused before routing: a request line over 64 KiB (the middleware's 414).
      expect((await asAdmin(request(sut.server).get(`/api/cleanup-tasks?filter=${'a'.repeat(66 * 1024)}`))).status).toBe(414);
      const after = parseExposition(await scrape(sut));
      const delta = (labels: Record<string, string>) => httpCount(after, labels) - httpCount(before, labels);
      expect(delta({ method: 'GET', route: '/api/cleanup-tasks/:id', status_code: '404' })).toBe(3);
      expect(delta({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(3);
      expect(delta({ method: 'GET', route: 'unmatched', status_code: '414' })).toBe(1);
      const routes = new Set(after.get('http_request_duration_seconds')!.samples.map((sample) => sample.labels.route));
      expect([...routes].filter((route) => route.includes('ct_') || route.startsWith('/no/'))).toEqual([]);
    });

    it("counts what Node's parser refuses (past 128 KiB) as unmatched, too", async () => {
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
      const before = parseExposition(await scrape(sut));
      expect(await raw(`GET /api/cleanup-tasks?workspace_id=${'x'.repeat(130 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/^HTTP\/1\.1 414/);
      expect(await raw(`GET /api/cleanup-tasks HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 140 }, (_, i) => `X-Filler-${i}: ${'y'.repeat(1000)}\r\n`).join('')}\r\n`)).toMatch(/^HTTP\/1\.1 431/);
      const after = parseExposition(await scrape(sut));
      for (const status of ['414', '431']) {
        expect({ status, counted: httpCount(after, { route: 'unmatched', status_code: status }) - httpCount(before, { route: 'unmatched', status_code: status }) }).toEqual({ status, counted: 1 });
      }
    });
  });
});

// One application open at a time: the bearer strategy is registered with passport's global instance by the last app created.
describe('Metrics [GET /metrics]: table-wide gauges', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut?.close();
  });

  it('counts tasks from the counters, and the due backlog and its lag, with no label naming a task, token or workspace', async () => {
    const overdue = new Date(Date.now() - 90_000);
    const [dueLongAgo] = await insertTasks(sut.dataSource, [{ workspaceId: 'ws_secret_1', resourceType: 'delete_app' }, { workspaceId: 'ws_secret_2', status: 'failed' }]);
    await sut.dataSource.query(`UPDATE cleanup_tasks SET run_at = $2 WHERE id = $1`, [dueLongAgo, overdue]);
    await insertTasks(sut.dataSource, [{ resourceType: 'delete_database', status: 'completed' }]);
    const text = await scrape(sut);
    const families = parseExposition(text);
    const count = (status: string, resourceType: string) => samplesOf(families, 'cleanup_tasks', { status, resource_type: resourceType })[0]?.value;
    expect([count('pending', 'delete_app'), count('failed', 'delete_workspace'), count('completed', 'delete_database'), count('pending', 'delete_element')]).toEqual([1, 1, 1, 0]);
    expect(families.get('cleanup_tasks')!.samples).toHaveLength(16);
    expect(samplesOf(families, 'cleanup_queue_ready_tasks')[0].value).toBe(1);
    const lag = samplesOf(families, 'cleanup_queue_oldest_ready_age_seconds')[0].value;
    expect(lag).toBeGreaterThanOrEqual(89);
    expect(lag).toBeLessThan(150);
    const secrets = [dueLongAgo, 'ws_secret_1', 'ws_secret_2', 'ws_alpha', 'tok_', 'ctk_'];
    expect(text.split('\n').filter((line) => !line.startsWith('#') && secrets.some((secret) => line.includes(secret)))).toEqual([]);
  });

});

describe('Metrics [GET /metrics]: requests refused by the rate limit', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await sut?.close();
  });

  it('counts requests refused by the rate limit (429) as unmatched', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(sut.server).get(`/api/cleanup-tasks/${TASK_ID}`).auth(sut.tokens.admin, { type: 'bearer' })).status);
    // Every request counts against the token (the first one is moved there from the address once it authenticated): 3 in all.
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    // The scrape itself is over the budget too: read the registry the endpoint reads.
    const families = parseExposition(await sut.app.get(MetricsRegistry).exposition());
    expect(httpCount(families, { method: 'GET', route: 'unmatched', status_code: '429' })).toBe(2);
    expect(httpCount(families, { method: 'GET', route: '/api/cleanup-tasks/:id', status_code: '404' })).toBe(3);
  });
});

describe('Metrics [GET /metrics] while PostgreSQL is unreachable', () => {
  let proxy: TcpProxy;
  let sut: TestApp;

  beforeAll(async () => {
    proxy = await startTcpProxy(process.env[STATE_ENV]!);
    // The default AUTH_CACHE_TTL_MS (5 s) runs out during the outage: the scrape's token is let in as last known good.
    sut = await createTestApp({ connectVia: (databaseUrl) => proxy.url(databaseUrl) });
  });
  afterAll(async () => {
    await proxy?.restore();
    await sut?.close();
    await proxy?.close();
  });

  it('answers from the last values within a short time, with cleanup_database_up 0, and recovers', async () => {
    await insertTasks(sut.dataSource, [{ resourceType: 'delete_app' }, { resourceType: 'delete_app' }]);
    const before = parseExposition(await scrape(sut));
    expect(samplesOf(before, 'cleanup_tasks', { status: 'pending', resource_type: 'delete_app' })[0].value).toBe(2);
    expect(samplesOf(before, 'cleanup_database_up')[0].value).toBe(1);

    await proxy.cut();
    // Past the 5 s cache, so that the scrape has to go to the database (and cannot).
    await new Promise((resolve) => setTimeout(resolve, 5100));
    const started = performance.now();
    const during = parseExposition(await scrape(sut));
    expect(performance.now() - started).toBeLessThan(2500);
    expect(samplesOf(during, 'cleanup_database_up')[0].value).toBe(0);
    expect(samplesOf(during, 'cleanup_tasks', { status: 'pending', resource_type: 'delete_app' })[0].value).toBe(2);
    expect(samplesOf(during, 'cleanup_queue_ready_tasks')[0].value).toBe(2);

    await proxy.restore();
    await waitFor('the database to answer through the proxy again', async () => (await request(sut.server).get('/health/ready')).status === 200);
    expect(samplesOf(parseExposition(await scrape(sut)), 'cleanup_database_up')[0].value).toBe(1);
  });
});
