import { describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, webhookHeaders, webhookSignature } from './webhook-signature';

/** The `standardwebhooks` package (the specification's reference library, its own HMAC and base64) checks what we sign. */
describe('webhook signatures (Standard Webhooks)', () => {
  const body = '{"type":"cleanup_task.tree.completed","timestamp":"2026-01-01T00:00:00.000Z","data":{"id":"ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV"}}';
  const now = () => Math.floor(Date.now() / 1000);

  it('makes secrets of 32 random bytes after whsec_', () => {
    const sut = newWebhookSecret();
    expect(sut).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(sut.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(sut);
  });

  it('signs so that the reference verifier accepts the message, and refuses it once the body changes', () => {
    const secret = newWebhookSecret();
    const headers = webhookHeaders([secret], 'msg_1', now(), body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('completed', 'failed'), headers)).toThrow('No matching signature found');
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow('No matching signature found');
  });

  it('sends one signature per secret during a rotation, each verifying with its own secret', () => {
    const [fresh, old] = [newWebhookSecret(), newWebhookSecret()];
    const headers = webhookHeaders([fresh, old], 'msg_2', now(), body);
    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toEqual([webhookSignature(fresh, 'msg_2', Number(headers['webhook-timestamp']), body), webhookSignature(old, 'msg_2', Number(headers['webhook-timestamp']), body)]);
    expect(new Webhook(fresh).verify(body, headers)).toBeDefined();
    expect(new Webhook(old).verify(body, headers)).toBeDefined();
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow('No matching signature found');
  });

  it('signs the id and the timestamp too', () => {
    const secret = newWebhookSecret();
    const headers = webhookHeaders([secret], 'msg_3', now(), body);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_4' })).toThrow('No matching signature found');
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': String(now() - 1) })).toThrow('No matching signature found');
  });
});
