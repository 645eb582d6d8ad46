import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { waitFor } from '../support/scheduler';
import { FAULT_PG_PORT } from './support/own-postgres';
import { assertBuildsAreFresh, startApi, stopApis, type ApiProcess } from './support/processes';

const ADMIN = `ctk_fault_admin_${'e'.repeat(32)}`;

/** The postmaster pid its data directory names, if it has one. */
function postmasterPid(dataDir: string): number | undefined {
  const file = resolve(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The built API without DATABASE_URL, on an embedded PostgreSQL of its own
 * (EMBEDDED_POSTGRES_DIR/PORT): its postmaster is killed (`kill -9`), and
 * requests succeed again without anyone's help.
 */
describe('The embedded PostgreSQL restarts itself', () => {
  const port = FAULT_PG_PORT + 3;
  const dataDir = resolve('.data/faults', `embedded-${port}`);
  let api: ApiProcess;
  let taskUrl: string;

  beforeAll(async () => {
    assertBuildsAreFresh();
    rmSync(dataDir, { recursive: true, force: true });
    api = await startApi({ EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(port), BOOTSTRAP_ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_MINUTE: '1000000', LOG_LEVEL: 'info' });
    const created = await fetch(`${api.base}/api/cleanup-tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ resourceType: 'delete_app', resourceId: 'app_embedded', workspaceId: 'ws_embedded', sourceEventId: 'evt_embedded' }),
    });
    expect(created.status).toBe(201);
    taskUrl = `${api.base}/api/cleanup-tasks/${((await created.json()) as { id: string }).id}`;
  });
  afterAll(async () => {
    await stopApis();
    const pid = postmasterPid(dataDir);
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGQUIT');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const get = async () => {
    const response = await fetch(taskUrl, { headers: { authorization: `Bearer ${ADMIN}` }, signal: AbortSignal.timeout(15_000) });
    return { status: response.status, code: ((await response.json()) as { code?: string }).code };
  };

  it('answers 503 database-unavailable while its postmaster is dead, and 200 again by itself once it restarted it; SIGTERM then stops both', async () => {
    expect((await get()).status).toBe(200);
    const killed = postmasterPid(dataDir)!;
    process.kill(killed, 'SIGKILL');
    await waitFor('the postmaster to die', async () => !isAlive(killed), { timeoutMs: 10_000, intervalMs: 20 });

    const whileDown = await get();
    expect(whileDown).toEqual({ status: 503, code: 'database-unavailable' });
    const statuses = new Set<number>();
    await waitFor('requests to succeed again', async () => {
      const { status } = await get();
      statuses.add(status);
      return status === 200;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    expect([...statuses].filter((status) => status !== 200 && status !== 503)).toEqual([]);
    const restarted = postmasterPid(dataDir)!;
    expect(restarted).not.toBe(killed);
    expect(isAlive(restarted)).toBe(true);
    expect(api.output()).toMatch(new RegExp(`embedded PostgreSQL pid ${killed} exited \\(signal SIGKILL\\); starting it again in \\d+ ms`));
    expect(api.output()).toMatch(/embedded PostgreSQL is back \(pid \d+\) and accepts connections/);
    expect((await fetch(`${api.base}/health/ready`)).status).toBe(200);

    process.kill(api.pid, 'SIGTERM');
    expect(await api.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(restarted)).toBe(false);
    expect(postmasterPid(dataDir)).toBeUndefined();
  });
});
