import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/test-app';

describe('Tokens [/api/tokens]', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut.close();
  });

  const asAdmin = (test: request.Test) => test.auth(sut.tokens.admin, { type: 'bearer' });

  it('Create [POST /api/tokens] issues a member token, shown once, that works at once', async () => {
    const created = await asAdmin(request(sut.server).post('/api/tokens')).send({ name: 'dashboard', role: 'member', workspaceIds: ['ws_gamma'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^tok_/), name: 'dashboard', role: 'member', workspaceIds: ['ws_gamma'], revokedAt: null });
    expect(created.body.token).toMatch(/^ctk_[A-Za-z0-9_-]{43}$/);
    expect(created.body.tokenHint).toBe(`${created.body.token.slice(0, 8)}…`);

    const stored = await sut.dataSource.query('SELECT token_hash FROM api_tokens WHERE id = $1', [created.body.id]);
    expect(stored[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(created.body.token);

    const health = await request(sut.server).get('/api/cleanup-tasks/ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV').auth(created.body.token, { type: 'bearer' });
    expect(health.status).toBe(404);
  });

  it('Create [POST /api/tokens] issues a metrics token, which reads /metrics and nothing else', async () => {
    const created = await asAdmin(request(sut.server).post('/api/tokens')).send({ name: 'prometheus', role: 'metrics' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ role: 'metrics', workspaceIds: [], revokedAt: null });
    const as = (test: request.Test) => test.auth(created.body.token, { type: 'bearer' });
    expect((await as(request(sut.server).get('/metrics'))).status).toBe(200);
    const refused = await as(request(sut.server).get('/api/cleanup-tasks'));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden', detail: 'This operation needs an admin, member or service token.' });
  });

  it('List [GET /api/tokens] never shows secrets or hashes', async () => {
    const response = await asAdmin(request(sut.server).get('/api/tokens'));
    expect(response.status).toBe(200);
    expect(response.body.length).toBeGreaterThanOrEqual(4);
    for (const token of response.body) {
      expect(Object.keys(token).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role', 'tokenHint', 'workspaceIds']);
    }
    expect(JSON.stringify(response.body)).not.toContain(sut.tokens.member);
  });

  it('Revoke [DELETE /api/tokens/{id}] stops the token at once; revoking again is a no-op', async () => {
    const created = await asAdmin(request(sut.server).post('/api/tokens')).send({ name: 'short-lived', role: 'admin' });
    const before = await request(sut.server).get('/api/tokens').auth(created.body.token, { type: 'bearer' });
    expect(before.status).toBe(200);

    const revoked = await asAdmin(request(sut.server).delete(`/api/tokens/${created.body.id}`));
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toMatch(/Z$/);
    const again = await asAdmin(request(sut.server).delete(`/api/tokens/${created.body.id}`));
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);

    const after = await request(sut.server).get('/api/tokens').auth(created.body.token, { type: 'bearer' });
    expect(after.status).toBe(401);
  });

  it('Revoke [DELETE /api/tokens/{id}] answers 404 for an unknown token', async () => {
    const response = await asAdmin(request(sut.server).delete('/api/tokens/tok_unknown'));
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each([
    ['a member without workspaces', { name: 'x', role: 'member' }, 'workspaceIds'],
    ['an admin with workspaces', { name: 'x', role: 'admin', workspaceIds: ['ws_a'] }, 'workspaceIds'],
    ['a service token with workspaces', { name: 'x', role: 'service', workspaceIds: ['ws_a'] }, 'workspaceIds'],
    ['a metrics token with workspaces', { name: 'x', role: 'metrics', workspaceIds: ['ws_a'] }, 'workspaceIds'],
    ['an unknown role', { name: 'x', role: 'root' }, 'role'],
    ['an empty name', { name: '', role: 'admin' }, 'name'],
    ['a non-string workspace id', { name: 'x', role: 'member', workspaceIds: [42] }, 'workspaceIds'],
    ['an unknown property', { name: 'x', role: 'admin', isSuperuser: true }, 'isSuperuser'],
  ])('Create [POST /api/tokens] answers 400 for %s, naming %s, and creates nothing', async (_label, body, path) => {
    const before = await sut.dataSource.query('SELECT count(*)::int AS n FROM api_tokens');
    const response = await asAdmin(request(sut.server).post('/api/tokens')).send(body);
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { path: string }) => e.path.split(/[.[]/)[0])).toContain(path);
    const after = await sut.dataSource.query('SELECT count(*)::int AS n FROM api_tokens');
    expect(after[0].n).toBe(before[0].n);
  });

  describe.each([
    ['POST', '/api/tokens'],
    ['GET', '/api/tokens'],
    ['DELETE', '/api/tokens/tok_x'],
  ])('auth matrix of %s %s', (method, path) => {
    const call = (authorization?: string) => {
      const test = request(sut.server)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
      if (authorization) test.set('Authorization', authorization);
      return method === 'POST' ? test.send({ name: 'm', role: 'admin' }) : test;
    };
    it('401 without a token', async () => expect((await call()).status).toBe(401));
    it('401 with a malformed header', async () => expect((await call('Token abc')).status).toBe(401));
    it('401 with an unknown token', async () => expect((await call('Bearer ctk_nope')).status).toBe(401));
    it('401 with a revoked token', async () => expect((await call(`Bearer ${sut.tokens.revoked}`)).status).toBe(401));
    it('403 problem+json for a member token', async () => {
      const response = await call(`Bearer ${sut.tokens.member}`);
      expect(response.status).toBe(403);
      expect(response.body).toMatchObject({ status: 403, code: 'forbidden' });
    });
    it('403 for a service token', async () => expect((await call(`Bearer ${sut.tokens.service}`)).status).toBe(403));
    it('403 for a metrics token', async () => expect((await call(`Bearer ${sut.tokens.metrics}`)).status).toBe(403));
    it('is allowed for an admin token', async () => {
      const response = await call(`Bearer ${sut.tokens.admin}`);
      expect([200, 201, 404]).toContain(response.status);
    });
  });
});
