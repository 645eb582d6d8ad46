import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { makeTraversable } from '@app/database/embedded-postgres';
import { serverUser } from './os-user';

const run = promisify(execFile);

/**
 * Debian's PostgreSQL binaries (`apt-get install postgresql`): the newest
 * /usr/lib/postgresql/<major>/bin with pg_basebackup, or PG_BINDIR. The
 * embedded server's binaries have no pg_basebackup, and a pg_basebackup
 * cannot copy a server of a newer major, so both servers of the pair are
 * Debian's.
 */
export function postgresBinDir(): string {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((major) => existsSync(join(root, major, 'bin', 'pg_basebackup'))) : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server binaries in ${root}: install them (apt-get install -y postgresql) or set PG_BINDIR`);
  return join(root, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

export interface Server {
  port: number;
  /** The URL of `database` on this server (user postgres, trust auth on loopback). */
  url(database: string): string;
  start(): Promise<void>;
  /** pg_ctl stop (fast: sessions are ended). */
  stop(): Promise<void>;
}

export interface StreamingReplica {
  primary: Server;
  standby: Server;
  /** Stops both servers and removes their data. */
  destroy(): Promise<void>;
}

/**
 * A primary and a hot standby streaming from it (pg_basebackup -R), started
 * for a test under `dir` (removed first), on 127.0.0.1:`primaryPort` and
 * `standbyPort`, run by the `postgres` OS user when the tests run as root.
 * `standbySettings` go into the standby's postgresql.conf (e.g. a short
 * max_standby_streaming_delay, so that recovery conflicts come quickly).
 */
export async function startStreamingReplica(options: {
  dir: string;
  primaryPort: number;
  standbyPort: number;
  standbySettings?: Record<string, string>;
}): Promise<StreamingReplica> {
  const bin = postgresBinDir();
  const user = await serverUser();
  const dir = resolve(options.dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) makeTraversable(dirname(dir));
  user.own(dir);
  const as = async (tool: string, args: string[]) => {
    try {
      await run(join(bin, tool), args, { ...user.spawnAs, cwd: dir, timeout: 60_000 });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${stderr || stdout || String(error)}`, { cause: error });
    }
  };
  const server = (name: string, port: number): Server => {
    const data = join(dir, name);
    return {
      port,
      url: (database) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`,
      start: () => as('pg_ctl', ['-D', data, '-l', join(dir, `${name}.log`), '-w', '-t', '60', 'start']),
      stop: () => as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    };
  };
  const conf = (name: string, settings: Record<string, string>) =>
    appendFileSync(join(dir, name, 'postgresql.conf'), Object.entries(settings).map(([key, value]) => `${key} = '${value}'\n`).join(''));

  const primary = server('primary', options.primaryPort);
  const standby = server('standby', options.standbyPort);
  await as('initdb', ['-D', join(dir, 'primary'), '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
  conf('primary', {
    port: String(options.primaryPort),
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    wal_level: 'replica',
    max_wal_senders: '4',
    hot_standby: 'on',
    fsync: 'off',
    shared_buffers: '32MB',
    max_connections: '60',
  });
  await primary.start();
  try {
    await as('pg_basebackup', ['-h', '127.0.0.1', '-p', String(options.primaryPort), '-U', 'postgres', '-D', join(dir, 'standby'), '-R', '-X', 'stream', '-c', 'fast']);
    conf('standby', { port: String(options.standbyPort), ...options.standbySettings });
    await standby.start();
  } catch (error) {
    await primary.stop().catch(() => undefined);
    throw error;
  }
  return {
    primary,
    standby,
    destroy: async () => {
      await Promise.allSettled([standby.stop(), primary.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
