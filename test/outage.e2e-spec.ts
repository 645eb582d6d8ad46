import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Authenticated, CurrentPrincipal, TokensService, type Principal } from '@app/auth';
import { validateEnvironment } from '@app/common';
import { AppModule } from '../apps/api/src/app.module';
import { createTestApp, createTestDatabase, insertTasks, type TestApp } from './support/test-app';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { waitFor } from './support/scheduler';

const UNKNOWN_TOKEN = `ctk_${'u'.repeat(43)}`;

/**
 * The app reaches its database through a proxy that the tests cut (open
 * connections reset, new ones refused, as when PostgreSQL crashed) or turn
 * into a black hole (connections accepted, never answered). Each request is
 * bounded: a hang fails the test.
 */
describe('While PostgreSQL cannot be reached', () => {
  let proxy: TcpProxy;
  let sut: TestApp;
  let taskId: string;
  let tokenId: string;

  beforeAll(async () => {
    const serverUrl = process.env.CLEANUP_TASKS_TEST_SERVER_URL!;
    proxy = await startTcpProxy(serverUrl);
    sut = await createTestApp({ connectVia: (url) => proxy.url(url), env: { AUTH_CACHE_TTL_MS: '60000', DATABASE_CONNECT_TIMEOUT_MS: '1000' } });
    [taskId] = await insertTasks(sut.dataSource, [{ status: 'failed', workspaceId: 'ws_alpha' }]);
    tokenId = (await request(sut.server).get('/api/tokens').auth(sut.tokens.admin, { type: 'bearer' })).body[0].id;
  });
  afterAll(async () => {
    await sut?.close();
    await proxy?.close();
  });

  /** Every endpoint that needs the database, with a token whose check is cached (admin) or must ask the database (the rest). */
  const calls = (): [string, () => request.Test][] => {
    const http = request(sut.server);
    const { admin, member, service, revoked } = sut.tokens;
    return [
      ['list (cached admin)', () => http.get('/api/cleanup-tasks').auth(admin, { type: 'bearer' })],
      ['list with a filter (member)', () => http.get('/api/cleanup-tasks').query({ filter: '{"status":{"eq":"failed"}}' }).auth(member, { type: 'bearer' })],
      ['get by id (cached admin)', () => http.get(`/api/cleanup-tasks/${taskId}`).auth(admin, { type: 'bearer' })],
      ['get by id (member)', () => http.get(`/api/cleanup-tasks/${taskId}`).auth(member, { type: 'bearer' })],
      ['enqueue (cached admin)', () => http.post('/api/cleanup-tasks').auth(admin, { type: 'bearer' }).send({ resourceType: 'delete_app', resourceId: 'app_1', workspaceId: 'ws_alpha', sourceEventId: 'evt_outage' })],
      ['enqueue (service)', () => http.post('/api/cleanup-tasks').auth(service, { type: 'bearer' }).send({ resourceType: 'delete_app', resourceId: 'app_2', workspaceId: 'ws_alpha', sourceEventId: 'evt_outage' })],
      ['retry (cached admin)', () => http.post(`/api/cleanup-tasks/${taskId}/retry`).auth(admin, { type: 'bearer' })],
      ['tree (cached admin)', () => http.get(`/api/cleanup-tasks/${taskId}/tree`).auth(admin, { type: 'bearer' })],
      ['list tokens (cached admin)', () => http.get('/api/tokens').auth(admin, { type: 'bearer' })],
      ['create a token (cached admin)', () => http.post('/api/tokens').auth(admin, { type: 'bearer' }).send({ name: 'during outage', role: 'admin' })],
      ['revoke a token (cached admin)', () => http.delete(`/api/tokens/${tokenId}-missing`).auth(admin, { type: 'bearer' })],
      ['a revoked token', () => http.get(`/api/cleanup-tasks/${taskId}`).auth(revoked, { type: 'bearer' })],
      ['an unknown token', () => http.get(`/api/cleanup-tasks/${taskId}`).auth(UNKNOWN_TOKEN, { type: 'bearer' })],
    ];
  };

  const expectDatabaseUnavailable = (name: string, response: request.Response) => {
    expect({ name, status: response.status, code: response.body.code, retryAfter: response.headers['retry-after'], type: response.headers['content-type'] }).toEqual({
      name,
      status: 503,
      code: 'database-unavailable',
      retryAfter: '5',
      type: expect.stringContaining('application/problem+json'),
    });
  };

  it('answers 503 database-unavailable with Retry-After on every endpoint when the server is gone (no 401, 403, 404 or 500), and everything answers again once it is back', async () => {
    // The admin token is checked (and cached) before the outage; the others never were.
    expect((await request(sut.server).get('/api/cleanup-tasks').auth(sut.tokens.admin, { type: 'bearer' })).status).toBe(200);
    await proxy.cut();
    try {
      for (const [name, call] of calls()) expectDatabaseUnavailable(name, await call().timeout(10_000));
      // Nothing to check without a token: that stays a 401.
      expect((await request(sut.server).get('/api/cleanup-tasks').timeout(10_000)).status).toBe(401);
      expect((await request(sut.server).get('/health/live').timeout(10_000)).status).toBe(200);
      const ready = await request(sut.server).get('/health/ready').timeout(10_000);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        code: 'unavailable',
        checks: { database: 'down', migrations: 'down' },
        reasons: { database: expect.stringMatching(/^unreachable: (ECONNREFUSED|Connection terminated)/), migrations: 'not checked: the database is unreachable' },
      });
      expect(ready.body.detail).toMatch(/^Not ready: database down \(unreachable/);
      expect(JSON.stringify(ready.body)).not.toContain(String(proxy.port));
    } finally {
      await proxy.restore();
    }
    const back = await waitFor('the API to answer again', async () => (await request(sut.server).get(`/api/cleanup-tasks/${taskId}`).auth(sut.tokens.member, { type: 'bearer' })).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(back).toBe(true);
    for (const [name, call] of calls().filter(([name]) => /^(list|get by id|enqueue|tree)/.test(name))) {
      const { status } = await call().timeout(10_000);
      expect({ name, ok: status === 200 || status === 201 }).toEqual({ name, ok: true });
    }
    expect((await request(sut.server).get('/api/cleanup-tasks').auth(UNKNOWN_TOKEN, { type: 'bearer' })).status).toBe(401);
    expect((await request(sut.server).get('/health/ready')).status).toBe(200);
  });

  it('answers 503 database-unavailable within the connect timeout when the server accepts connections and never answers', async () => {
    await proxy.blackhole();
    try {
      const started = Date.now();
      const responses = await Promise.all(calls().map(async ([name, call]) => [name, await call().timeout(15_000)] as const));
      for (const [name, response] of responses) expectDatabaseUnavailable(name, response);
      // DATABASE_CONNECT_TIMEOUT_MS is 1 s; a request may wait for it twice (its token, then its own statement).
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      await proxy.restore();
    }
    await waitFor('the API to answer again', async () => (await request(sut.server).get('/api/cleanup-tasks').auth(sut.tokens.service, { type: 'bearer' })).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
  });
});

/** A route that needs nothing from the database beyond the token check, as `/metrics` is. */
@Controller('probe')
class LastKnownGoodProbeController {
  @Get('last-known-good')
  @Authenticated({ lastKnownGood: true })
  lastKnownGood(@CurrentPrincipal() principal: Principal) {
    return { tokenId: principal.tokenId };
  }

  @Get('needs-a-check')
  @Authenticated()
  needsACheck(@CurrentPrincipal() principal: Principal) {
    return { tokenId: principal.tokenId };
  }
}

describe('Routes marked lastKnownGood during an outage', () => {
  let proxy: TcpProxy;
  let database: { url: string; drop(): Promise<void> };
  let app: INestApplication;
  let tokens: { checked: string; unchecked: string };

  beforeAll(async () => {
    proxy = await startTcpProxy(process.env.CLEANUP_TASKS_TEST_SERVER_URL!);
    database = await createTestDatabase();
    const config = validateEnvironment({ LOG_LEVEL: 'silent', SCHEDULER_ENABLED: 'false', AUTH_CACHE_TTL_MS: '0', AUTH_OUTAGE_GRACE_MS: '60000' });
    const module = await Test.createTestingModule({
      imports: [AppModule.register({ config, databaseUrl: proxy.url(database.url) })],
      controllers: [LastKnownGoodProbeController],
    }).compile();
    app = module.createNestApplication({ logger: false });
    await app.init();
    const service = app.get(TokensService);
    tokens = {
      checked: (await service.create({ name: 'scraper', role: 'admin' })).secret,
      unchecked: (await service.create({ name: 'never used', role: 'admin' })).secret,
    };
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('accept a token this process checked before (its last known good state); other tokens and other routes answer 503 database-unavailable', async () => {
    const http = () => request(app.getHttpServer());
    expect((await http().get('/probe/last-known-good').auth(tokens.checked, { type: 'bearer' })).status).toBe(200);
    await proxy.cut();
    try {
      const known = await http().get('/probe/last-known-good').auth(tokens.checked, { type: 'bearer' }).timeout(10_000);
      expect({ status: known.status, body: known.body }).toEqual({ status: 200, body: { tokenId: expect.stringMatching(/^tok_/) } });
      for (const [path, secret] of [
        ['/probe/last-known-good', tokens.unchecked],
        ['/probe/needs-a-check', tokens.checked],
      ]) {
        const response = await http().get(path).auth(secret, { type: 'bearer' }).timeout(10_000);
        expect({ path, status: response.status, code: response.body.code }).toEqual({ path, status: 503, code: 'database-unavailable' });
      }
    } finally {
      await proxy.restore();
    }
  });
});
