import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { ADVISORY_LOCKS, buildDataSourceOptions, databaseSettingsFor, SqlExecutor } from '@app/database';
import { createTestDatabase, insertTasks } from '../../../test/support/test-app';
import { DUE_TASKS_CHANNEL } from './due-task.listener';
import { StaleLeaseSweeper } from './stale-lease.sweeper';
import { RETENTION_FIRST_SWEEP_JOB, RETENTION_SWEEP_JOB, RetentionSweeper } from './retention.sweeper';
import { MetricsRegistry } from '@app/observability/metrics/metrics-registry';
import { SchedulerSettings } from './scheduler-settings';
import { SchedulerTelemetry } from './scheduler.telemetry';
import { PENDING_BY_RUN_AT, PENDING_BY_WORKSPACE, RUNNING, TaskQueueRepository } from './task-queue.repository';
import { TaskSettlement } from './task-settlement';

const LEASE_MS = 30_000;
const WORKER = 'worker-a';
const OTHER = 'worker-b';

describe('TaskQueueRepository (real PostgreSQL)', () => {
  let database: { url: string; drop(): Promise<void> };
  let dataSource: DataSource;
  let db: SqlExecutor;
  let sut: TaskQueueRepository;
  let settlement: TaskSettlement;

  const task = async (id: string) => {
    const rows = await dataSource.query(`SELECT * FROM cleanup_tasks WHERE id = $1`, [id]);
    return rows[0] as Record<string, unknown> & { status: string; attempts: number; attempts_base: number; last_error: string | null; locked_by: string | null };
  };
  const claimAll = async (worker = WORKER) => sut.claimDueTasks(worker, 1000, LEASE_MS);

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFor(database.url))).initialize();
    db = new SqlExecutor(databaseSettingsFor(database.url, { poolSize: 12 }));
    sut = new TaskQueueRepository(db);
    settlement = new TaskSettlement(sut);
  });
  afterAll(async () => {
    await db?.onApplicationShutdown();
    await dataSource?.destroy();
    await database?.drop();
  });
  beforeEach(async () => {
    await dataSource.query('DELETE FROM cleanup_tasks');
  });

  describe('claimDueTasks', () => {
    it('leases due pending tasks in run_at order, counting the attempt', async () => {
      const [late, early, future, running] = await insertTasks(dataSource, [{}, {}, {}, { status: 'in_progress' }]);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '1 minute' WHERE id = $1`, [late]);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '2 minutes' WHERE id = $1`, [early]);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() + interval '1 hour' WHERE id = $1`, [future]);

      const claimed = await sut.claimDueTasks(WORKER, 1, LEASE_MS);
      expect(claimed.map((t) => t.id)).toEqual([early]);
      expect(claimed[0]).toMatchObject({ attempts: 1, attemptsBase: 0, resourceType: 'delete_workspace', metadata: {} });
      const row = await task(early);
      expect(row).toMatchObject({ status: 'in_progress', locked_by: WORKER, attempts: 1 });
      expect((row.locked_until as Date).getTime()).toBeGreaterThan(Date.now() + LEASE_MS - 5000);

      expect((await claimAll()).map((t) => t.id)).toEqual([late]);
      expect(await claimAll()).toEqual([]);
      expect((await task(future)).status).toBe('pending');
      expect((await task(running)).locked_by).toBeNull();
    });

    it('never hands one task to two concurrent claimers (FOR UPDATE SKIP LOCKED)', async () => {
      await insertTasks(dataSource, Array.from({ length: 300 }, () => ({})));
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => sut.claimDueTasks(`w${i}`, 40, LEASE_MS)));
      const ids = claims.flat().map((t) => t.id);
      expect(ids).toHaveLength(300);
      expect(new Set(ids).size).toBe(300);
    });

    it('tells an idle worker when the next task is due', async () => {
      expect(await sut.nextDueInMs()).toBeNull();
      const [id] = await insertTasks(dataSource, [{}]);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() + interval '10 seconds' WHERE id = $1`, [id]);
      const ms = await sut.nextDueInMs();
      expect(ms).toBeGreaterThan(8000);
      expect(ms).toBeLessThanOrEqual(10_000);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '1 second' WHERE id = $1`, [id]);
      expect(await sut.nextDueInMs()).toBe(0);
    });
  });

  describe('claimDueTasksFairly', () => {
    const CAP = 5;
    const fair = (worker: string, limit: number, cursor = '', cap = CAP) => sut.claimDueTasksFairly(worker, { limit, leaseMs: LEASE_MS, cap, cursor, maxVisits: 200 });
    const enqueueIn = (workspaceId: string, count: number) => insertTasks(dataSource, Array.from({ length: count }, () => ({ workspaceId })));
    const runningIn = async (workspaceId: string): Promise<number> =>
      (await dataSource.query(`SELECT count(*)::int AS n FROM cleanup_tasks WHERE workspace_id = $1 AND status = 'in_progress' AND NOT awaiting_children`, [workspaceId]))[0].n;

    it('gives each workspace in turn as many due tasks as it has free slots, so a backlog takes no more than its cap', async () => {
      await enqueueIn('ws_a', 100);
      const [b, c] = [...(await enqueueIn('ws_b', 1)), ...(await enqueueIn('ws_c', 1))];
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '1 hour' WHERE workspace_id = 'ws_a'`);

      const claim = await fair(WORKER, 10);
      expect(claim.tasks.map((t) => t.workspaceId).sort()).toEqual(['ws_a', 'ws_a', 'ws_a', 'ws_a', 'ws_a', 'ws_b', 'ws_c']);
      expect(claim.tasks[0]).toMatchObject({ attempts: 1, attemptsBase: 0 });
      expect(claim).toMatchObject({ lastVisited: 'ws_c', reachedEnd: true, contended: false });
      expect(await task(b)).toMatchObject({ status: 'in_progress', locked_by: WORKER, attempts: 1 });
      expect((await task(c)).status).toBe('in_progress');
      // A turn ends with the claim's limit: the walk stops there and the next claim goes on after it.
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'completed', completed_at = now(), locked_by = NULL WHERE status = 'in_progress'`);
      await enqueueIn('ws_b', 3);
      const short = await fair(WORKER, 4);
      expect(short.tasks.map((t) => t.workspaceId)).toEqual(['ws_a', 'ws_a', 'ws_a', 'ws_a']);
      expect(short).toMatchObject({ lastVisited: 'ws_a', reachedEnd: false });
      expect((await fair(WORKER, 4, 'ws_a')).tasks.map((t) => t.workspaceId)).toEqual(['ws_b', 'ws_b', 'ws_b']);
    });

    it('interleaves the workspaces of one claim when it has more than it may take: every first task before anyone’s second', async () => {
      await enqueueIn('ws_a', 5);
      await enqueueIn('ws_b', 5);
      const claim = await fair(WORKER, 6);
      expect(claim.tasks.map((t) => t.workspaceId).sort()).toEqual(['ws_a', 'ws_a', 'ws_a', 'ws_b', 'ws_b', 'ws_b']);
      // The ones it read and did not take are left as they were.
      const [{ pending, locked }] = await dataSource.query(
        `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE locked_by IS NOT NULL)::int AS locked FROM cleanup_tasks`,
      );
      expect({ pending, locked }).toEqual({ pending: 4, locked: 6 });
    });

    it('never lets a workspace run more than the cap, counting running leases but not parents waiting for children', async () => {
      const [parent] = await enqueueIn('ws_a', 1);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'in_progress', awaiting_children = true WHERE id = $1`, [parent]);
      await enqueueIn('ws_a', 20);
      expect((await fair(WORKER, 3)).tasks).toHaveLength(3);
      const second = await fair(OTHER, 10);
      expect(second.tasks).toHaveLength(CAP - 3);
      expect(await runningIn('ws_a')).toBe(CAP);
      expect((await fair(OTHER, 10)).tasks).toEqual([]);
      // A slot frees when a running task completes.
      await sut.completeTasks(WORKER, [(await dataSource.query(`SELECT id FROM cleanup_tasks WHERE locked_by = $1 LIMIT 1`, [WORKER]))[0].id]);
      expect((await fair(OTHER, 10)).tasks).toHaveLength(1);
    });

    it('holds the cap against concurrent claimers in separate transactions', async () => {
      await enqueueIn('ws_a', 300);
      await enqueueIn('ws_b', 300);
      for (let round = 0; round < 5; round++) {
        const ids: string[] = [];
        for (let wave = 0; wave < 3; wave++) {
          const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => fair(`w${round}_${i}`, 3)));
          ids.push(...claims.flatMap((claim) => claim.tasks.map((t) => t.id)));
          expect(await runningIn('ws_a')).toBeLessThanOrEqual(CAP);
          expect(await runningIn('ws_b')).toBeLessThanOrEqual(CAP);
        }
        expect(new Set(ids).size).toBe(ids.length);
        // Claimers that found a workspace's lock taken skipped it; one more claim fills it to the cap, not beyond.
        await fair('w_last', 20);
        expect([await runningIn('ws_a'), await runningIn('ws_b')]).toEqual([CAP, CAP]);
        await dataSource.query(`UPDATE cleanup_tasks SET status = 'completed', completed_at = now(), locked_by = NULL, locked_until = NULL WHERE status = 'in_progress'`);
      }
    });

    it('goes on after the cursor, skips workspaces whose tasks are not due or that are at their cap, and says when it reached the last one', async () => {
      await enqueueIn('ws_a', 2);
      await enqueueIn('ws_b', 2);
      await enqueueIn('ws_c', 2);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() + interval '1 hour' WHERE workspace_id = 'ws_b'`);

      const afterA = await fair(WORKER, 10, 'ws_a');
      expect(afterA.tasks.map((t) => t.workspaceId)).toEqual(['ws_c', 'ws_c']);
      expect(afterA).toMatchObject({ lastVisited: 'ws_c', reachedEnd: true });
      const fromStart = await fair(WORKER, 10, '', 1);
      expect(fromStart.tasks.map((t) => t.workspaceId)).toEqual(['ws_a']);
      // ws_a and ws_c are at a cap of 1 now; ws_b is not due.
      expect((await fair(WORKER, 10, '', 1)).tasks).toEqual([]);
      expect(await fair(WORKER, 10, 'ws_c')).toMatchObject({ tasks: [], lastVisited: null, reachedEnd: true });
    });

    it('tells how long until a task a claim could take is due, leaving out workspaces at their cap', async () => {
      expect(await sut.claimableDueInMs(CAP, 1000)).toBeNull();
      await enqueueIn('ws_full', 10);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '1 hour' WHERE workspace_id = 'ws_full'`);
      await fair(WORKER, 10);
      expect(await runningIn('ws_full')).toBe(CAP);
      // Only ws_full has due tasks, and it is at its cap.
      expect(await sut.claimableDueInMs(CAP, 1000)).toBeNull();
      expect(await sut.claimableDueInMs(null, 1000)).toBeLessThan(-3_500_000);
      const [later] = await enqueueIn('ws_later', 1);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() + interval '10 seconds' WHERE id = $1`, [later]);
      const ms = await sut.claimableDueInMs(CAP, 1000);
      expect(ms).toBeGreaterThan(8000);
      expect(ms).toBeLessThanOrEqual(10_000);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '2 seconds' WHERE id = $1`, [later]);
      expect(await sut.claimableDueInMs(CAP, 1000)).toBeLessThan(-1900);
    });

    it('reads the metrics’ backlog: every due task counted (up to the cap), the lag only of tasks a claim could take now', async () => {
      expect(await sut.readyQueueStats(1000, CAP)).toEqual({ ready: 0, oldestAgeSeconds: 0 });
      await enqueueIn('ws_full', 10);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '1 hour' WHERE workspace_id = 'ws_full'`);
      await fair(WORKER, 10);
      // ws_full runs 5 and holds 5 due tasks back: they count as due, but nobody is behind on them.
      expect(await sut.readyQueueStats(1000, CAP)).toEqual({ ready: 5, oldestAgeSeconds: 0 });
      expect(await sut.readyQueueStats(3, CAP)).toEqual({ ready: 3, oldestAgeSeconds: 0 });
      // Without fair claims (no cap) they are the lag.
      expect((await sut.readyQueueStats(1000, null)).oldestAgeSeconds).toBeGreaterThan(3500);
      const [waiting] = await enqueueIn('ws_other', 1);
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '30 seconds' WHERE id = $1`, [waiting]);
      const stats = await sut.readyQueueStats(1000, CAP);
      expect(stats.ready).toBe(6);
      expect(stats.oldestAgeSeconds).toBeGreaterThanOrEqual(30);
      expect(stats.oldestAgeSeconds).toBeLessThan(60);
    });

    it('hands back tasks claimed ahead exactly as they were before the claim', async () => {
      const [id] = await enqueueIn('ws_a', 1);
      const before = await task(id);
      await fair(WORKER, 1);
      expect(await sut.returnUnstartedTasks(OTHER, [id])).toEqual([]);
      expect(await sut.returnUnstartedTasks(WORKER, [id])).toEqual([id]);
      expect(await task(id)).toMatchObject({ status: 'pending', locked_by: null, locked_until: null, attempts: 0, attempts_base: 0, run_at: before.run_at });
    });
  });

  describe('plans that hold whatever the statistics say', () => {
    it('reaches pending and running tasks through the queue’s own indexes even when the table was analyzed with none pending', async () => {
      await dataSource.query(
        `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, status, attempts, completed_at)
         SELECT 'ct_' || lpad(i::text, 26, '0'), 'ws_' || (i % 100), 'delete_element', 'r' || i, 'completed', 1, now() FROM generate_series(1, 20000) AS i`,
      );
      await dataSource.query('ANALYZE cleanup_tasks');
      // A backlog arrives after the statistics were taken: they say nothing is pending or running.
      await dataSource.query(
        `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, status, locked_by, locked_until, attempts)
         SELECT 'ct_' || lpad((100000 + i)::text, 26, '0'), 'ws_backlog_' || (i % 10), 'delete_element', 'b' || i,
                CASE WHEN i % 10 = 0 THEN 'in_progress' ELSE 'pending' END, CASE WHEN i % 10 = 0 THEN 'w' END, CASE WHEN i % 10 = 0 THEN now() END, 1
           FROM generate_series(1, 5000) AS i`,
      );
      const plan = async (sql: string) => ((await dataSource.query(`EXPLAIN ${sql}`)) as { 'QUERY PLAN': string }[]).map((row) => row['QUERY PLAN']).join('\n');

      const nextWorkspace = await plan(`SELECT workspace_id, run_at FROM cleanup_tasks WHERE ${PENDING_BY_WORKSPACE} AND workspace_id > 'ws_backlog_3' ORDER BY workspace_id, run_at LIMIT 1`);
      expect(nextWorkspace).toContain('Index Only Scan using cleanup_tasks_workspace_due_idx');
      expect(nextWorkspace).not.toContain('Sort');
      const dueOfOne = await plan(
        `SELECT id FROM cleanup_tasks WHERE workspace_id = 'ws_backlog_3' AND ${PENDING_BY_WORKSPACE} AND run_at <= now() ORDER BY run_at LIMIT 5 FOR UPDATE SKIP LOCKED`,
      );
      expect(dueOfOne).toMatch(/Index Scan using cleanup_tasks_workspace_due_idx[^\n]*\n\s+Index Cond: \(\(workspace_id = /);
      const oldestFirst = await plan(`SELECT id FROM cleanup_tasks WHERE ${PENDING_BY_RUN_AT} AND run_at <= now() ORDER BY run_at LIMIT 20 FOR UPDATE SKIP LOCKED`);
      expect(oldestFirst).toContain('Index Scan using cleanup_tasks_due_idx');
      expect(oldestFirst).not.toContain('Sort');
      const running = await plan(`SELECT count(*) FROM (SELECT 1 FROM cleanup_tasks WHERE workspace_id = 'ws_backlog_3' AND ${RUNNING} LIMIT 5) AS r`);
      expect(running).toMatch(/Index Only Scan using cleanup_tasks_running_idx[^\n]*\n\s+Index Cond: \(workspace_id = /);
    });
  });

  describe('state changes are guarded by the lease holder', () => {
    it('completes only the tasks this worker holds', async () => {
      const [mine, theirs] = await insertTasks(dataSource, [{}, {}]);
      await sut.claimDueTasks(WORKER, 1, LEASE_MS);
      await sut.claimDueTasks(OTHER, 1, LEASE_MS);
      const completed = await sut.completeTasks(WORKER, [mine, theirs]);
      expect(completed).toEqual([{ id: mine, parentId: null }]);
      expect(await task(mine)).toMatchObject({ status: 'completed', locked_by: null });
      expect((await task(mine)).completed_at).toBeInstanceOf(Date);
      expect(await task(theirs)).toMatchObject({ status: 'in_progress', locked_by: OTHER });
    });

    it('does not complete a task that has an unfinished child', async () => {
      const [parent] = await insertTasks(dataSource, [{}]);
      await claimAll();
      await insertTasks(dataSource, [{ parentId: parent, resourceType: 'delete_app', status: 'failed' }]);
      expect(await sut.completeTasks(WORKER, [parent])).toEqual([]);
      expect((await task(parent)).status).toBe('in_progress');
    });

    it('schedules a retry with backoff, keeping the error', async () => {
      const [id] = await insertTasks(dataSource, [{}]);
      await claimAll();
      expect(await sut.scheduleRetry(OTHER, id, 'nope', 1000)).toBe(false);
      expect(await sut.scheduleRetry(WORKER, id, 'boom', 5000)).toBe(true);
      const row = await task(id);
      expect(row).toMatchObject({ status: 'pending', last_error: 'boom', locked_by: null, attempts: 1 });
      expect((row.run_at as Date).getTime()).toBeGreaterThan(Date.now() + 3000);
      expect(await claimAll()).toEqual([]);
    });

    it('renews leases with a heartbeat and reports the ones it lost', async () => {
      const [a, b] = await insertTasks(dataSource, [{}, {}]);
      await claimAll();
      await dataSource.query(`UPDATE cleanup_tasks SET locked_by = $2 WHERE id = $1`, [b, OTHER]);
      const before = (await task(a)).locked_until as Date;
      expect(await sut.extendLeases(WORKER, [a, b], LEASE_MS * 2)).toEqual([a]);
      expect(((await task(a)).locked_until as Date).getTime()).toBeGreaterThan(before.getTime());
      expect(await sut.findHeldLeases(WORKER, [a, b])).toEqual([a]);
    });

    it('releases leases on shutdown without using up the attempt budget', async () => {
      const [id] = await insertTasks(dataSource, [{}]);
      await claimAll();
      expect(await sut.releaseLeases(OTHER, [id])).toEqual([]);
      expect(await sut.releaseLeases(WORKER, [id])).toEqual([id]);
      expect(await task(id)).toMatchObject({ status: 'pending', locked_by: null, attempts: 1, attempts_base: 1 });
      expect((await claimAll()).map((t) => t.id)).toEqual([id]);
    });

    it('after an outage, releases the leases a worker holds but is not running (a claim whose answer was lost), and only those', async () => {
      await insertTasks(dataSource, [{}, {}]);
      const [running, lostAnswer] = (await claimAll()).map((claimed) => claimed.id);
      await insertTasks(dataSource, [{}]);
      const [others] = (await sut.claimDueTasks(OTHER, 10, LEASE_MS)).map((claimed) => claimed.id);

      expect(await sut.releaseStrayLeases(WORKER, [running])).toEqual([lostAnswer]);
      expect(await task(lostAnswer)).toMatchObject({ status: 'pending', locked_by: null, attempts: 1, attempts_base: 1 });
      expect(await task(running)).toMatchObject({ status: 'in_progress', locked_by: WORKER });
      expect(await task(others)).toMatchObject({ status: 'in_progress', locked_by: OTHER });
    });
  });

  describe('children and parent resolution (TaskSettlement)', () => {
    const claimOne = async (id: string, worker = WORKER) => {
      await dataSource.query(`UPDATE cleanup_tasks SET run_at = now() - interval '1 hour' WHERE id = $1`, [id]);
      const claimed = await sut.claimDueTasks(worker, 1, LEASE_MS);
      expect(claimed.map((t) => t.id)).toEqual([id]);
      return claimed[0];
    };
    const childrenOf = async (id: string): Promise<{ id: string; status: string; workspace_id: string; source_event_id: string }[]> =>
      dataSource.query(`SELECT id, status, workspace_id, source_event_id FROM cleanup_tasks WHERE parent_id = $1 ORDER BY id`, [id]);

    it('spawns children idempotently; they inherit workspace and source event', async () => {
      const [root] = await insertTasks(dataSource, [{ workspaceId: 'ws_x', sourceEventId: 'evt_1' }]);
      const children = [
        { resourceType: 'delete_app' as const, resourceId: 'app_1' },
        { resourceType: 'delete_database' as const, resourceId: 'db_1', metadata: { size: 3 } },
      ];
      expect(await sut.spawnChildren(root, children)).toBe(2);
      expect(await sut.spawnChildren(root, children)).toBe(0);
      const rows = await childrenOf(root);
      expect(rows).toHaveLength(2);
      expect(rows.every((r) => r.workspace_id === 'ws_x' && r.source_event_id === 'evt_1' && r.status === 'pending')).toBe(true);
    });

    it('waits for children, and the last child to complete completes the parent and grandparent', async () => {
      const [root] = await insertTasks(dataSource, [{}]);
      const claimedRoot = await claimOne(root);
      expect(await settlement.settle(WORKER, claimedRoot, [{ resourceType: 'delete_app', resourceId: 'app_1' }])).toBe('awaiting_children');
      expect(await task(root)).toMatchObject({ status: 'in_progress', awaiting_children: true, locked_by: null });

      const [app] = await childrenOf(root);
      const claimedApp = await claimOne(app.id);
      expect(
        await settlement.settle(WORKER, claimedApp, [
          { resourceType: 'delete_element', resourceId: 'el_1' },
          { resourceType: 'delete_element', resourceId: 'el_2' },
        ]),
      ).toBe('awaiting_children');
      const [el1, el2] = await childrenOf(app.id);
      const c1 = await claimOne(el1.id);
      const c2 = await claimOne(el2.id, OTHER);
      expect(await settlement.completeMany(WORKER, [c1])).toEqual(new Map([[el1.id, 'completed']]));
      expect((await task(app.id)).status).toBe('in_progress');
      expect(await settlement.completeMany(OTHER, [c2])).toEqual(new Map([[el2.id, 'completed']]));
      expect((await task(app.id)).status).toBe('completed');
      expect(await task(root)).toMatchObject({ status: 'completed', awaiting_children: false });
    });

    it('completes the parent exactly once when its last two children finish at the same moment', async () => {
      for (let round = 0; round < 15; round++) {
        await dataSource.query('DELETE FROM cleanup_tasks');
        const [root] = await insertTasks(dataSource, [{}]);
        await settlement.settle(WORKER, await claimOne(root), [
          { resourceType: 'delete_app', resourceId: 'a' },
          { resourceType: 'delete_app', resourceId: 'b' },
        ]);
        const [a, b] = await childrenOf(root);
        const ca = await claimOne(a.id, 'wa');
        const cb = await claimOne(b.id, 'wb');
        // Separate transactions on separate connections, started together.
        await Promise.all([settlement.completeMany('wa', [ca]), settlement.completeMany('wb', [cb])]);
        expect(await task(root)).toMatchObject({ status: 'completed', awaiting_children: false });
      }
    });

    it('a re-running parent re-spawning a child while that child completes neither deadlocks nor loses the completion', async () => {
      for (let round = 0; round < 10; round++) {
        await dataSource.query('DELETE FROM cleanup_tasks');
        const [root] = await insertTasks(dataSource, [{}]);
        const spec = [{ resourceType: 'delete_app' as const, resourceId: 'app_1' }];
        await settlement.settle(WORKER, await claimOne(root), spec);
        const [child] = await childrenOf(root);
        const claimedChild = await claimOne(child.id, OTHER);
        // The root runs again (as after a retry) while its child is finishing.
        await dataSource.query(`UPDATE cleanup_tasks SET status = 'pending', awaiting_children = false WHERE id = $1`, [root]);
        const rerun = await claimOne(root);
        const started = Date.now();
        const [rootOutcome] = await Promise.all([settlement.settle(WORKER, rerun, spec), settlement.completeMany(OTHER, [claimedChild])]);
        // A deadlock would surface after deadlock_timeout (1 s) as an error on one side.
        expect(Date.now() - started).toBeLessThan(900);
        expect(['completed', 'awaiting_children']).toContain(rootOutcome);
        expect(await task(root)).toMatchObject({ status: 'completed', awaiting_children: false });
      }
    });

    it('fails the waiting ancestors when a child fails for good, naming it', async () => {
      const [root] = await insertTasks(dataSource, [{}]);
      await settlement.settle(WORKER, await claimOne(root), [{ resourceType: 'delete_app', resourceId: 'app_1' }]);
      const [app] = await childrenOf(root);
      await settlement.settle(WORKER, await claimOne(app.id), [
        { resourceType: 'delete_element', resourceId: 'el_ok' },
        { resourceType: 'delete_element', resourceId: 'el_bad' },
      ]);
      const [first, second] = await childrenOf(app.id);
      const good = await claimOne(first.id);
      const bad = await claimOne(second.id);
      const [okTask, badTask] = (await task(good.id)).resource_id === 'el_ok' ? [good, bad] : [bad, good];

      expect(await settlement.failFinally(WORKER, badTask, 'disk on fire')).toBe('failed');
      expect((await task(app.id)).status).toBe('in_progress'); // a sibling is still running
      await settlement.completeMany(WORKER, [okTask]);

      const appRow = await task(app.id);
      expect(appRow.status).toBe('failed');
      expect(appRow.last_error).toBe(`child task ${badTask.id} (delete_element el_bad) failed: disk on fire`);
      const rootRow = await task(root);
      expect(rootRow.status).toBe('failed');
      expect(rootRow.last_error).toContain(`child task ${app.id} (delete_app app_1) failed: child task ${badTask.id}`);
    });

    it('a re-run completes at once when its earlier children are done, or waits for them', async () => {
      const [root] = await insertTasks(dataSource, [{}]);
      await settlement.settle(WORKER, await claimOne(root), [{ resourceType: 'delete_app', resourceId: 'app_1' }]);
      const [app] = await childrenOf(root);
      // The root is re-run (e.g. retried) while its child is still open: it waits again.
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'pending', awaiting_children = false WHERE id = $1`, [root]);
      const rerun = await claimOne(root);
      expect(await settlement.completeMany(WORKER, [rerun])).toEqual(new Map([[root, 'awaiting_children']]));
      await settlement.completeMany(WORKER, [await claimOne(app.id)]);
      expect((await task(root)).status).toBe('completed');
    });

    it('reports a lost lease instead of recording anything', async () => {
      const [root] = await insertTasks(dataSource, [{}]);
      const claimed = await claimOne(root);
      await dataSource.query(`UPDATE cleanup_tasks SET locked_by = $2 WHERE id = $1`, [root, OTHER]);
      expect(await settlement.failFinally(WORKER, claimed, 'x')).toBe('lease_lost');
      expect(await settlement.completeMany(WORKER, [claimed])).toEqual(new Map([[root, 'lease_lost']]));
      expect(await settlement.settle(WORKER, claimed, [{ resourceType: 'delete_app', resourceId: 'x' }])).toBe('lease_lost');
      expect(await task(root)).toMatchObject({ status: 'in_progress', locked_by: OTHER, awaiting_children: false });
    });
  });

  describe('sweeps', () => {
    const settings = (overrides: Partial<SchedulerSettings> = {}) =>
      Object.assign(new SchedulerSettings(), { maxAttempts: 2, leaseSweepIntervalMs: 1000, retention: { enabled: true, days: 30 }, ...overrides });

    it('re-queues expired leases, and fails those out of attempts together with their waiting parent', async () => {
      const [parent] = await insertTasks(dataSource, [{}]);
      const [fresh, expiredA, expiredB] = await insertTasks(dataSource, [
        { parentId: parent, resourceType: 'delete_app', resourceId: 'a' },
        { parentId: parent, resourceType: 'delete_app', resourceId: 'b' },
        { parentId: parent, resourceType: 'delete_app', resourceId: 'c' },
      ]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'in_progress', awaiting_children = true WHERE id = $1`, [parent]);
      await sut.claimDueTasks('dead-worker', 10, LEASE_MS);
      await dataSource.query(`UPDATE cleanup_tasks SET locked_until = now() - interval '1 second' WHERE id = ANY($1)`, [[expiredA, expiredB]]);
      await dataSource.query(`UPDATE cleanup_tasks SET attempts = 2 WHERE id = $1`, [expiredB]);

      const metrics = new MetricsRegistry();
      const sweeper = new StaleLeaseSweeper(settings(), sut, settlement, new SchedulerTelemetry(metrics), db);
      expect(await sweeper.sweep()).toEqual({ skipped: false, requeued: 1, failed: 1 });
      const counted = async (name: string) => (await metrics.values()).find((metric) => metric.name === name)!.values.filter((value) => value.value > 0);
      expect(await counted('cleanup_lease_reclaims_total')).toEqual([expect.objectContaining({ value: 2 })]);
      expect(await counted('cleanup_tasks_failed_total')).toEqual([expect.objectContaining({ labels: { resource_type: 'delete_app' }, value: 1 })]);
      expect(await task(expiredA)).toMatchObject({ status: 'pending', locked_by: null, last_error: 'lease expired: worker dead-worker stopped renewing it (crashed or stalled)' });
      expect(await task(expiredB)).toMatchObject({ status: 'failed', locked_by: null });
      expect(await task(fresh)).toMatchObject({ status: 'in_progress', locked_by: 'dead-worker' });
      expect((await task(parent)).status).toBe('in_progress'); // fresh and expiredA are still open

      await dataSource.query(`UPDATE cleanup_tasks SET status = 'completed', completed_at = now(), locked_by = NULL WHERE id = ANY($1)`, [[fresh, expiredA]]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'in_progress', locked_by = 'dead-worker', locked_until = now() - interval '1 second', attempts = 2, attempts_base = 0 WHERE id = $1`, [expiredB]);
      expect(await sweeper.sweep()).toEqual({ skipped: false, requeued: 0, failed: 1 });
      expect(await task(parent)).toMatchObject({ status: 'failed', last_error: expect.stringContaining(`child task ${expiredB} (delete_app c) failed: lease expired`) });
    });

    it('takes no lease away within a lease of the database coming back after an outage (living workers renew or release their own)', async () => {
      await insertTasks(dataSource, [{}]);
      await sut.claimDueTasks('worker-through-outage', 10, LEASE_MS);
      await dataSource.query(`UPDATE cleanup_tasks SET locked_until = now() - interval '1 second'`);
      const executor = new SqlExecutor(databaseSettingsFor(database.url, { poolSize: 2 }));
      try {
        const sweeper = new StaleLeaseSweeper(settings({ leaseMs: 60_000 }), new TaskQueueRepository(executor), settlement, new SchedulerTelemetry(new MetricsRegistry()), executor);
        executor.availability.failed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
        expect(await sweeper.sweep()).toEqual({ skipped: true, requeued: 0, failed: 0 });
        executor.availability.succeeded();
        expect(await sweeper.sweep()).toEqual({ skipped: true, requeued: 0, failed: 0 });
        expect((await task((await dataSource.query('SELECT id FROM cleanup_tasks'))[0].id)).locked_by).toBe('worker-through-outage');

        const later = new StaleLeaseSweeper(settings({ leaseMs: 0 }), new TaskQueueRepository(executor), settlement, new SchedulerTelemetry(new MetricsRegistry()), executor);
        expect(await later.sweep()).toEqual({ skipped: false, requeued: 1, failed: 0 });
      } finally {
        await executor.onApplicationShutdown();
      }
    });

    it('runs a sweep in one process at a time (advisory lock)', async () => {
      const sweeper = new StaleLeaseSweeper(settings(), sut, settlement, new SchedulerTelemetry(new MetricsRegistry()), db);
      const holder = await sut.withTryAdvisoryLock(ADVISORY_LOCKS.staleLeaseSweep, async () => sweeper.sweep());
      expect(holder).toEqual({ acquired: true, result: { skipped: true, requeued: 0, failed: 0 } });
      expect((await sweeper.sweep()).skipped).toBe(false);
    });

    it('purges completed trees older than the retention, keeping the rest', async () => {
      const old = new Date(Date.now() - 40 * 86_400_000);
      const [oldRoot, oldFailedRoot, recentRoot] = await insertTasks(dataSource, [
        { status: 'completed', completedAt: old },
        { status: 'failed' },
        { status: 'completed' },
      ]);
      const [oldChild] = await insertTasks(dataSource, [{ parentId: oldRoot, resourceType: 'delete_app', status: 'completed', completedAt: old }]);
      await insertTasks(dataSource, [{ parentId: oldFailedRoot, resourceType: 'delete_app', status: 'completed', completedAt: old }]);

      const sweeper = new RetentionSweeper(settings(), sut, new SchedulerRegistry());
      expect(await sweeper.sweep()).toEqual({ skipped: false, purgedTrees: 1 });
      const left: { id: string }[] = await dataSource.query('SELECT id FROM cleanup_tasks');
      const ids = left.map((r) => r.id);
      expect(ids).not.toContain(oldRoot);
      expect(ids).not.toContain(oldChild);
      expect(ids).toEqual(expect.arrayContaining([oldFailedRoot, recentRoot]));
      expect(ids).toHaveLength(3);
    });

    it('is a @nestjs/schedule job (first sweep a minute after start, then hourly) that purges when it ticks, and has no timers when retention is off', async () => {
      const old = new Date(Date.now() - 40 * 86_400_000);
      const [oldRoot] = await insertTasks(dataSource, [{ status: 'completed', completedAt: old }]);
      const exists = async () => (await dataSource.query('SELECT 1 FROM cleanup_tasks WHERE id = $1', [oldRoot])).length > 0;
      const start = async (enabled: boolean) => {
        const moduleRef = await Test.createTestingModule({
          imports: [ScheduleModule.forRoot()],
          providers: [
            RetentionSweeper,
            { provide: SchedulerSettings, useValue: settings({ retention: { enabled, days: 30 } }) },
            { provide: TaskQueueRepository, useValue: sut },
          ],
        }).compile();
        const app = moduleRef.createNestApplication();
        await app.init();
        return app;
      };

      const off = await start(false);
      try {
        const timers = off.get(SchedulerRegistry);
        expect([...timers.getTimeouts(), ...timers.getIntervals()]).toEqual([]);
        expect(off.get(RetentionSweeper).tick()).toBeUndefined();
        expect(await exists()).toBe(true);
      } finally {
        await off.close();
      }

      const on = await start(true);
      try {
        const timers = on.get(SchedulerRegistry);
        expect(timers.getTimeouts()).toEqual([RETENTION_FIRST_SWEEP_JOB]);
        expect(timers.getIntervals()).toEqual([RETENTION_SWEEP_JOB]);
        await on.get(RetentionSweeper).tick();
        expect(await exists()).toBe(false);
      } finally {
        await on.close();
      }
    });
  });

  describe('NOTIFY on new due work', () => {
    let listener: pg.Client;
    const received: number[] = [];

    beforeAll(async () => {
      listener = new pg.Client({ connectionString: database.url });
      await listener.connect();
      listener.on('notification', (message) => {
        if (message.channel === DUE_TASKS_CHANNEL) received.push(Date.now());
      });
      await listener.query(`LISTEN ${DUE_TASKS_CHANNEL}`);
    });
    afterAll(async () => {
      await listener?.end();
    });

    const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

    it('notifies once per inserting statement, on a change to pending, and not on claims or completions', async () => {
      received.length = 0;
      await dataSource.query(
        `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id)
         SELECT 'ct_01JDQ7Z4Y8K3M5N6' || lpad(i::text, 10, '0'), 'ws', 'delete_element', 'el_' || i FROM generate_series(1, 500) AS i`,
      );
      await settle();
      expect(received).toHaveLength(1);

      const claimed = await claimAll();
      await sut.completeTasks(WORKER, claimed.slice(0, 10).map((t) => t.id));
      await settle();
      expect(received).toHaveLength(1);

      await sut.scheduleRetry(WORKER, claimed[10].id, 'boom', 60_000);
      await settle();
      expect(received).toHaveLength(2);

      await insertTasks(dataSource, [{ status: 'completed' }]);
      await settle();
      expect(received).toHaveLength(2);
    });
  });
});
