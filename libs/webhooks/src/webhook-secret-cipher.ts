import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Marks a stored secret as sealed by this class (format version 1). */
export const SEALED_PREFIX = 'enc:v1:';
const HKDF_SALT = 'cleanup-tasks/webhook-secrets';
const HKDF_INFO = 'aes-256-gcm v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class WebhookSecretUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSecretUnavailableError';
  }
}

/**
 * Webhook secrets at rest. With WEBHOOK_SECRETS_KEY: AES-256-GCM under
 * HKDF-SHA256(WEBHOOK_SECRETS_KEY, salt "cleanup-tasks/webhook-secrets",
 * info "aes-256-gcm v1") → 32 bytes, a random 12-byte IV per secret, the
 * subscription id as additional data (a sealed secret copied onto another
 * subscription does not open), stored as `enc:v1:` + base64(IV ‖ ciphertext ‖
 * tag). Without it, secrets are stored as they are (`whsec_…`).
 *
 * So a database dump alone cannot forge signatures; whoever also has the key
 * can. Secrets stored in the clear before the key was set stay readable and
 * are sealed at the next start (sealClearSecrets).
 */
export class WebhookSecretCipher {
  private readonly key?: Buffer;

  constructor(secretsKey: string | undefined) {
    if (secretsKey) this.key = Buffer.from(hkdfSync('sha256', secretsKey, HKDF_SALT, HKDF_INFO, 32));
  }

  /** Whether secrets are sealed (a key is configured). */
  get encrypts(): boolean {
    return this.key !== undefined;
  }

  isSealed(stored: string): boolean {
    return stored.startsWith(SEALED_PREFIX);
  }

  /** The stored form of `secret` for `subscriptionId`. */
  seal(secret: string, subscriptionId: string): string {
    if (!this.key) return secret;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(subscriptionId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64');
  }

  /** The secret a stored form holds; throws WebhookSecretUnavailableError when it cannot be opened. */
  open(stored: string, subscriptionId: string): string {
    if (!this.isSealed(stored)) return stored;
    if (!this.key) throw new WebhookSecretUnavailableError('the signing secret is encrypted and WEBHOOK_SECRETS_KEY is not set');
    const sealed = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(subscriptionId, 'utf8'));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new WebhookSecretUnavailableError('the signing secret cannot be decrypted with this WEBHOOK_SECRETS_KEY (was it changed?)');
    }
  }
}
