import { describe, expect, it } from '@jest/globals';
import { SEALED_PREFIX, WebhookSecretCipher, WebhookSecretUnavailableError } from './webhook-secret-cipher';
import { newWebhookSecret } from './webhook-signature';

describe('WebhookSecretCipher', () => {
  const key = 'k'.repeat(32);
  const secret = newWebhookSecret();

  it('stores secrets as they are without a key', () => {
    const sut = new WebhookSecretCipher(undefined);
    expect(sut.encrypts).toBe(false);
    expect(sut.seal(secret, 'wh_a')).toBe(secret);
    expect(sut.open(secret, 'wh_a')).toBe(secret);
  });

  it('seals with a key (the secret appears nowhere in the stored form) and opens it again', () => {
    const sut = new WebhookSecretCipher(key);
    const stored = sut.seal(secret, 'wh_a');
    expect(stored.startsWith(SEALED_PREFIX)).toBe(true);
    expect(stored).not.toContain(secret.slice(6, 20));
    expect(sut.seal(secret, 'wh_a')).not.toBe(stored); // a random IV each time
    expect(sut.open(stored, 'wh_a')).toBe(secret);
    expect(sut.open(secret, 'wh_a')).toBe(secret); // stored in the clear before the key was set
  });

  it('does not open a sealed secret for another subscription, under another key, or without a key', () => {
    const stored = new WebhookSecretCipher(key).seal(secret, 'wh_a');
    expect(() => new WebhookSecretCipher(key).open(stored, 'wh_b')).toThrow(WebhookSecretUnavailableError);
    expect(() => new WebhookSecretCipher('x'.repeat(32)).open(stored, 'wh_a')).toThrow('cannot be decrypted with this WEBHOOK_SECRETS_KEY');
    expect(() => new WebhookSecretCipher(undefined).open(stored, 'wh_a')).toThrow('WEBHOOK_SECRETS_KEY is not set');
  });

  it('detects a tampered stored form', () => {
    const sut = new WebhookSecretCipher(key);
    const stored = sut.seal(secret, 'wh_a');
    const bytes = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64');
    bytes[20] ^= 1;
    expect(() => sut.open(SEALED_PREFIX + bytes.toString('base64'), 'wh_a')).toThrow(WebhookSecretUnavailableError);
  });
});
