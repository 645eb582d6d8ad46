import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { newId } from '@app/common';
import { buildDataSourceOptions, databaseSettingsFor, runMigrationsExclusively } from '@app/database';
import { PROBE_RUNS_DDL } from '../support/probe-worker/probe.handlers';
import { DataSource } from 'typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorker, stopWorkers, waitFor } from '../support/scheduler';
import { FAULT_PG_PORT, OwnPostgres } from './support/own-postgres';
import { assertBuildsAreFresh, overlappingRuns, readJournal, type ProbeRun } from './support/processes';

const TASKS = 16;

/**
 * Workers meeting their own end while PostgreSQL is down: one is killed
 * (`kill -9`), another is told to stop (SIGTERM) and cannot release its
 * leases. The SIGTERM must still end the process in bounded time; once the
 * server is back, a new worker finishes everything, and no task ever ran in
 * two places at once (probe handlers journal every run to a file).
 */
describe('Workers killed or stopped while PostgreSQL is down', () => {
  const server = new OwnPostgres('workers', FAULT_PG_PORT + 2);
  const journal = resolve('.data/faults', `workers-journal-${process.pid}.jsonl`);
  // A short lease, so that the killed worker's tasks come back within the test.
  const WORKER_ENV = { SCHEDULER_LEASE_SECONDS: '4', SCHEDULER_POLL_INTERVAL_MS: '500', SCHEDULER_CONCURRENCY: '4', SCHEDULER_SHUTDOWN_TIMEOUT_MS: '1000' };

  beforeEach(() => rmSync(journal, { force: true }));
  afterEach(() => stopWorkers());
  /** The journal so far (empty before the first run). */
  const readJournalIfAny = () => (existsSync(journal) ? readJournal(journal) : new Map<string, ProbeRun[]>());

  beforeAll(async () => {
    assertBuildsAreFresh();
    await server.init();
    await server.start();
    await server.createDatabase('cleanup_tasks');
    const dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFor(server.url('cleanup_tasks')))).initialize();
    try {
      await runMigrationsExclusively(dataSource);
    } finally {
      await dataSource.destroy();
    }
    await server.query(PROBE_RUNS_DDL);
  });
  afterAll(async () => {
    await stopWorkers();
    await server.destroy();
    rmSync(journal, { force: true });
  });

  it('a SIGTERM ends the worker in bounded time; after a kill -9 and the restart every task completes, none ran twice at once', async () => {
    const url = server.url('cleanup_tasks');
    const [killed, stopped] = await Promise.all([startWorker(url, WORKER_ENV), startWorker(url, WORKER_ENV)]);
    const ids = Array.from({ length: TASKS }, () => newId('ct'));
    await server.query(
      `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata)
       SELECT id, 'ws_workers', 'delete_element', 'el_' || id, $2::jsonb FROM unnest($1::text[]) AS id`,
      [ids, JSON.stringify({ probe: { record: true, sleepMs: 3000, journal } })],
    );
    await waitFor('both workers to run handlers', async () => {
      const running = await server.query<{ pid: number }>(`SELECT DISTINCT pid FROM scheduler_probe_runs WHERE finished_at IS NULL`);
      return running.length === 2;
    }, { timeoutMs: 15_000, intervalMs: 50 });

    await server.crash();
    process.kill(killed.pid, 'SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();

    const signalled = Date.now();
    process.kill(stopped.pid, 'SIGTERM');
    const exit = await stopped.exited;
    const stopMs = Date.now() - signalled;
    expect({ code: exit.code, bounded: stopMs < 15_000 }).toEqual({ code: 0, bounded: true });

    await server.start();
    const survivor = await startWorker(url, WORKER_ENV);
    await waitFor('every task to complete', async () => {
      const [{ open }] = await server.query<{ open: number }>(`SELECT count(*)::int AS open FROM cleanup_tasks WHERE status <> 'completed'`);
      return open === 0;
    }, { timeoutMs: 40_000, intervalMs: 200 });

    const runs = readJournal(journal);
    expect([...runs.keys()].sort()).toEqual([...ids].sort());
    expect(overlappingRuns(runs, new Map([[killed.pid, killedAt]]))).toEqual([]);
    // Nothing ran to its end before the outage (3 s handlers); each task's last run is the survivor's, to the end.
    for (const id of ids) {
      const last = runs.get(id)!.at(-1)!;
      expect({ id, pid: last.pid, outcome: last.outcome }).toEqual({ id, pid: survivor.pid, outcome: 'ok' });
    }
    // Only the killed worker's runs lack an end; the stopped worker ended each of its own.
    expect([...runs.values()].flat().filter((run) => run.end === undefined && run.pid !== killed.pid)).toEqual([]);
    expect(survivor.child.exitCode).toBeNull();
  });

  it('stops a handler whose lease it cannot renew for half a lease before the lease may expire, and runs the task again once the server is back, at no cost to its budget', async () => {
    await server.query('TRUNCATE cleanup_tasks, scheduler_probe_runs');
    const url = server.url('cleanup_tasks');
    const holder = await startWorker(url, WORKER_ENV);
    const id = newId('ct');
    await server.query(`INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata) VALUES ($1, 'ws_workers', 'delete_element', 'el_long', $2::jsonb)`, [
      id,
      JSON.stringify({ probe: { record: true, sleepMs: 6000, journal } }),
    ]);
    await waitFor('the handler to run', async () => readJournalIfAny().get(id)?.length === 1, { timeoutMs: 15_000, intervalMs: 50 });
    await sleep(500);

    const crashedAt = Date.now();
    await server.crash();
    await sleep(4500);
    await server.start();
    const recoveredAt = Date.now();
    // A process that never saw the outage, whose sweeper would take an expired lease at once.
    const newcomer = await startWorker(url, WORKER_ENV);
    await waitFor('the task to complete', async () => (await server.query<{ status: string }>(`SELECT status FROM cleanup_tasks WHERE id = $1`, [id]))[0].status === 'completed', {
      timeoutMs: 30_000,
      intervalMs: 100,
    });

    const [first, ...later] = readJournal(journal).get(id)!;
    // The lease, renewed last before the crash, expires within 4 s of it: the handler had stopped by then.
    expect({ pid: first.pid, stoppedBeforeExpiry: first.end! < crashedAt + 4000, outcome: first.outcome }).toEqual({ pid: holder.pid, stoppedBeforeExpiry: true, outcome: expect.stringMatching(/abort/i) });
    expect(later.map((run) => ({ afterRecovery: run.start >= recoveredAt, outcome: run.outcome }))).toEqual([{ afterRecovery: true, outcome: 'ok' }]);
    expect(overlappingRuns(readJournal(journal))).toEqual([]);
    const [task] = await server.query<{ budget_used: number; last_error: string | null }>(`SELECT attempts - attempts_base AS budget_used, last_error FROM cleanup_tasks WHERE id = $1`, [id]);
    expect(task).toEqual({ budget_used: 1, last_error: null });
    expect(holder.output()).toMatch(/lease on task \S+ not renewed for \d+ ms \(the database is unreachable\); stopping its handler/);
    expect([holder.child.exitCode, newcomer.child.exitCode]).toEqual([null, null]);
  });
});
