import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './support/scheduler';
import { listenOnLoopback } from './support/webhook-receiver';

/** `npm start` runs this file (after `npm run build`, which `npm test` runs first). */
const MAIN = join(process.cwd(), 'dist/apps/api/apps/api/src/main.js');
const ADMIN = `ctk_seed_demo_admin_${'s'.repeat(32)}`;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(command: string, args: string[], env: Record<string, string>): Run {
  let output = '';
  const child = spawn(command, args, { cwd: process.cwd(), env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A free loopback port (in TEST_SERVER_PORTS when set), for the embedded PostgreSQL. */
async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('npm run seed:demo while npm start runs', () => {
  const directory = mkdtempSync(join(tmpdir(), 'cleanup-tasks-seed-'));
  const runs: Run[] = [];

  afterAll(async () => {
    for (const started of runs) {
      if (started.child.exitCode === null && started.child.signalCode === null) {
        started.child.kill('SIGTERM');
        await Promise.race([started.exited, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
        if (started.child.exitCode === null) started.child.kill('SIGKILL');
      }
    }
    rmSync(directory, { recursive: true, force: true });
  });

  it("seeds into the running server's embedded PostgreSQL, without rebuilding dist/, and its scheduler carries the trees on", async () => {
    const env = {
      EMBEDDED_POSTGRES_DIR: join(directory, 'postgres'),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      SCHEDULER_BACKOFF_BASE_MS: '50',
      SCHEDULER_BACKOFF_MAX_MS: '200',
    };
    const server = run(process.execPath, [MAIN], { ...env, PORT: '0', BOOTSTRAP_ADMIN_TOKEN: ADMIN });
    runs.push(server);
    const base = await waitFor('the server to listen', async () => server.output().match(/listening on (http:\/\/\S+)/)?.[1] ?? (server.child.exitCode !== null ? Promise.reject(new Error(server.output())) : undefined), { timeoutMs: 90_000, intervalMs: 100 });
    const builtAt = statSync(MAIN).mtimeMs;

    const seed = run('npm', ['run', 'seed:demo'], env);
    runs.push(seed);
    expect(await seed.exited).toBe(0);
    const output = seed.output();
    expect(output).toMatch(/Using the existing build: process [\d, ]+ runs from it; dist\/ is not rebuilt under it\./);
    expect(output).toContain('Using the embedded PostgreSQL of the running server');
    expect(output).toContain('A scheduler is running on this database');
    expect(output).toMatch(/completed\s+Acme Corp/);
    expect(output).toMatch(/failed\s+Initech/);
    expect(output).not.toContain('in use by another running process');
    expect(statSync(MAIN).mtimeMs).toBe(builtAt);

    // The data, through the running server's API: five trees enqueued, the first three settled, the rest carried on by its scheduler.
    const get = async (path: string, token = ADMIN) => {
      const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      return (await response.json()) as { data: { id: string; status: string; workspaceId: string }[]; pageInfo: { total: number } };
    };
    const roots = await get('/api/cleanup-tasks?resource_type=delete_workspace');
    expect(roots.pageInfo.total).toBe(5);
    await waitFor('the running scheduler to settle every seeded tree', async () => {
      const { data } = await get('/api/cleanup-tasks?resource_type=delete_workspace');
      return data.every((root) => root.status === 'completed' || root.status === 'failed') ? data : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect((await get('/api/cleanup-tasks?resource_type=delete_workspace&status=failed')).pageInfo.total).toBe(1);
    const [member] = output.match(/ctk_[A-Za-z0-9_-]{43}/)!;
    const seen = await get('/api/cleanup-tasks?limit=100', member);
    expect(seen.pageInfo.total).toBeGreaterThan(40);
    expect(new Set(seen.data.map((task) => task.workspaceId)).size).toBeGreaterThanOrEqual(5);
    expect(server.child.exitCode).toBeNull();
  }, 240_000);
});
