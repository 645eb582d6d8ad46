import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { newId } from '@app/common';
import { ResourcesService } from '@app/resources';
import type { ProbeBehaviour } from './support/probe-worker/probe.handlers';
import { useProbeDatabase } from './support/probe-database';
import { startWorker, waitFor, type WorkerProcess } from './support/scheduler';
import { createTestApp, type TestApp } from './support/test-app';

/**
 * Fair claims across workspaces (SCHEDULER_FAIR_CLAIMS, on by default) and
 * the per-workspace cap (SCHEDULER_WORKSPACE_CONCURRENCY, 5 by default),
 * with real worker processes whose probe handlers journal every run in
 * scheduler_probe_runs (start and finish, by the database's clock).
 */
describe('Fair scheduling across workspaces (2 worker processes)', () => {
  const suite = useProbeDatabase();

  const CAP = 5;
  const SLEEP_MS = 50;


  const startWorkers = (env: Record<string, string>): Promise<WorkerProcess[]> =>
    Promise.all(Array.from({ length: 2 }, () => startWorker(suite.url, { SCHEDULER_POLL_INTERVAL_MS: '1000', DATABASE_POOL_SIZE: '10', ...env })));
  const stop = async (workers: WorkerProcess[]) => {
    for (const worker of workers) {
      process.kill(worker.pid, 'SIGTERM');
      expect((await worker.exited).code).toBe(0);
    }
  };
  /** Enqueues one task per workspace id given, in one statement; returns their ids. */
  const enqueue = async (workspaceIds: string[], probe: ProbeBehaviour): Promise<string[]> => {
    const ids = workspaceIds.map(() => newId('ct'));
    await suite.db.query(
      `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata)
       SELECT id, workspace_id, 'delete_element', 'el_' || id, $3::jsonb FROM unnest($1::text[], $2::text[]) AS t(id, workspace_id)`,
      [ids, workspaceIds, JSON.stringify({ probe })],
    );
    return ids;
  };
  const backlogOf = (workspaceId: string, count: number) => Array.from({ length: count }, () => workspaceId);
  const runCount = async (): Promise<number> => (await suite.db.query(`SELECT count(*)::int AS n FROM scheduler_probe_runs`))[0].n;
  /**
   * Per workspace: the most of its runs that overlapped (counted at the start
   * of each run) and the processes among them. A run lies within its lease
   * (it starts after the claim, finishes before the outcome is recorded), so
   * this is a lower bound of the leases held at once.
   */
  const overlaps = (): Promise<{ workspace_id: string; running: number; processes: number }[]> =>
    suite.db.query(`
      WITH runs AS (
        SELECT r.pid, r.started_at, coalesce(r.finished_at, 'infinity') AS finished_at, t.workspace_id
          FROM scheduler_probe_runs AS r JOIN cleanup_tasks AS t ON t.id = r.task_id
      )
      SELECT DISTINCT ON (a.workspace_id) a.workspace_id, c.running, c.processes
        FROM runs AS a
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS running, count(DISTINCT b.pid)::int AS processes FROM runs AS b
           WHERE b.workspace_id = a.workspace_id AND b.started_at <= a.started_at AND b.finished_at > a.started_at
        ) AS c
       ORDER BY a.workspace_id, c.running DESC, c.processes DESC`);

  it('a task of another workspace starts within 1 s while one workspace drains a backlog of 3,000, and no workspace runs more than the cap', async () => {
    const workers = await startWorkers({ SCHEDULER_CONCURRENCY: '10' });
    await enqueue(backlogOf('ws_backlog', 3000), { record: true, sleepMs: SLEEP_MS });
    await waitFor('the backlog to be draining', async () => (await runCount()) >= 50, { timeoutMs: 15_000, intervalMs: 20 });

    const others = Array.from({ length: 20 }, (_, i) => `ws_other_${i}`);
    const ids = await enqueue(others, { record: true, sleepMs: SLEEP_MS });
    await waitFor(
      'the 20 other workspaces’ tasks to start',
      async () => (await suite.db.query(`SELECT count(DISTINCT task_id)::int AS n FROM scheduler_probe_runs WHERE task_id = ANY($1)`, [ids]))[0].n === ids.length,
      { timeoutMs: 10_000, intervalMs: 20 },
    );

    const delays: { workspace_id: string; delay_ms: number }[] = await suite.db.query(
      `SELECT t.workspace_id, (EXTRACT(EPOCH FROM (min(r.started_at) - t.created_at)) * 1000)::float8 AS delay_ms
         FROM cleanup_tasks AS t JOIN scheduler_probe_runs AS r ON r.task_id = t.id
        WHERE t.id = ANY($1)
        GROUP BY t.id, t.workspace_id, t.created_at`,
      [ids],
    );
    expect(delays.map((row) => row.workspace_id).sort()).toEqual([...others].sort());
    for (const row of delays) expect(row.delay_ms).toBeLessThan(1000);
    // The backlog was still there: fairness, not an empty queue, let them through.
    const [{ pending }] = await suite.db.query(`SELECT count(*)::int AS pending FROM cleanup_tasks WHERE workspace_id = 'ws_backlog' AND status = 'pending'`);
    expect(pending).toBeGreaterThan(1500);

    const observed = await overlaps();
    expect(observed.find((row) => row.workspace_id === 'ws_backlog')?.running).toBe(CAP);
    expect(Math.max(...observed.map((row) => row.running))).toBe(CAP);

    await stop(workers);
    // Tasks claimed ahead and not started went back as they were: nothing is left leased, no attempt was spent on them.
    const [left] = await suite.db.query(
      `SELECT count(*) FILTER (WHERE status = 'in_progress')::int AS leased,
              count(*) FILTER (WHERE status = 'pending' AND attempts > 0)::int AS pending_with_attempts
         FROM cleanup_tasks`,
    );
    expect(left).toEqual({ leased: 0, pending_with_attempts: 0 });
  });

  it('two processes that each have fewer slots than the cap share one workspace and together never run more than the cap', async () => {
    // 3 slots each (and a task or two claimed ahead): neither process can hold the workspace's 5 alone for long.
    const workers = await startWorkers({ SCHEDULER_CONCURRENCY: '3', SCHEDULER_PREFETCH: '2' });
    await enqueue(backlogOf('ws_shared', 300), { record: true, sleepMs: SLEEP_MS });
    await waitFor('150 runs', async () => (await runCount()) >= 150, { timeoutMs: 30_000, intervalMs: 50 });

    const [shared] = await overlaps();
    // At its fullest the workspace ran 5 tasks at once, split over both processes; never 6.
    expect(shared).toEqual({ workspace_id: 'ws_shared', running: CAP, processes: 2 });
    await stop(workers);
  });
});

describe('A parent waiting for its children holds no slot (in-process, reference handlers, cap 1)', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp({
      env: { SCHEDULER_ENABLED: 'true', SCHEDULER_WORKSPACE_CONCURRENCY: '1', SCHEDULER_CONCURRENCY: '4', SCHEDULER_POLL_INTERVAL_MS: '5000' },
    });
  });
  afterAll(async () => {
    await sut?.close();
  });

  it('a workspace → apps → elements tree completes, one running task at a time', async () => {
    const workspace = await sut.app.get(ResourcesService).provisionWorkspace({
      name: 'Deep',
      apps: [
        { name: 'One', elements: 3 },
        { name: 'Two', elements: 2 },
      ],
      databases: [{ name: 'db' }],
    });
    const response = await request(sut.server)
      .post('/api/cleanup-tasks')
      .auth(sut.tokens.admin, { type: 'bearer' })
      .send({ resourceType: 'delete_workspace', resourceId: workspace.id, workspaceId: workspace.id });
    expect(response.status).toBe(201);

    let maxRunning = 0;
    const finished = await waitFor(
      'the tree to complete',
      async () => {
        const [row] = await sut.dataSource.query(
          `SELECT count(*) FILTER (WHERE status = 'in_progress' AND NOT awaiting_children)::int AS running,
                  count(*) FILTER (WHERE status = 'in_progress' AND awaiting_children)::int AS waiting,
                  count(*) FILTER (WHERE status <> 'completed')::int AS open,
                  count(*)::int AS total
             FROM cleanup_tasks WHERE workspace_id = $1`,
          [workspace.id],
        );
        maxRunning = Math.max(maxRunning, row.running);
        return row.open === 0 ? row : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 5 },
    );
    expect(finished).toMatchObject({ total: 1 + 2 + 5 + 1, running: 0, waiting: 0 });
    expect(maxRunning).toBe(1);
  });
});
