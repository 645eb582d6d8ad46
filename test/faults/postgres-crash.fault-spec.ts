import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROBE_RUNS_DDL } from '../support/probe-worker/probe.handlers';
import { startWorker, stopWorkers, waitFor, type WorkerProcess } from '../support/scheduler';
import { FAULT_PG_PORT, OwnPostgres } from './support/own-postgres';
import { assertBuildsAreFresh, overlappingRuns, readJournal, startApi, stopApis, type ApiProcess } from './support/processes';

const ADMIN = `ctk_fault_admin_${'a'.repeat(32)}`;
const CLIENTS = 12;
const OUTAGE_MS = 5000;
/**
 * Each client enqueues into a workspace of its own, as deletions of many
 * workspaces would: with fair claims (the default) one workspace runs at most
 * 5 tasks at a time, 33 a second at these 150 ms handlers, which would bound
 * the drain after recovery rather than the outage handling under test.
 */
const WORKSPACES = Array.from({ length: CLIENTS }, (_, n) => `ws_fault_${n}`);

interface Answer {
  kind: 'enqueue' | 'list' | 'get';
  status: number | 'network-error' | 'timeout';
  code?: string;
  at: number;
  detail?: string;
}

/**
 * The operator's experiment, automated: the built API and two workers (probe
 * handlers that touch the database and journal every run to a file) on a
 * PostgreSQL of the test's own, under enqueue + list + get load from 12
 * clients; the server is stopped with `pg_ctl -m immediate` for 5 s and
 * started again. Leases are 60 s, so a task that waited for its lease to
 * expire could not complete in time: cut-off attempts must be released.
 */
describe('PostgreSQL crash and restart under load', () => {
  const server = new OwnPostgres('crash', FAULT_PG_PORT);
  const journal = resolve('.data/faults', `crash-journal-${process.pid}.jsonl`);
  let api: ApiProcess;
  let workers: WorkerProcess[];
  let tokens: { admin: string; service: string; member: string };

  beforeAll(async () => {
    assertBuildsAreFresh();
    await server.init();
    await server.start();
    await server.createDatabase('cleanup_tasks');
    const databaseUrl = server.url('cleanup_tasks');
    api = await startApi({ DATABASE_URL: databaseUrl, SCHEDULER_ENABLED: 'false', BOOTSTRAP_ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_MINUTE: '1000000' });
    await server.query(PROBE_RUNS_DDL);
    const make = async (body: object) => {
      const response = await fetch(`${api.base}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return ((await response.json()) as { token: string }).token;
    };
    tokens = { admin: ADMIN, service: await make({ name: 'producer', role: 'service' }), member: await make({ name: 'dashboard', role: 'member', workspaceIds: WORKSPACES }) };
    workers = await Promise.all([1, 2].map(() => startWorker(databaseUrl, { SCHEDULER_CONCURRENCY: '8', SCHEDULER_POLL_INTERVAL_MS: '1000' })));
  });
  afterAll(async () => {
    await stopWorkers();
    await stopApis();
    await server.destroy();
    rmSync(journal, { force: true });
  });

  it('loses no accepted enqueue, answers only 2xx or 503, completes every task within 30 s of recovery, and never runs a task twice at once', async () => {
    const answers: Answer[] = [];
    const accepted: string[] = [];
    let running = true;

    const call = async (kind: Answer['kind'], url: string, init: RequestInit): Promise<Response | undefined> => {
      try {
        const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
        const text = await response.text();
        const body = text.startsWith('{') ? (JSON.parse(text) as { code?: string; id?: string; detail?: string }) : {};
        answers.push({ kind, status: response.status, code: body.code, at: Date.now(), detail: response.status >= 400 ? body.detail : undefined });
        if (kind === 'enqueue' && (response.status === 201 || response.status === 200)) accepted.push(body.id!);
        return response;
      } catch (error) {
        answers.push({ kind, status: (error as Error).name === 'TimeoutError' ? 'timeout' : 'network-error', at: Date.now(), detail: String(error) });
        return undefined;
      }
    };

    const client = async (n: number) => {
      const writer = n % 2 === 0 ? tokens.admin : tokens.service;
      const reader = n % 3 === 0 ? tokens.admin : tokens.member;
      for (let i = 0; running && i < 100_000; i++) {
        await call('enqueue', `${api.base}/api/cleanup-tasks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            resourceType: 'delete_app',
            resourceId: `app_${n}_${i}`,
            workspaceId: WORKSPACES[n],
            sourceEventId: `evt_${n}_${i}`,
            metadata: { probe: { record: true, sleepMs: 150, journal } },
          }),
        });
        await call('list', `${api.base}/api/cleanup-tasks?workspace_id=${WORKSPACES[n]}&limit=20`, { headers: { authorization: `Bearer ${reader}` } });
        const last = accepted.at(-1);
        if (i % 3 === 0 && last) await call('get', `${api.base}/api/cleanup-tasks/${last}`, { headers: { authorization: `Bearer ${reader}` } });
      }
    };

    const load = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    await sleep(3000);
    const crashedAt = Date.now();
    await server.crash();
    await sleep(OUTAGE_MS);
    await server.start();
    const recoveredAt = Date.now();
    // Both workers LISTEN again within 5 s.
    const listening = async () => (await server.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN %'`))[0].n;
    const listeningAgainIn = await waitFor('both workers to LISTEN again', async () => ((await listening()) === 2 ? Date.now() - recoveredAt : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    await sleep(Math.max(0, 5000 - (Date.now() - recoveredAt)));
    running = false;
    await load;

    const completedIn = await waitFor(
      'every accepted task to complete',
      async () => {
        const [{ open }] = await server.query<{ open: number }>(`SELECT count(*)::int AS open FROM cleanup_tasks WHERE status <> 'completed'`);
        return open === 0 ? Date.now() - recoveredAt : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );

    const unexpected = answers.filter((answer) => typeof answer.status !== 'number' || (answer.status >= 300 && answer.status !== 503));
    expect(unexpected).toEqual([]);
    const unavailable = answers.filter((answer) => answer.status === 503);
    expect(unavailable.filter((answer) => answer.code !== 'database-unavailable')).toEqual([]);
    // The outage was hit: requests were refused while the server was down, and served before and after.
    expect(unavailable.length).toBeGreaterThan(0);
    expect(answers.filter((answer) => answer.at > recoveredAt + 2000 && answer.status === 200).length).toBeGreaterThan(0);

    // Nothing accepted was lost.
    expect(accepted.length).toBeGreaterThan(100);
    const stored = new Set((await server.query<{ id: string }>(`SELECT id FROM cleanup_tasks`)).map((row) => row.id));
    expect(accepted.filter((id) => !stored.has(id))).toEqual([]);

    expect(completedIn).toBeLessThan(30_000);
    const runs = readJournal(journal);
    expect(overlappingRuns(runs)).toEqual([]);
    expect([...runs.values()].flat().filter((run) => run.end === undefined)).toEqual([]);
    expect(listeningAgainIn).toBeLessThan(5000);
    // Claiming resumed within 5 s of the server accepting connections.
    const firstAfter = Math.min(...[...runs.values()].flat().map((run) => run.start).filter((start) => start > recoveredAt));
    expect(firstAfter - recoveredAt).toBeLessThan(5000);
    // Attempts the outage cut off ran again, at no cost to the budget and without backoff or an expired lease.
    const rerun = [...runs.values()].filter((list) => list.length > 1 && list[0].start < crashedAt + OUTAGE_MS);
    expect(rerun.length).toBeGreaterThan(0);
    const tasks = await server.query<{ id: string; budget_used: number; last_error: string | null }>(`SELECT id, attempts - attempts_base AS budget_used, last_error FROM cleanup_tasks`);
    expect(tasks.filter((task) => task.budget_used !== 1 || task.last_error !== null)).toEqual([]);

    // Nobody exited.
    for (const process of [api, ...workers]) expect(process.child.exitCode).toBeNull();
  });
});
