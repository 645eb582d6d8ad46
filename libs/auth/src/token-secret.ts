import { createHash, randomBytes } from 'node:crypto';

/** Secrets start with this prefix, so that a leaked token is recognisable (e.g. by secret scanners). */
export const TOKEN_PREFIX = 'ctk_';

/** A new secret: the prefix and 256 random bits, base64url-encoded. */
export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Only this hash is stored; a secret is shown once, when it is created. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** What lists show to tell tokens apart: the prefix and a few characters, never enough to use. */
export function tokenHint(secret: string): string {
  return `${secret.slice(0, TOKEN_PREFIX.length + 4)}…`;
}
