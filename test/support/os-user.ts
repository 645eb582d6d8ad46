import { execFileSync } from 'node:child_process';
import { chownSync } from 'node:fs';

/**
 * PostgreSQL and PgBouncer refuse to run as root: as root, the test servers
 * run as the `postgres` OS user (as the embedded PostgreSQL does), and the
 * files they use are handed to it. As anyone else, they run as that user.
 */
export interface ServerUser {
  /** spawn() options that run the child as that user. */
  spawnAs: { uid?: number; gid?: number };
  /** Hands a file or directory to that user (a no-op unless root). */
  own(path: string): void;
}

export function serverUser(): ServerUser {
  if (process.getuid?.() !== 0) return { spawnAs: {}, own: () => undefined };
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  const uid = id('-u');
  const gid = id('-g');
  return { spawnAs: { uid, gid }, own: (path) => chownSync(path, uid, gid) };
}
