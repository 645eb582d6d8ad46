import { chownSync } from 'node:fs';
import { postgresOsUser } from '@app/database/embedded-postgres';

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

export async function serverUser(): Promise<ServerUser> {
  if (process.getuid?.() !== 0) return { spawnAs: {}, own: () => undefined };
  const { uid, gid } = await postgresOsUser();
  return { spawnAs: { uid, gid }, own: (path) => chownSync(path, uid, gid) };
}
