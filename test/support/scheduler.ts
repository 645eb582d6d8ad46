import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` until it returns a value other than undefined/false; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, { timeoutMs = 15_000, intervalMs = 25 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The worker deployable with the probe handlers (test/support/probe-worker), built by `npm run build:test`. */
export const WORKER_ENTRY = resolve(process.cwd(), 'dist/test/probe-worker/test/support/probe-worker/main.js');

/** Sources the worker is built from; a build older than any of them would test stale code. */
const WORKER_SOURCES = [
  'test/support/probe-worker', 'apps/worker/src', 'libs/scheduler/src', 'libs/resources/src', 'libs/database/src', 'libs/common/src',
  'libs/cleanup-tasks/src', 'libs/webhooks/src', 'libs/observability/src', 'libs/auth/src',
];

/** Throws a clear error unless the worker build exists and is newer than its sources. */
export function assertWorkerBuildIsFresh(): void {
  assertBuildIsFresh(WORKER_ENTRY, WORKER_SOURCES);
}

/** Throws a clear error unless `entry` exists and is newer than every source file under `sources`. */
export function assertBuildIsFresh(entry: string, sources: readonly string[]): void {
  let built: number;
  try {
    built = statSync(entry).mtimeMs;
  } catch {
    throw new Error(`${entry} is missing: run \`npm run build:test\` first (\`npm test\` does it through pretest)`);
  }
  const newest = sources.flatMap((dir) => sourceFiles(resolve(process.cwd(), dir))).reduce(
    (latest, file) => {
      const mtime = statSync(file).mtimeMs;
      return mtime > latest.mtime ? { file, mtime } : latest;
    },
    { file: '', mtime: 0 },
  );
  if (newest.mtime > built) {
    throw new Error(`${entry} is older than ${newest.file}: run \`npm run build:test\` first (\`npm test\` does it through pretest)`);
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !/\.(spec|db-spec|e2e-spec)\.ts$/.test(entry.name) ? [path] : [];
  });
}

export interface WorkerProcess {
  pid: number;
  child: ChildProcess;
  /** stdout + stderr so far, for failure messages. */
  output(): string;
  /** Resolves when the process has exited and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a worker process of the built app on `databaseUrl` and waits until
 * it is claiming (its start line). Remember it for stopWorkers().
 */
export async function startWorker(databaseUrl: string, env: Record<string, string>, { readyTimeoutMs = 20_000 } = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [WORKER_ENTRY], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close', not 'exit': only then has all of the child's output been read.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('close', (code, signal) => resolveExit({ code, signal })),
  );
  const worker: WorkerProcess = { pid: child.pid!, child, output: () => output, exited };
  started.add(worker);
  let gone = false;
  void exited.then(() => {
    gone = true;
    started.delete(worker);
  });
  await waitFor(`worker ${child.pid} to start`, async () => {
    if (gone) throw new Error(`worker ${child.pid} exited during start-up:\n${output}`);
    return output.includes('Cleanup Tasks worker running');
  }, { timeoutMs: readyTimeoutMs });
  return worker;
}

const started = new Set<WorkerProcess>();

/** Kills (SIGKILL, by PID) every worker this file started that still runs, and waits for them. */
export async function stopWorkers(): Promise<void> {
  await Promise.all(
    [...started].map(async (worker) => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        try {
          process.kill(worker.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await Promise.race([worker.exited, sleep(5000, undefined, { ref: false })]);
    }),
  );
}
