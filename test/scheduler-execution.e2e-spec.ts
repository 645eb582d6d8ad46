import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ResourcesService, type ProvisionedWorkspace } from '@app/resources';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';
import { waitFor } from './support/scheduler';

interface TaskJson {
  id: string;
  parentId: string | null;
  resourceType: string;
  resourceId: string;
  status: string;
  attempts: number;
  lastError: string | null;
  completedAt: string | null;
}

/**
 * The real scheduler in the app process, running the reference handlers on
 * real rows and schemas. Short backoff and lease; a long poll interval, so
 * prompt pickups can only come from LISTEN/NOTIFY.
 */
describe('Scheduler executes cleanup trees (in-process, reference handlers)', () => {
  let sut: TestApp;
  let resources: ResourcesService;

  const BACKOFF_BASE_MS = 200;

  beforeAll(async () => {
    sut = await createTestApp({
      env: {
        SCHEDULER_ENABLED: 'true',
        SCHEDULER_LEASE_SECONDS: '2',
        SCHEDULER_MAX_ATTEMPTS: '3',
        SCHEDULER_BACKOFF_BASE_MS: String(BACKOFF_BASE_MS),
        SCHEDULER_BACKOFF_MAX_MS: '2000',
        SCHEDULER_POLL_INTERVAL_MS: '5000',
        SCHEDULER_SHUTDOWN_TIMEOUT_MS: '2000',
      },
    });
    resources = sut.app.get(ResourcesService);
  });
  afterAll(async () => {
    await sut?.close();
  });

  const asAdmin = (test: request.Test) => test.auth(sut.tokens.admin, { type: 'bearer' });
  const enqueueWorkspace = async (workspace: ProvisionedWorkspace): Promise<string> => {
    const response = await asAdmin(request(sut.server).post('/api/cleanup-tasks')).send({
      resourceType: 'delete_workspace',
      resourceId: workspace.id,
      workspaceId: workspace.id,
      sourceEventId: `evt_${workspace.id}`,
    });
    expect(response.status).toBe(201);
    return response.body.id as string;
  };
  const tree = async (rootId: string): Promise<TaskJson[]> => {
    const response = await asAdmin(request(sut.server).get(`/api/cleanup-tasks/${rootId}/tree`));
    expect(response.status).toBe(200);
    return response.body as TaskJson[];
  };
  const statusOf = async (id: string): Promise<string> => (await sut.dataSource.query(`SELECT status FROM cleanup_tasks WHERE id = $1`, [id]))[0].status;
  const waitForStatus = (id: string, status: string, timeoutMs = 15_000) =>
    waitFor(`task ${id} to be ${status}`, async () => (await statusOf(id)) === status, { timeoutMs });
  const remaining = async (workspaceId: string) => {
    const [row] = await sut.dataSource.query(
      `SELECT (SELECT count(*) FROM workspaces WHERE id = $1)::int AS workspaces,
              (SELECT count(*) FROM apps WHERE workspace_id = $1)::int AS apps,
              (SELECT count(*) FROM elements WHERE workspace_id = $1)::int AS elements,
              (SELECT count(*) FROM databases WHERE workspace_id = $1)::int AS databases`,
      [workspaceId],
    );
    return row as { workspaces: number; apps: number; elements: number; databases: number };
  };
  const existingSchemas = async (names: string[]): Promise<string[]> =>
    (await sut.dataSource.query(`SELECT nspname FROM pg_namespace WHERE nspname = ANY($1) ORDER BY nspname`, [names])).map((r: { nspname: string }) => r.nspname);

  it('cleans up a workspace with apps, elements and databases completely; the tree ends completed', async () => {
    const doomed = await resources.provisionWorkspace({
      name: 'Acme',
      apps: [
        { name: 'CRM', elements: 4 },
        { name: 'Billing', elements: 3 },
        { name: 'Empty', elements: 0 },
      ],
      databases: [
        { name: 'crm-db', rows: 500 },
        { name: 'billing-db', rows: 20 },
      ],
    });
    const bystander = await resources.provisionWorkspace({ name: 'Globex', apps: [{ name: 'Portal', elements: 2 }], databases: [{ name: 'portal-db' }] });
    expect(await existingSchemas(doomed.schemaNames)).toHaveLength(2);

    const rootId = await enqueueWorkspace(doomed);
    await waitForStatus(rootId, 'completed');

    const tasks = await tree(rootId);
    expect(tasks).toHaveLength(1 + 3 + 7 + 2);
    expect(tasks[0]).toMatchObject({ id: rootId, resourceType: 'delete_workspace', status: 'completed', attempts: 1 });
    expect(tasks.every((t) => t.status === 'completed' && t.completedAt !== null && t.lastError === null)).toBe(true);
    expect(tasks.filter((t) => t.resourceType === 'delete_element').map((t) => t.resourceId).sort()).toEqual([...doomed.elementIds].sort());
    expect(tasks.filter((t) => t.resourceType === 'delete_database').map((t) => t.resourceId).sort()).toEqual([...doomed.databaseIds].sort());

    expect(await remaining(doomed.id)).toEqual({ workspaces: 0, apps: 0, elements: 0, databases: 0 });
    expect(await existingSchemas(doomed.schemaNames)).toEqual([]);
    // Another workspace's resources are untouched.
    expect(await remaining(bystander.id)).toEqual({ workspaces: 1, apps: 1, elements: 2, databases: 1 });
    expect(await existingSchemas(bystander.schemaNames)).toEqual(bystander.schemaNames);
  });

  it('picks up an enqueued task well within the poll interval (LISTEN/NOTIFY)', async () => {
    const workspace = await resources.provisionWorkspace({ name: 'Quick' });
    const started = Date.now();
    const rootId = await enqueueWorkspace(workspace);
    await waitForStatus(rootId, 'completed', 4000);
    // The poll interval is 5 s: only the notification explains a pickup this fast.
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('retries a handler that fails twice with backoff, and it succeeds on the third attempt', async () => {
    const workspace = await resources.provisionWorkspace({ name: 'Flaky', apps: [{ name: 'App', elements: [{ name: 'flaky', failDeletes: 2 }, { name: 'fine' }] }] });
    const [flakyElement] = workspace.elementIds;
    const rootId = await enqueueWorkspace(workspace);

    // Watch the element's task: each failed attempt puts it back to pending with run_at in the future.
    const delays = new Map<number, number>();
    await waitFor(
      'the flaky element to complete',
      async () => {
        const rows = await sut.dataSource.query(
          `SELECT status, attempts, EXTRACT(EPOCH FROM (run_at - updated_at)) * 1000 AS delay_ms FROM cleanup_tasks WHERE resource_id = $1`,
          [flakyElement],
        );
        const row = rows[0] as { status: string; attempts: number; delay_ms: number } | undefined;
        if (row?.status === 'pending' && row.attempts > 0 && !delays.has(row.attempts)) delays.set(row.attempts, Number(row.delay_ms));
        return row?.status === 'completed';
      },
      { intervalMs: 10 },
    );
    await waitForStatus(rootId, 'completed');

    // Equal jitter: after failed attempt n the delay lies in [base·2^(n-1)/2, base·2^(n-1)].
    expect([...delays.keys()].sort()).toEqual([1, 2]);
    expect(delays.get(1)).toBeGreaterThanOrEqual(BACKOFF_BASE_MS / 2 - 5);
    expect(delays.get(1)).toBeLessThanOrEqual(BACKOFF_BASE_MS + 5);
    expect(delays.get(2)).toBeGreaterThanOrEqual(BACKOFF_BASE_MS - 5);
    expect(delays.get(2)).toBeLessThanOrEqual(2 * BACKOFF_BASE_MS + 5);

    const tasks = await tree(rootId);
    const element = tasks.find((t) => t.resourceId === flakyElement)!;
    expect(element).toMatchObject({ status: 'completed', attempts: 3, lastError: expect.stringContaining(`injected failure: element ${flakyElement}`) });
    expect(Date.parse(tasks[0].completedAt!)).toBeGreaterThanOrEqual(Date.parse(element.completedAt!)); // the root waited for it
    expect(await remaining(workspace.id)).toEqual({ workspaces: 0, apps: 0, elements: 0, databases: 0 });
  });

  describe('a handler that always fails', () => {
    let workspace: ProvisionedWorkspace;
    let rootId: string;
    let brokenElement: string;

    beforeAll(async () => {
      workspace = await resources.provisionWorkspace({
        name: 'Doomed',
        apps: [
          { name: 'Broken', elements: [{ name: 'stuck', failDeletes: -1 }, { name: 'ok' }] },
          { name: 'Healthy', elements: 2 },
        ],
        databases: [{ name: 'warehouse' }],
      });
      brokenElement = workspace.elementIds[0];
      rootId = await enqueueWorkspace(workspace);
      await waitForStatus(rootId, 'failed');
    });

    it('ends failed after the maximum attempts with lastError, and so do its ancestors, naming the failed child', async () => {
      const tasks = await tree(rootId);
      const byResource = new Map(tasks.map((t) => [t.resourceId, t]));
      const element = byResource.get(brokenElement)!;
      const brokenApp = byResource.get(workspace.appIds[0])!;
      const root = tasks[0];

      expect(element).toMatchObject({ status: 'failed', attempts: 3, lastError: `InjectedFailureError: injected failure: element ${brokenElement} is flagged to fail deletion (fail_deletes)` });
      expect(brokenApp.status).toBe('failed');
      expect(brokenApp.lastError).toBe(`child task ${element.id} (delete_element ${brokenElement}) failed: ${element.lastError}`);
      expect(root.status).toBe('failed');
      expect(root.lastError).toMatch(new RegExp(`^child task ${brokenApp.id} \\(delete_app ${workspace.appIds[0]}\\) failed: child task ${element.id}`));
      // Everything else was cleaned up.
      expect(tasks.filter((t) => t.status === 'completed')).toHaveLength(tasks.length - 3);
      expect(await remaining(workspace.id)).toEqual({ workspaces: 0, apps: 0, elements: 1, databases: 0 });
      expect(await existingSchemas(workspace.schemaNames)).toEqual([]);
    });

    it('a retried task that keeps failing gets a fresh budget: SCHEDULER_MAX_ATTEMPTS more automatic attempts, then failed again', async () => {
      const element = (await tree(rootId)).find((t) => t.resourceId === brokenElement)!;
      expect(element).toMatchObject({ status: 'failed', attempts: 3 });
      const response = await asAdmin(request(sut.server).post(`/api/cleanup-tasks/${element.id}/retry`));
      expect(response.status).toBe(200);
      await waitForStatus(element.id, 'failed');
      const [after] = await sut.dataSource.query(`SELECT attempts, last_error FROM cleanup_tasks WHERE id = $1`, [element.id]);
      expect(after.attempts).toBe(6); // 3 before the retry, 3 after it
      expect(after.last_error).toMatch(/^InjectedFailureError/);
    });

    it('retrying the root re-runs the failed subtree to completion', async () => {
      await sut.dataSource.query(`UPDATE elements SET fail_deletes = 0 WHERE id = $1`, [brokenElement]);

      const response = await asAdmin(request(sut.server).post(`/api/cleanup-tasks/${rootId}/retry`));
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ ok: true });
      await waitForStatus(rootId, 'completed');

      const tasks = await tree(rootId);
      expect(tasks.every((t) => t.status === 'completed')).toBe(true);
      const element = tasks.find((t) => t.resourceId === brokenElement)!;
      expect(element.attempts).toBe(7); // 3 automatic, 3 after retrying it alone, then 1 after the root's retry: attempts keep counting
      expect(tasks[0].attempts).toBe(2);
      expect(await remaining(workspace.id)).toEqual({ workspaces: 0, apps: 0, elements: 0, databases: 0 });
    });
  });

  it('fails at once, without retries, a task a handler declares hopeless', async () => {
    // The API refuses such a task (400); one written to the table by other means reaches the handler.
    const [id] = await insertTasks(sut.dataSource, [{ resourceType: 'delete_workspace', resourceId: 'ws_other', workspaceId: 'ws_mine' }]);
    await waitForStatus(id, 'failed');
    const [task] = await tree(id);
    expect(task).toMatchObject({ attempts: 1, lastError: expect.stringContaining('PermanentTaskError: delete_workspace must name its own workspace') });
  });
});
