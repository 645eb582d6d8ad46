import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverUser } from './os-user';

/** Debian's PgBouncer (`apt-get install pgbouncer`; 1.18 on bookworm). */
export const PGBOUNCER_PATH = process.env.PGBOUNCER_PATH ?? '/usr/sbin/pgbouncer';

export interface PgBouncer {
  port: number;
  /** `serverUrl` with its host and port replaced by PgBouncer's. */
  urlFor(serverUrl: string): string;
  /** PgBouncer's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A real PgBouncer in transaction pooling mode in front of the server of
 * `serverUrl` (any database on it), listening on 127.0.0.1:`port`, set up
 * to be as unforgiving as production is, deterministically:
 *
 * - no `ignore_startup_parameters`: a client sending start-up `options`
 *   is refused ("unsupported startup parameter");
 * - `server_reset_query = DISCARD ALL` after every transaction: nothing a
 *   session sets, prepares, listens to or locks survives it, so a named
 *   statement used twice fails ("prepared statement … does not exist") and
 *   a session setting or advisory lock is gone, even when the next
 *   transaction lands on the same server connection;
 * - few server connections, shared by every client.
 */
export async function startPgBouncer(serverUrl: string, port: number, { serverConnections = 8 } = {}): Promise<PgBouncer> {
  if (!existsSync(PGBOUNCER_PATH)) throw new Error(`${PGBOUNCER_PATH} is missing: install PgBouncer (apt-get install -y pgbouncer) or set PGBOUNCER_PATH`);
  const server = new URL(serverUrl);
  const user = await serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-tasks-pgbouncer-'));
  const file = (name: string) => join(dir, name);
  writeFileSync(file('userlist.txt'), `"${decodeURIComponent(server.username)}" "${decodeURIComponent(server.password)}"\n`);
  writeFileSync(
    file('pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // The client proves the password of userlist.txt, which PgBouncer then gives the server (password auth).
      'auth_type = scram-sha-256',
      `auth_file = ${file('userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${serverConnections}`,
      'max_client_conn = 500',
      'server_reset_query = DISCARD ALL',
      'server_reset_query_always = 1',
      `logfile = ${file('pgbouncer.log')}`,
      `pidfile = ${file('pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  for (const name of ['', 'userlist.txt', 'pgbouncer.ini']) user.own(file(name));

  const child: ChildProcess = spawn(PGBOUNCER_PATH, [file('pgbouncer.ini')], { ...user.spawnAs, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const log = () => output + (existsSync(file('pgbouncer.log')) ? readFileSync(file('pgbouncer.log'), 'utf8') : '');

  const stop = async () => {
    if (!gone) {
      // SIGTERM: immediate shutdown (client connections are closed).
      child.kill('SIGTERM');
      const patience = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(patience);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (gone || Date.now() > deadline) {
      const message = log();
      await stop();
      throw new Error(`PgBouncer did not start on port ${port}:\n${message}`);
    }
    await sleep(50);
  }
  return {
    port,
    urlFor: (url) => {
      const through = new URL(url);
      through.hostname = '127.0.0.1';
      through.port = String(port);
      return through.toString();
    },
    log,
    stop,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
