import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `npm start` runs this file (after `npm run build`, which `npm test` runs first). */
const MAIN = join(process.cwd(), 'dist/apps/api/apps/api/src/main.js');

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: Record<string, string>): Started {
  let output = '';
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', SCHEDULER_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The promise's value, or `fallback` after `ms`; the timer never outlives the race. */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(started: Started, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = started.output().match(pattern);
    if (match) return match;
    if (started.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${pattern}; output so far:\n${started.output()}`);
}

describe('Start-up [npm start]', () => {
  // mkdtemp makes a 0700 folder, as `mktemp -d` does for CI's clone: start-up must cope with that.
  const directory = mkdtempSync(join(tmpdir(), 'cleanup-tasks-start-'));
  const dataDir = join(directory, 'postgres');
  const pgPort = String(55000 + (process.pid % 2000));
  const running: Started[] = [];
  const launch = (env: Record<string, string>) => {
    const started = start(env);
    running.push(started);
    return started;
  };

  afterAll(async () => {
    for (const started of running) {
      if (started.child.exitCode === null) {
        started.child.kill('SIGTERM');
        await within(started.exited, 10_000, undefined);
        if (started.child.exitCode === null) started.child.kill('SIGKILL');
      }
    }
    rmSync(directory, { recursive: true, force: true });
  });

  it('fails fast with a clear message on an invalid PORT', async () => {
    const started = launch({ PORT: 'eighty', DATABASE_URL: 'postgres://u:p@127.0.0.1:1/x' });
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(/Invalid configuration:\n\s+- PORT="eighty"/);
  });

  it('fails fast on an unreachable DATABASE_URL without printing its password', async () => {
    const started = launch({ PORT: '0', DATABASE_URL: 'postgres://cleanup:s3cret-pw@127.0.0.1:1/cleanup' });
    const code = await within(started.exited, 20_000, 'still running');
    expect(code).toBe(1);
    expect(started.output()).toContain('Check DATABASE_URL');
    expect(started.output()).not.toContain('s3cret-pw');
  });

  it('starts on a new embedded PostgreSQL, prints the docs address and an admin token that works, and stops cleanly', async () => {
    const first = launch({ PORT: '0', EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: pgPort });
    const [, base] = await waitFor(first, /listening on (http:\/\/\S+)/, 90_000);
    await waitFor(first, /Try it:/, 5_000);
    expect(first.output()).toContain(`Swagger UI:    ${base}/api/docs`);
    const [token] = first.output().match(/ctk_[A-Za-z0-9_-]{43}/)!;

    const docs = await fetch(`${base}/api/docs`);
    expect(docs.status).toBe(200);
    const created = await fetch(`${base}/api/cleanup-tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ resourceType: 'delete_workspace', resourceId: 'ws_start', workspaceId: 'ws_start', sourceEventId: 'evt_start' }),
    });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: string };
    const fetched = await fetch(`${base}/api/cleanup-tasks/${task.id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(fetched.status).toBe(200);
    // The list runs on a pool of its own, opened on first use from the same connection settings.
    const listed = await fetch(`${base}/api/cleanup-tasks?workspace_id=ws_start`, { headers: { authorization: `Bearer ${token}` } });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { data: { id: string }[] }).data.map((row) => row.id)).toEqual([task.id]);

    first.child.kill('SIGTERM');
    expect(await first.exited).not.toBeNull();
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);

    // A second start reuses the data: the task is still there, no new admin token is printed,
    // and BOOTSTRAP_ADMIN_TOKEN adds an admin token with exactly that secret.
    const bootstrap = `ctk_bootstrap_${'x'.repeat(40)}`;
    const second = launch({ PORT: '0', EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: pgPort, BOOTSTRAP_ADMIN_TOKEN: bootstrap });
    const [, base2] = await waitFor(second, /listening on (http:\/\/\S+)/, 60_000);
    await waitFor(second, /Tokens: /, 5_000);
    expect(second.output()).not.toMatch(/ctk_[A-Za-z0-9_-]{43}/);
    for (const secret of [token, bootstrap]) {
      const again = await fetch(`${base2}/api/cleanup-tasks/${task.id}`, { headers: { authorization: `Bearer ${secret}` } });
      expect(again.status).toBe(200);
    }

    // While it runs, a third start on the same data directory stops with a
    // clear message instead of stopping the second one's PostgreSQL.
    const third = launch({ PORT: '0', EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: pgPort });
    expect(await within(third.exited, 30_000, 'still running')).not.toBe(0);
    expect(third.output()).toContain('is in use by another running process');
    expect((await fetch(`${base2}/health/ready`)).status).toBe(200);

    // Killed with SIGKILL, the second leaves its PostgreSQL orphaned: the next start stops that and starts afresh.
    second.child.kill('SIGKILL');
    await second.exited;
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(true);
    const fourth = launch({ PORT: '0', EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: pgPort });
    const [, base4] = await waitFor(fourth, /listening on (http:\/\/\S+)/, 60_000);
    const afterCrash = await fetch(`${base4}/api/cleanup-tasks/${task.id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(afterCrash.status).toBe(200);
    // Without BOOTSTRAP_ADMIN_TOKEN, and admin tokens existing, nothing new is created or printed.
    await waitFor(fourth, /Tokens: /, 5_000);
    expect(fourth.output()).not.toMatch(/ctk_[A-Za-z0-9_-]{43}/);
    fourth.child.kill('SIGTERM');
    await fourth.exited;
  }, 240_000);
});
