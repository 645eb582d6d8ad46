import { describe, expect, it } from '@jest/globals';
import { newId } from '@app/common';
import type { ProbeBehaviour } from './support/probe-worker/probe.handlers';
import { useProbeDatabase } from './support/probe-database';
import { startWorker, waitFor, type WorkerProcess } from './support/scheduler';

interface ProbeRun {
  task_id: string;
  pid: number;
  worker_id: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: string | null;
}

/**
 * Real OS processes of the built worker (dist/apps/worker) on one database,
 * running the probe handlers, which journal every run in
 * scheduler_probe_runs. Lease 2 s, so that crash recovery fits a test.
 */
describe('Scheduler processes on one database', () => {
  const suite = useProbeDatabase();

  // Every task here belongs to one workspace, and these tests need the processes busy with it at once (the
  // kill -9 victim must run 3 of them, 4 processes must share 5,000): the per-workspace cap (5 by default,
  // tested in scheduler-fairness.e2e-spec.ts) is raised above the processes' slots. Claims stay fair ones.
  const WORKER_ENV = { SCHEDULER_LEASE_SECONDS: '2', SCHEDULER_POLL_INTERVAL_MS: '1000', DATABASE_POOL_SIZE: '10', SCHEDULER_WORKSPACE_CONCURRENCY: '64' };

  /** Enqueues `count` root tasks in one statement (one NOTIFY); returns their ids. */
  const enqueue = async (count: number, probe: ProbeBehaviour): Promise<string[]> => {
    const ids = Array.from({ length: count }, () => newId('ct'));
    await suite.db.query(
      `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata)
       SELECT id, 'ws_probe', 'delete_element', 'el_' || id, $2::jsonb FROM unnest($1::text[]) AS id`,
      [ids, JSON.stringify({ probe })],
    );
    return ids;
  };
  const openTasks = async (): Promise<number> => (await suite.db.query(`SELECT count(*)::int AS n FROM cleanup_tasks WHERE status <> 'completed'`))[0].n;
  const runs = (): Promise<ProbeRun[]> => suite.db.query(`SELECT task_id, pid, worker_id, started_at, finished_at, outcome FROM scheduler_probe_runs ORDER BY started_at, id`);
  const terminate = async (worker: WorkerProcess) => {
    process.kill(worker.pid, 'SIGTERM');
    return worker.exited;
  };

  it('4 processes drain 5,000 tasks: every task runs exactly once and completes', async () => {
    const workers = await Promise.all(Array.from({ length: 4 }, () => startWorker(suite.url, { ...WORKER_ENV, SCHEDULER_CONCURRENCY: '8' })));
    const ids = await enqueue(5000, { record: true });

    await waitFor('all 5,000 tasks to complete', async () => (await openTasks()) === 0, { timeoutMs: 40_000, intervalMs: 100 });

    const journal = await runs();
    expect(journal).toHaveLength(5000);
    expect(new Set(journal.map((run) => run.task_id))).toEqual(new Set(ids));
    expect(journal.every((run) => run.finished_at !== null && run.outcome === 'ok')).toBe(true);
    const [summary] = await suite.db.query(`SELECT count(*)::int AS completed, max(attempts) AS max_attempts, count(*) FILTER (WHERE locked_by IS NOT NULL)::int AS locked FROM cleanup_tasks`);
    expect(summary).toEqual({ completed: 5000, max_attempts: 1, locked: 0 });
    // The work was shared: every process ran some of it.
    const perProcess = new Map<number, number>();
    for (const run of journal) perProcess.set(run.pid, (perProcess.get(run.pid) ?? 0) + 1);
    expect([...perProcess.keys()].sort()).toEqual(workers.map((w) => w.pid).sort());

    const exits = await Promise.all(workers.map(terminate));
    expect(exits.every((exit) => exit.code === 0)).toBe(true);
  });

  it('handlers running 2.5x their lease keep it by heartbeat: each task runs once, in one process, and completes on its first attempt', async () => {
    const workers = await Promise.all(Array.from({ length: 2 }, () => startWorker(suite.url, { ...WORKER_ENV, SCHEDULER_CONCURRENCY: '4' })));
    const ids = await enqueue(4, { record: true, sleepMs: 5000 }); // the lease is 2 s
    await waitFor('every task to complete', async () => (await openTasks()) === 0, { timeoutMs: 20_000, intervalMs: 100 });

    const journal = await runs();
    expect(journal).toHaveLength(ids.length);
    for (const id of ids) {
      const [run] = journal.filter((entry) => entry.task_id === id);
      expect(run.outcome).toBe('ok');
      expect(run.finished_at!.getTime() - run.started_at.getTime()).toBeGreaterThanOrEqual(4900);
    }
    const tasks: { attempts: number; last_error: string | null }[] = await suite.db.query(`SELECT attempts, last_error FROM cleanup_tasks WHERE id = ANY($1)`, [ids]);
    expect(tasks.every((task) => task.attempts === 1 && task.last_error === null)).toBe(true);
    for (const worker of workers) expect((await terminate(worker)).code).toBe(0);
  });

  it('after kill -9 of a process mid-handler, another finishes every task once its leases expire; no task runs twice at once', async () => {
    const [victim, survivor] = await Promise.all([
      startWorker(suite.url, { ...WORKER_ENV, SCHEDULER_CONCURRENCY: '6' }),
      startWorker(suite.url, { ...WORKER_ENV, SCHEDULER_CONCURRENCY: '6' }),
    ]);
    const ids = await enqueue(24, { record: true, sleepMs: 1000 });
    await waitFor('the victim to be running handlers', async () => (await runs()).filter((run) => run.pid === victim.pid && run.finished_at === null).length >= 3, {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    process.kill(victim.pid, 'SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    // Read after the victim is gone: everything it recorded happened before, everything after is someone else.
    const [{ now: killedAt }] = (await suite.db.query('SELECT clock_timestamp() AS now')) as { now: Date }[];

    await waitFor('every task to complete', async () => (await openTasks()) === 0, { timeoutMs: 20_000, intervalMs: 100 });

    const journal = await runs();
    const interrupted = journal.filter((run) => run.finished_at === null);
    expect(interrupted.length).toBeGreaterThanOrEqual(3);
    expect(interrupted.every((run) => run.pid === victim.pid && run.started_at < killedAt)).toBe(true);

    for (const id of ids) {
      const taskRuns = journal.filter((run) => run.task_id === id);
      const finished = taskRuns.filter((run) => run.finished_at !== null);
      // Nothing lost: each task ran to completion exactly once.
      expect(finished).toHaveLength(1);
      expect(finished[0].outcome).toBe('ok');
      const killedRun = taskRuns.find((run) => run.finished_at === null);
      if (killedRun) {
        // Not concurrently: the re-run started only after the victim was dead (its lease had run out: lastError below).
        expect(finished[0].pid).toBe(survivor.pid);
        expect(finished[0].started_at.getTime()).toBeGreaterThan(killedAt.getTime());
      }
    }
    const reclaimed: { attempts: number; last_error: string }[] = await suite.db.query(`SELECT attempts, last_error FROM cleanup_tasks WHERE id = ANY($1)`, [
      interrupted.map((run) => run.task_id),
    ]);
    expect(reclaimed.every((task) => task.attempts === 2 && task.last_error === `lease expired: worker ${interrupted[0].worker_id} stopped renewing it (crashed or stalled)`)).toBe(true);

    expect((await terminate(survivor)).code).toBe(0);
  });

  it('on SIGTERM stops claiming, lets short handlers finish and releases the leases of long ones', async () => {
    // Two slots stay free, so only the shutdown can keep the worker from claiming more.
    const worker = await startWorker(suite.url, { ...WORKER_ENV, SCHEDULER_CONCURRENCY: '6', SCHEDULER_SHUTDOWN_TIMEOUT_MS: '1000' });
    const short = await enqueue(2, { record: true, sleepMs: 300 });
    const long = await enqueue(2, { record: true, sleepMs: 60_000 });
    await waitFor('4 handlers to run', async () => (await runs()).length === 4, { timeoutMs: 10_000, intervalMs: 20 });
    const listening = async () => (await suite.db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN %'`))[0].n as number;
    expect(await listening()).toBe(1);

    const signalled = Date.now();
    process.kill(worker.pid, 'SIGTERM');
    // Its first act on SIGTERM is to stop listening for new work; tasks due after that must wait for another worker.
    await waitFor('the worker to stop listening', async () => (await listening()) === 0, { timeoutMs: 5_000, intervalMs: 10 });
    const late = await enqueue(2, { record: true });
    const exit = await worker.exited;
    expect(exit.code).toBe(0);
    // The long handlers sleep 60 s: an exit this soon means they were cut off at the 1 s timeout.
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(worker.output()).toContain('released 2 unfinished task(s)');

    const tasks: { id: string; status: string; locked_by: string | null; attempts: number; attempts_base: number; due: boolean }[] = await suite.db.query(
      `SELECT id, status, locked_by, attempts, attempts_base, run_at <= now() AS due FROM cleanup_tasks`,
    );
    const byId = new Map(tasks.map((task) => [task.id, task]));
    for (const id of short) expect(byId.get(id)).toMatchObject({ status: 'completed', locked_by: null, attempts: 1 });
    // Released, due at once for the next worker, and the interrupted attempt does not count against the budget.
    for (const id of long) expect(byId.get(id)).toEqual({ id, status: 'pending', locked_by: null, attempts: 1, attempts_base: 1, due: true });
    // Enqueued while it was stopping, with slots free: not claimed.
    for (const id of late) expect(byId.get(id)).toMatchObject({ status: 'pending', locked_by: null, attempts: 0 });
    expect((await runs()).filter((run) => late.includes(run.task_id))).toEqual([]);
  });
});
