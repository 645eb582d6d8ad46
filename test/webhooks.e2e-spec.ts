import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { ROLES, TokensService } from '@app/auth';
import { ResourcesService, type WorkspaceBlueprint } from '@app/resources';
import { waitFor } from './support/scheduler';
import { createTestApp, type TestApp } from './support/test-app';
import { type ReceivedWebhook, WebhookReceiver } from './support/webhook-receiver';

interface DeliveryAttempt {
  eventId: string;
  eventType: string;
  attempt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  deliveryStatus: string;
}

const ALL_EVENTS = ['cleanup_task.tree.completed', 'cleanup_task.tree.failed', 'cleanup_task.failed'];
const WH_ID = /^wh_[0-9A-HJKMNP-TV-Z]{26}$/;
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

const api = (sut: TestApp, token = sut.tokens.admin) => ({
  get: (path: string) => request(sut.server).get(path).auth(token, { type: 'bearer' }),
  post: (path: string, body?: object) => request(sut.server).post(path).auth(token, { type: 'bearer' }).send(body),
  delete: (path: string) => request(sut.server).delete(path).auth(token, { type: 'bearer' }),
});

describe('Webhooks admin API [/api/webhooks]', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut?.close();
  });

  const count = async () => (await sut.dataSource.query('SELECT count(*)::int AS n FROM webhook_subscriptions'))[0].n as number;

  it('creates a webhook (201) whose secret is shown once, lists it without the secret, and deletes it (204, then 404)', async () => {
    const created = await api(sut).post('/api/webhooks', { url: 'https://hooks.example.com/cleanup', events: ['cleanup_task.tree.completed'], workspaceIds: ['ws_acme'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(WH_ID),
      url: 'https://hooks.example.com/cleanup',
      events: ['cleanup_task.tree.completed'],
      workspaceIds: ['ws_acme'],
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      previousSecretExpiresAt: null,
      secret: expect.stringMatching(SECRET),
    });
    const everyWorkspace = await api(sut).post('/api/webhooks', { url: 'http://hooks.example.com:8080/all', events: ALL_EVENTS });
    expect(everyWorkspace.status).toBe(201);
    expect(everyWorkspace.body.workspaceIds).toBeNull();

    const listed = await api(sut).get('/api/webhooks');
    expect(listed.status).toBe(200);
    const { secret, ...withoutSecret } = created.body;
    expect(listed.body).toEqual([withoutSecret, expect.objectContaining({ id: everyWorkspace.body.id })]);
    expect(listed.text).not.toContain(secret);
    // Without WEBHOOK_SECRETS_KEY the secret is stored as it is (and start-up warned about it).
    expect((await sut.dataSource.query('SELECT secret FROM webhook_subscriptions WHERE id = $1', [created.body.id]))[0].secret).toBe(secret);

    expect((await api(sut).get(`/api/webhooks/${created.body.id}/deliveries`)).body).toEqual([]);
    const deleted = await api(sut).delete(`/api/webhooks/${created.body.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await api(sut).delete(`/api/webhooks/${created.body.id}`)).status).toBe(404);
    expect((await api(sut).get('/api/webhooks')).body.map((webhook: { id: string }) => webhook.id)).toEqual([everyWorkspace.body.id]);
  });

  it.each([
    ['a URL that is not http(s)', 'url', { url: 'ftp://hooks.example.com/x', events: ALL_EVENTS }, 'url must be an http or https URL'],
    ['a URL without a scheme', 'url', { url: 'hooks.example.com/x', events: ALL_EVENTS }, 'url must be an http or https URL'],
    ['a loopback IP as target', 'url', { url: 'http://127.0.0.1:8080/x', events: ALL_EVENTS }, '127.0.0.1 is a loopback address; webhook targets must be public unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true'],
    ['a private IP as target', 'url', { url: 'https://10.1.2.3/x', events: ALL_EVENTS }, '10.1.2.3 is a private address; webhook targets must be public unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true'],
    ['a link-local IPv6 target', 'url', { url: 'http://[fe80::1]/x', events: ALL_EVENTS }, 'fe80::1 is a linkLocal address; webhook targets must be public unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true'],
    ['the metadata service', 'url', { url: 'http://169.254.169.254/latest', events: ALL_EVENTS }, '169.254.169.254 is a linkLocal address; webhook targets must be public unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true'],
    ['no events', 'events', { url: 'https://hooks.example.com/x', events: [] }, 'events must contain at least 1 elements'],
    ['an unknown event', 'events', { url: 'https://hooks.example.com/x', events: ['cleanup_task.completed'] }, expect.stringContaining('each value in events must be one of the following values')],
    ['an event twice', 'events', { url: 'https://hooks.example.com/x', events: ['cleanup_task.failed', 'cleanup_task.failed'] }, "All events's elements must be unique"],
    ['an empty workspace list', 'workspaceIds', { url: 'https://hooks.example.com/x', events: ALL_EVENTS, workspaceIds: [] }, 'workspaceIds must contain at least 1 elements'],
    ['a client-chosen secret', 'secret', { url: 'https://hooks.example.com/x', events: ALL_EVENTS, secret: 'whsec_mine' }, 'property secret should not exist'],
  ])('answers 400 to %s, naming %s, and stores nothing', async (_label, path, body, message) => {
    const before = await count();
    const response = await api(sut).post('/api/webhooks', body);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ code: 'validation-failed', errors: [{ path, message }] });
    expect(await count()).toBe(before);
  });

  it.each([
    ['DELETE', '/api/webhooks/:id'],
    ['GET', '/api/webhooks/:id/deliveries'],
    ['POST', '/api/webhooks/:id/ping'],
    ['POST', '/api/webhooks/:id/rotate-secret'],
  ])('%s %s answers 400 to a malformed id and 404 to an unknown one', async (method, template) => {
    const call = (id: string) => request(sut.server)[method.toLowerCase() as 'get' | 'post' | 'delete'](template.replace(':id', id)).auth(sut.tokens.admin, { type: 'bearer' });
    const malformed = await call('ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([{ path: 'id', message: 'expected a webhook id: wh_ followed by 26 ULID characters' }]);
    const unknown = await call('wh_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not-found');
  });

  describe('who may call it', () => {
    let webhookId: string;
    const tokensOf: Record<string, string> = {};

    beforeAll(async () => {
      webhookId = (await api(sut).post('/api/webhooks', { url: 'https://hooks.example.com/matrix', events: ALL_EVENTS })).body.id;
      // Every role but admin, including any added later (e.g. a metrics role).
      const tokens = sut.app.get(TokensService);
      for (const role of ROLES.filter((r) => r !== 'admin')) {
        tokensOf[role] = (await tokens.create({ name: `matrix ${role}`, role, workspaceIds: role === 'member' ? ['ws_alpha'] : undefined })).secret;
      }
    });

    // Every row has three items: it.each hands a shorter row's test `done` in the missing place.
    const routes: [string, string, object | undefined][] = [
      ['POST', '/api/webhooks', { url: 'https://hooks.example.com/x', events: ALL_EVENTS }],
      ['GET', '/api/webhooks', undefined],
      ['GET', '/api/webhooks/:id/deliveries', undefined],
      ['POST', '/api/webhooks/:id/ping', undefined],
      ['POST', '/api/webhooks/:id/rotate-secret', undefined],
      ['DELETE', '/api/webhooks/:id', undefined],
    ];

    it.each(routes)('%s %s: 401 without a token or with a revoked one, 403 for every role but admin, and then admin succeeds', async (method, template, body) => {
      const path = template.replace(':id', webhookId);
      const call = (token?: string) => {
        const test = request(sut.server)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
        if (token) test.auth(token, { type: 'bearer' });
        return body ? test.send(body) : test;
      };
      expect((await call()).status).toBe(401);
      expect((await call(sut.tokens.revoked)).status).toBe(401);
      expect(Object.keys(tokensOf)).toEqual(expect.arrayContaining(['member', 'service']));
      for (const [role, token] of Object.entries(tokensOf)) {
        const response = await call(token);
        expect({ role, status: response.status, code: response.body.code }).toEqual({ role, status: 403, code: 'forbidden' });
      }
      const admin = await call(sut.tokens.admin);
      expect(admin.status).toBeGreaterThanOrEqual(200);
      expect(admin.status).toBeLessThan(300);
    });
  });
});

/**
 * The real scheduler and the reference handlers in the app process, webhook
 * receivers on loopback, a short backoff. Each test subscribes its own
 * receiver, to its own workspaces, so the tests do not see each other's
 * events.
 */
describe('Webhook delivery (in-process scheduler, loopback receivers)', () => {
  let sut: TestApp;
  let resources: ResourcesService;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    sut = await createTestApp({
      env: {
        SCHEDULER_ENABLED: 'true',
        SCHEDULER_MAX_ATTEMPTS: '2',
        SCHEDULER_BACKOFF_BASE_MS: '50',
        SCHEDULER_BACKOFF_MAX_MS: '100',
        SCHEDULER_SHUTDOWN_TIMEOUT_MS: '1000',
        WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
        WEBHOOK_SECRETS_KEY: 'test-key-of-the-webhook-secrets-0123456789',
        WEBHOOK_BACKOFF_BASE_MS: '200',
        WEBHOOK_BACKOFF_MAX_MS: '400',
        WEBHOOK_TIMEOUT_MS: '1500',
        WEBHOOK_CONCURRENCY: '4',
        WEBHOOK_SUBSCRIPTION_CONCURRENCY: '2',
      },
    });
    resources = sut.app.get(ResourcesService);
  });
  afterAll(async () => {
    await sut?.close();
    await Promise.all(receivers.map((receiver) => receiver.close()));
  });

  const receiver = async (port?: number) => {
    const started = await WebhookReceiver.start(port);
    receivers.push(started);
    return started;
  };
  const subscribe = async (target: WebhookReceiver | string, events = ALL_EVENTS, workspaceIds?: string[]): Promise<{ id: string; secret: string }> => {
    const response = await api(sut).post('/api/webhooks', { url: typeof target === 'string' ? target : target.url(), events, workspaceIds });
    expect(response.status).toBe(201);
    return response.body;
  };
  const ping = async (id: string): Promise<string> => {
    const response = await api(sut).post(`/api/webhooks/${id}/ping`);
    expect(response.status).toBe(202);
    return response.body.eventId;
  };
  const attempts = async (id: string): Promise<DeliveryAttempt[]> => (await api(sut).get(`/api/webhooks/${id}/deliveries`)).body;
  const enqueueWorkspace = async (blueprint: WorkspaceBlueprint): Promise<{ workspaceId: string; enqueue: () => Promise<string> }> => {
    const workspace = await resources.provisionWorkspace(blueprint);
    return {
      workspaceId: workspace.id,
      enqueue: async () => {
        const response = await api(sut).post('/api/cleanup-tasks', { resourceType: 'delete_workspace', resourceId: workspace.id, workspaceId: workspace.id, sourceEventId: `evt_${workspace.id}` });
        expect(response.status).toBe(201);
        return response.body.id;
      },
    };
  };
  const taskText = async (id: string) => (await api(sut).get(`/api/cleanup-tasks/${id}`)).text;
  const verify = (secret: string, webhook: ReceivedWebhook) => new Webhook(secret).verify(webhook.body, webhook.headers as Record<string, string>) as { type: string; timestamp: string; data: { id: string } };

  it('POSTs cleanup_task.tree.completed, signed (checked by the standardwebhooks package), with the task exactly as GET /api/cleanup-tasks/{id} shows it', async () => {
    const hooks = await receiver();
    const workspace = await enqueueWorkspace({ name: 'Completes', apps: [{ name: 'CRM', elements: 2 }], databases: [{ name: 'crm-db' }] });
    const { id, secret } = await subscribe(hooks, ['cleanup_task.tree.completed'], [workspace.workspaceId]);
    expect((await sut.dataSource.query('SELECT secret FROM webhook_subscriptions WHERE id = $1', [id]))[0].secret).toMatch(/^enc:v1:/);

    const rootId = await workspace.enqueue();
    const [webhook] = await hooks.waitForRequests(1);
    const event = verify(secret, webhook);
    expect(event).toMatchObject({ type: 'cleanup_task.tree.completed', data: { id: rootId, status: 'completed' } });
    expect(webhook.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Math.abs(Number(webhook.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    expect(webhook.headers['content-type']).toBe('application/json');
    expect(webhook.body).toBe(`{"type":"cleanup_task.tree.completed","timestamp":"${event.timestamp}","data":${await taskText(rootId)}}`);
    expect((await attempts(id))[0]).toMatchObject({ eventId: webhook.headers['webhook-id'], eventType: 'cleanup_task.tree.completed', attempt: 1, statusCode: 200, error: null, deliveryStatus: 'delivered' });
  });

  it('sends cleanup_task.failed for the element that failed by itself and cleanup_task.tree.failed for its root, not cleanup_task.failed for the ancestors failing because of it', async () => {
    const hooks = await receiver();
    const workspace = await enqueueWorkspace({ name: 'Fails', apps: [{ name: 'Broken', elements: [{ name: 'ok' }, { name: 'stuck', failDeletes: -1 }] }] });
    const { secret } = await subscribe(hooks, ALL_EVENTS, [workspace.workspaceId]);
    const rootId = await workspace.enqueue();

    const received = await hooks.waitForRequests(2);
    const events = received.map((webhook) => verify(secret, webhook));
    const root = JSON.parse(await taskText(rootId)) as { status: string; lastError: string };
    expect(root.status).toBe('failed');
    const failedElement = events.find((event) => event.type === 'cleanup_task.failed')!;
    expect(failedElement.data).toMatchObject({ resourceType: 'delete_element', status: 'failed', attempts: 2, lastError: expect.stringContaining('injected failure') });
    expect(events.map((event) => `${event.type} ${event.data.id}`).sort()).toEqual([`cleanup_task.failed ${failedElement.data.id}`, `cleanup_task.tree.failed ${rootId}`]);
    for (const webhook of received) {
      const event = JSON.parse(webhook.body) as { data: { id: string } };
      expect(webhook.body.endsWith(`,"data":${await taskText(event.data.id)}}`)).toBe(true);
    }
    // Exactly these two: the outbox of this workspace holds nothing else (the app failed because of its child).
    const outbox: { type: string }[] = await sut.dataSource.query('SELECT type FROM webhook_events WHERE workspace_id = $1 ORDER BY type', [workspace.workspaceId]);
    expect(outbox.map((event) => event.type)).toEqual(['cleanup_task.failed', 'cleanup_task.tree.failed']);
  });

  it('retries after the receiver answered 500, with the same webhook-id, and logs both attempts', async () => {
    const hooks = await receiver();
    hooks.answer = () => (hooks.received.length === 1 ? { status: 500 } : { status: 200 });
    const { id, secret } = await subscribe(hooks, ['cleanup_task.tree.failed'], ['ws_nowhere']);
    const eventId = await ping(id);

    const [first, second] = await hooks.waitForRequests(2);
    expect([first.headers['webhook-id'], second.headers['webhook-id']]).toEqual([eventId, eventId]);
    expect(second.body).toBe(first.body);
    expect(verify(secret, second)).toEqual({ type: 'webhook.ping', timestamp: expect.any(String), data: { webhookId: id } });
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(90);
    await waitFor('the second attempt to be logged', async () => (await attempts(id)).length === 2);
    expect(await attempts(id)).toEqual([
      expect.objectContaining({ eventId, eventType: 'webhook.ping', attempt: 2, statusCode: 200, error: null, deliveryStatus: 'delivered' }),
      expect.objectContaining({ eventId, attempt: 1, statusCode: 500, error: 'answered 500 Internal Server Error', deliveryStatus: 'delivered' }),
    ]);
  });

  it('loses no event while the receiver is down for several retry intervals, and delivers each once it is back', async () => {
    const down = await receiver();
    const port = down.port;
    const { id, secret } = await subscribe(down, ['cleanup_task.tree.completed'], ['ws_nowhere']);
    await down.close();
    const eventIds = [await ping(id), await ping(id), await ping(id)];

    await waitFor('three failed attempts of every event', async () => {
      const log = await attempts(id);
      return eventIds.every((eventId) => log.filter((attempt) => attempt.eventId === eventId).length >= 3);
    });
    const log = await attempts(id);
    expect(log.every((attempt) => attempt.statusCode === null && /ECONNREFUSED/.test(attempt.error ?? '') && attempt.deliveryStatus === 'pending')).toBe(true);

    const back = await receiver(port);
    const received = await back.waitForRequests(3);
    expect(new Set(received.map((webhook) => webhook.headers['webhook-id']))).toEqual(new Set(eventIds));
    for (const webhook of received) verify(secret, webhook);
    await waitFor('every delivery to be marked delivered', async () => {
      const latest = await attempts(id);
      return eventIds.every((eventId) => latest.find((attempt) => attempt.eventId === eventId)?.deliveryStatus === 'delivered');
    });
  });

  it('signs with both secrets for a day after a rotation (each verifies on its own)', async () => {
    const hooks = await receiver();
    const { id, secret: oldSecret } = await subscribe(hooks, ['cleanup_task.tree.failed'], ['ws_nowhere']);
    const rotated = await api(sut).post(`/api/webhooks/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ id, secret: expect.stringMatching(SECRET) });
    const newSecret = rotated.body.secret as string;
    expect(newSecret).not.toBe(oldSecret);
    expect(Math.abs(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now() - 86_400_000)).toBeLessThan(60_000);

    await ping(id);
    const [webhook] = await hooks.waitForRequests(1);
    expect((webhook.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    expect(verify(newSecret, webhook).type).toBe('webhook.ping');
    expect(verify(oldSecret, webhook).type).toBe('webhook.ping');

    await sut.dataSource.query(`UPDATE webhook_subscriptions SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    await ping(id);
    const [, after] = await hooks.waitForRequests(2);
    expect((after.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
    expect(verify(newSecret, after).type).toBe('webhook.ping');
    expect(() => verify(oldSecret, after)).toThrow('No matching signature found');
  });

  it('does not follow a redirect: the attempt fails with the 302 and the redirect target gets nothing', async () => {
    const [hooks, elsewhere] = [await receiver(), await receiver()];
    hooks.answer = () => ({ status: 302, headers: { location: elsewhere.url('/stolen') } });
    const { id } = await subscribe(hooks, ['cleanup_task.tree.failed'], ['ws_nowhere']);
    const eventId = await ping(id);
    await waitFor('the redirected attempt to be logged', async () => (await attempts(id)).length > 0);
    expect((await attempts(id))[0]).toMatchObject({ eventId, statusCode: 302, error: `answered 302 Found; redirect to ${elsewhere.url('/stolen')} not followed`, deliveryStatus: 'pending' });
    expect(elsewhere.received).toHaveLength(0);
    await api(sut).delete(`/api/webhooks/${id}`);
  });

  it('keeps a slow receiver to its share of delivery slots: other webhooks and the cleanup work go on meanwhile', async () => {
    const [slow, fast] = [await receiver(), await receiver()];
    slow.answer = () => 'hang';
    const slowHook = await subscribe(slow, ['cleanup_task.tree.failed'], ['ws_nowhere']);
    for (let i = 0; i < 6; i++) await ping(slowHook.id);
    await slow.waitForRequests(2);

    const fastHook = await subscribe(fast, ['cleanup_task.tree.completed']);
    const workspace = await enqueueWorkspace({ name: 'Goes on', apps: [{ name: 'App', elements: 3 }] });
    const started = Date.now();
    const rootId = await workspace.enqueue();
    await fast.waitForRequests(1, (webhook) => (JSON.parse(webhook.body) as { data: { id: string } }).data.id === rootId, 5000);
    expect(Date.now() - started).toBeLessThan(3000);
    // WEBHOOK_SUBSCRIPTION_CONCURRENCY=2: the slow receiver never held more than two of the four slots.
    expect(slow.maxHanging).toBe(2);
    await api(sut).delete(`/api/webhooks/${slowHook.id}`);
    await api(sut).delete(`/api/webhooks/${fastHook.id}`);
  });
});

describe('Webhook delivery with WEBHOOKS_ALLOW_PRIVATE_TARGETS off', () => {
  let sut: TestApp;
  let hooks: WebhookReceiver;

  beforeAll(async () => {
    sut = await createTestApp({ env: { SCHEDULER_ENABLED: 'true', WEBHOOK_BACKOFF_BASE_MS: '60000' } });
    hooks = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await sut?.close();
    await hooks?.close();
  });

  it('refuses a target whose name resolves to a loopback address, at delivery, without connecting; the attempt says why', async () => {
    const created = await api(sut).post('/api/webhooks', { url: `http://localhost:${hooks.port}/hooks`, events: ALL_EVENTS });
    expect(created.status).toBe(201);
    const eventId = (await api(sut).post(`/api/webhooks/${created.body.id}/ping`)).body.eventId;
    const [attempt] = await waitFor('the refused attempt', async () => {
      const log: DeliveryAttempt[] = (await api(sut).get(`/api/webhooks/${created.body.id}/deliveries`)).body;
      return log.length > 0 ? log : undefined;
    });
    expect(attempt).toMatchObject({ eventId, attempt: 1, statusCode: null, deliveryStatus: 'pending' });
    expect(attempt.error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address \(WEBHOOKS_ALLOW_PRIVATE_TARGETS is off\)$/);
    expect(hooks.received).toHaveLength(0);
  });
});
