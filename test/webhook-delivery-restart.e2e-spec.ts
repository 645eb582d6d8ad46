import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { assertWorkerBuildIsFresh, startWorker, stopWorkers, waitFor } from './support/scheduler';
import { createTestApp, type TestApp } from './support/test-app';
import { WebhookReceiver } from './support/webhook-receiver';

/**
 * Delivery survives the process that delivers: worker processes of the
 * built app deliver the outbox, and are killed or stopped mid-way.
 */
describe('Webhook delivery across worker restarts (built worker processes)', () => {
  let sut: TestApp;
  let hooks: WebhookReceiver;
  const workerEnv = {
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_BACKOFF_BASE_MS: '3000',
    WEBHOOK_BACKOFF_MAX_MS: '3000',
    SCHEDULER_SHUTDOWN_TIMEOUT_MS: '300',
  };

  beforeAll(async () => {
    assertWorkerBuildIsFresh();
    sut = await createTestApp({ env: { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' } });
    hooks = await WebhookReceiver.start();
  });
  afterEach(async () => {
    await stopWorkers();
  });
  afterAll(async () => {
    await sut?.close();
    await hooks?.close();
  });

  const asAdmin = (test: request.Test) => test.auth(sut.tokens.admin, { type: 'bearer' });
  const subscribe = async (): Promise<{ id: string; secret: string }> =>
    (await asAdmin(request(sut.server).post('/api/webhooks')).send({ url: hooks.url(), events: ['cleanup_task.tree.failed'], workspaceIds: ['ws_nowhere'] })).body;
  const ping = async (id: string): Promise<string> => (await asAdmin(request(sut.server).post(`/api/webhooks/${id}/ping`))).body.eventId;
  const delivery = async (eventId: string) =>
    (await sut.dataSource.query(`SELECT status, attempts, locked_by FROM webhook_deliveries WHERE event_id = $1`, [eventId]))[0] as { status: string; attempts: number; locked_by: string | null };

  it('retries after the worker was killed (SIGKILL) during the backoff: the next worker sends the same event, same webhook-id', async () => {
    hooks.received.length = 0;
    hooks.answer = () => (hooks.received.length === 1 ? { status: 500 } : { status: 204 });
    const { id, secret } = await subscribe();
    const first = await startWorker(sut.databaseUrl, workerEnv);
    const eventId = await ping(id);
    await waitFor('the failed first attempt to be recorded', async () => {
      const row = await delivery(eventId);
      return row.attempts === 1 && row.locked_by === null;
    });
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    expect(hooks.received).toHaveLength(1);

    await startWorker(sut.databaseUrl, workerEnv);
    const [before, after] = await hooks.waitForRequests(2);
    expect([before.headers['webhook-id'], after.headers['webhook-id']]).toEqual([eventId, eventId]);
    expect(new Webhook(secret).verify(after.body, after.headers as Record<string, string>)).toMatchObject({ type: 'webhook.ping', data: { webhookId: id } });
    await waitFor('the delivery to be recorded as delivered', async () => (await delivery(eventId)).status === 'delivered');
    expect(await delivery(eventId)).toMatchObject({ attempts: 2 });
  });

  it('hands a delivery in flight back on SIGTERM, uncounted: the next worker sends it at once', async () => {
    hooks.received.length = 0;
    hooks.answer = () => (hooks.received.length === 1 ? 'hang' : { status: 200 });
    const { id, secret } = await subscribe();
    const first = await startWorker(sut.databaseUrl, workerEnv);
    const eventId = await ping(id);
    await hooks.waitForRequests(1);
    process.kill(first.pid, 'SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.output()).toContain('shutdown: handed back 1 webhook deliveries still in flight');
    expect(await delivery(eventId)).toEqual({ status: 'pending', attempts: 0, locked_by: null });

    const handedBackAt = Date.now();
    await startWorker(sut.databaseUrl, workerEnv);
    const [, again] = await hooks.waitForRequests(2);
    // Due at once: not after its lease (WEBHOOK_TIMEOUT_MS + 20 s = 30 s), as after a crash.
    expect(again.receivedAt - handedBackAt).toBeLessThan(10_000);
    expect(again.headers['webhook-id']).toBe(eventId);
    expect(new Webhook(secret).verify(again.body, again.headers as Record<string, string>)).toMatchObject({ type: 'webhook.ping' });
    await waitFor('the delivery to be recorded as delivered', async () => (await delivery(eventId)).status === 'delivered');
    expect(await delivery(eventId)).toMatchObject({ attempts: 1 });
  });
});
