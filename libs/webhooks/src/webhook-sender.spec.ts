import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { LookupAddress } from 'node:dns';
import { WebhookReceiver } from '../../../test/support/webhook-receiver';
import { postWebhook, targetPolicy } from './webhook-sender';

describe('postWebhook (SSRF guard, redirects, timeout) against loopback receivers', () => {
  let receiver: WebhookReceiver;
  let other: WebhookReceiver;
  const post = (url: string) => ({ url, body: '{"type":"webhook.ping"}', headers: { 'webhook-id': 'msg_1' } });
  const publicOnly = { timeoutMs: 2000, refuse: targetPolicy(false) };
  const anyTarget = { timeoutMs: 2000, refuse: targetPolicy(true) };

  beforeAll(async () => {
    [receiver, other] = await Promise.all([WebhookReceiver.start(), WebhookReceiver.start()]);
  });
  afterAll(async () => {
    await Promise.all([receiver?.close(), other?.close()]);
  });
  beforeEach(() => {
    receiver.received.length = 0;
    other.received.length = 0;
    receiver.answer = () => ({ status: 204 });
  });

  it('delivers to a private target when allowed, with the body and headers given', async () => {
    const sut = await postWebhook(post(receiver.url()), anyTarget);
    expect(sut).toMatchObject({ ok: true, statusCode: 204, error: null });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0].body).toBe('{"type":"webhook.ping"}');
    expect(receiver.received[0].headers).toMatchObject({ 'webhook-id': 'msg_1', 'content-type': 'application/json' });
  });

  it('refuses a loopback IP literal unless allowed, without connecting', async () => {
    const sut = await postWebhook(post(receiver.url()), publicOnly);
    expect(sut).toMatchObject({ ok: false, statusCode: null, error: expect.stringContaining('refused: 127.0.0.1 is a loopback address') });
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a name that resolves to a loopback address, without connecting', async () => {
    const sut = await postWebhook(post(`http://localhost:${receiver.port}/hooks`), publicOnly);
    expect(sut.ok).toBe(false);
    expect(sut.error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(receiver.received).toHaveLength(0);
  });

  it('connects to the very address it checked: a second resolution (DNS rebinding) is never made', async () => {
    const answers: LookupAddress[][] = [[{ address: '127.0.0.1', family: 4 }], [{ address: '127.0.0.2', family: 4 }]];
    let resolutions = 0;
    const sut = await postWebhook(post(`http://hooks.example.test:${receiver.port}/hooks`), {
      timeoutMs: 2000,
      refuse: (address) => (address === '127.0.0.1' ? undefined : 'not allowed here'),
      resolve: async () => answers[Math.min(resolutions++, 1)],
    });
    expect(sut).toMatchObject({ ok: true, statusCode: 204 });
    expect(resolutions).toBe(1);
    expect(receiver.received[0].headers.host).toBe(`hooks.example.test:${receiver.port}`);
  });

  it('refuses a name when any of its addresses is refused', async () => {
    const sut = await postWebhook(post(`http://mixed.example.test:${receiver.port}/`), {
      timeoutMs: 2000,
      refuse: (address) => (address === '127.0.0.1' ? undefined : 'private'),
      resolve: async () => [{ address: '127.0.0.1', family: 4 }, { address: '10.0.0.7', family: 4 }],
    });
    expect(sut.error).toBe('refused: mixed.example.test resolves to 10.0.0.7, a private address (WEBHOOKS_ALLOW_PRIVATE_TARGETS is off)');
    expect(receiver.received).toHaveLength(0);
  });

  it('does not follow a redirect: the attempt fails with the 3xx, and its target gets nothing', async () => {
    receiver.answer = () => ({ status: 302, headers: { location: other.url('/elsewhere') } });
    const sut = await postWebhook(post(receiver.url()), anyTarget);
    expect(sut).toMatchObject({ ok: false, statusCode: 302, error: `answered 302 Found; redirect to ${other.url('/elsewhere')} not followed` });
    expect(other.received).toHaveLength(0);
  });

  it('fails a non-2xx answer with its status', async () => {
    receiver.answer = () => ({ status: 500 });
    expect(await postWebhook(post(receiver.url()), anyTarget)).toMatchObject({ ok: false, statusCode: 500, error: 'answered 500 Internal Server Error' });
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    receiver.answer = () => 'hang';
    const sut = await postWebhook(post(receiver.url()), { ...anyTarget, timeoutMs: 300 });
    expect(sut).toMatchObject({ ok: false, statusCode: null, error: 'timed out after 300 ms' });
    expect(sut.durationMs).toBeGreaterThanOrEqual(290);
    expect(sut.durationMs).toBeLessThan(2000);
  });

  it('refuses schemes other than http and https', async () => {
    expect(await postWebhook(post('ftp://127.0.0.1/x'), anyTarget)).toMatchObject({ ok: false, error: 'refused: ftp: is not http or https' });
  });
});
