import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { validateEnvironment } from '@app/common';
import { buildDataSourceOptions, databaseSettingsFor } from '@app/database';
import { MetricsRegistry } from '@app/observability';
import type { ProbeBehaviour } from './support/probe-worker/probe.handlers';
import { ProbeHandlersModule } from './support/probe-worker/probe-handlers.module';
import { createWorker } from '../apps/worker/src/create-worker';
import { CONTRACT_METRICS, parseExposition, promtoolProblems, samplesOf } from './support/metrics';
import { assertWorkerBuildIsFresh, startWorker, stopWorkers, waitFor } from './support/scheduler';
import { createTestApp, createTestDatabase, insertTasks, type TestApp } from './support/test-app';

type Values = Awaited<ReturnType<MetricsRegistry['values']>>;

/** The value of one series in `values` (0 when absent). */
function valueOf(values: Values, name: string, labels: Record<string, string> = {}, sampleName = name): number {
  const metric = values.find((candidate) => candidate.name === name);
  const matching = (metric?.values ?? []).filter(
    (value) => (value as { metricName?: string }).metricName === undefined || (value as { metricName?: string }).metricName === sampleName,
  );
  return matching.filter((value) => Object.entries(labels).every(([label, expected]) => value.labels[label] === expected)).reduce((sum, value) => sum + value.value, 0);
}

/**
 * What the scheduler tells monitoring, from a worker of its own (in this
 * process, probe handlers) that meets every outcome of an attempt: success,
 * error (retried, and spent), a lease lost under a running handler, and a
 * task released at shutdown.
 */
describe('Scheduler metrics (in-process worker, probe handlers)', () => {
  let database: { url: string; drop(): Promise<void> };
  let worker: INestApplicationContext;
  let dataSource: DataSource;
  let registry: MetricsRegistry;
  let closed = false;

  beforeAll(async () => {
    database = await createTestDatabase();
    const config = validateEnvironment({
      LOG_LEVEL: 'silent',
      SCHEDULER_LEASE_SECONDS: '1',
      SCHEDULER_MAX_ATTEMPTS: '2',
      SCHEDULER_BACKOFF_BASE_MS: '20',
      SCHEDULER_BACKOFF_MAX_MS: '100',
      SCHEDULER_POLL_INTERVAL_MS: '200',
      SCHEDULER_SHUTDOWN_TIMEOUT_MS: '300',
    });
    worker = await createWorker({ config, databaseUrl: database.url, handlers: ProbeHandlersModule });
    // The test's own connection: it reads on after the worker has shut down.
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFor(database.url))).initialize();
    registry = worker.get(MetricsRegistry);
  });
  afterAll(async () => {
    if (!closed) await worker?.close();
    await dataSource?.destroy();
    await database?.drop();
  });

  const status = async (id: string): Promise<{ status: string; locked_by: string | null }> =>
    (await dataSource.query(`SELECT status, locked_by FROM cleanup_tasks WHERE id = $1`, [id]))[0];
  const task = (resourceType: 'delete_workspace' | 'delete_app' | 'delete_element' | 'delete_database', probe: ProbeBehaviour) => ({ resourceType, metadata: { probe } });

  it('counts every outcome of an attempt, failed tasks, run times, queue waits and running handlers', async () => {
    const [succeeds, failsOnce, failsAlways, loses, released] = await insertTasks(dataSource, [
      task('delete_workspace', {}),
      task('delete_app', { failTimes: 1 }),
      task('delete_element', { failTimes: 99 }),
      task('delete_database', { sleepMs: 30_000 }),
      task('delete_workspace', { sleepMs: 30_000 }),
    ]);
    await waitFor('the quick tasks to settle and the slow ones to run', async () => {
      const states = await Promise.all([succeeds, failsOnce, failsAlways, loses, released].map(async (id) => (await status(id)).status));
      return states.join() === 'completed,completed,failed,in_progress,in_progress';
    });
    expect(valueOf(await registry.values(), 'cleanup_scheduler_running_tasks')).toBe(2);

    // Another worker takes the lease over: the next heartbeat finds it gone and aborts the handler.
    await dataSource.query(`UPDATE cleanup_tasks SET locked_by = 'thief', locked_until = now() + interval '1 hour' WHERE id = $1`, [loses]);
    await waitFor('the lost lease to be counted', async () => valueOf(await registry.values(), 'cleanup_task_attempts_total', { outcome: 'lease_lost' }) === 1);
    expect(valueOf(await registry.values(), 'cleanup_scheduler_running_tasks')).toBe(1);

    // Shutdown past its 300 ms grace releases the last one.
    await worker.close();
    closed = true;
    expect(await status(released)).toEqual({ status: 'pending', locked_by: null });

    const values = await registry.values();
    const attempts = (resourceType: string, outcome: string) => valueOf(values, 'cleanup_task_attempts_total', { resource_type: resourceType, outcome });
    expect({
      workspaceSuccess: attempts('delete_workspace', 'success'),
      workspaceReleased: attempts('delete_workspace', 'released'),
      appError: attempts('delete_app', 'error'),
      appSuccess: attempts('delete_app', 'success'),
      elementError: attempts('delete_element', 'error'),
      databaseLeaseLost: attempts('delete_database', 'lease_lost'),
      all: valueOf(values, 'cleanup_task_attempts_total'),
    }).toEqual({ workspaceSuccess: 1, workspaceReleased: 1, appError: 1, appSuccess: 1, elementError: 2, databaseLeaseLost: 1, all: 7 });
    expect(valueOf(values, 'cleanup_tasks_failed_total')).toBe(1);
    expect(valueOf(values, 'cleanup_tasks_failed_total', { resource_type: 'delete_element' })).toBe(1);
    expect(valueOf(values, 'cleanup_scheduler_running_tasks')).toBe(0);

    const runCount = (labels: Record<string, string>) => valueOf(values, 'cleanup_task_run_duration_seconds', labels, 'cleanup_task_run_duration_seconds_count');
    expect([runCount({}), runCount({ resource_type: 'delete_element', outcome: 'error' }), runCount({ resource_type: 'delete_workspace', outcome: 'released' })]).toEqual([7, 2, 1]);
    // The released handler ran for the grace period, the quick ones for milliseconds.
    expect(valueOf(values, 'cleanup_task_run_duration_seconds', { resource_type: 'delete_workspace', outcome: 'released' }, 'cleanup_task_run_duration_seconds_sum')).toBeGreaterThanOrEqual(0.25);
    const waitCount = (resourceType: string) => valueOf(values, 'cleanup_task_queue_wait_seconds', { resource_type: resourceType }, 'cleanup_task_queue_wait_seconds_count');
    expect(['delete_workspace', 'delete_app', 'delete_element', 'delete_database'].map(waitCount)).toEqual([2, 2, 2, 1]);
  });
});

/** The built worker (dist/apps/worker) serves `GET /metrics` on METRICS_PORT, with the API's token rule. */
describe('Worker metrics listener [METRICS_PORT]', () => {
  let sut: TestApp;
  let url: string;

  beforeAll(async () => {
    assertWorkerBuildIsFresh();
    // The API's test app provides the database and the tokens; the worker runs beside it.
    sut = await createTestApp();
    const worker = await startWorker(sut.databaseUrl, { METRICS_PORT: '0', SCHEDULER_POLL_INTERVAL_MS: '200' });
    url = /metrics on (http:\/\/\S+\/metrics)/.exec(worker.output())![1];
  });
  afterAll(async () => {
    await stopWorkers();
    await sut?.close();
  });

  const get = (token?: string, path = '/metrics', method = 'GET') =>
    fetch(new URL(path, url), { method, headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });

  it('serves the exposition to an admin and a metrics token: the contract, the worker’s attempts, promtool-clean', async () => {
    const [id] = await insertTasks(sut.dataSource, [{ resourceType: 'delete_app' }]);
    await waitFor('the worker to complete the task', async () => (await sut.dataSource.query(`SELECT status FROM cleanup_tasks WHERE id = $1`, [id]))[0].status === 'completed');
    expect((await get(sut.tokens.admin)).status).toBe(200);
    const response = await get(sut.tokens.metrics);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(promtoolProblems(text)).toEqual([]);
    const families = parseExposition(text);
    for (const [name, type] of CONTRACT_METRICS) expect({ name, type: families.get(name)?.type }).toEqual({ name, type });
    expect(samplesOf(families, 'cleanup_task_attempts_total', { resource_type: 'delete_app', outcome: 'success' })[0].value).toBe(1);
    expect(samplesOf(families, 'cleanup_database_up')[0].value).toBe(1);
    expect(samplesOf(families, 'http_request_duration_seconds', { method: 'GET', route: '/metrics', status_code: '200' }, 'http_request_duration_seconds_count')[0].value).toBeGreaterThanOrEqual(1);
  });

  it('refuses other tokens (403), no or unknown tokens (401), other paths (404) and methods (405), as problem+json', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [get(sut.tokens.member), 403, 'forbidden'],
      [get(sut.tokens.service), 403, 'forbidden'],
      [get(), 401, 'unauthenticated'],
      [get('ctk_unknown'), 401, 'unauthenticated'],
      [get(sut.tokens.revoked), 401, 'unauthenticated'],
      [get(sut.tokens.admin, '/api/cleanup-tasks'), 404, 'not-found'],
      [get(sut.tokens.admin, '/metrics', 'POST'), 405, 'method-not-allowed'],
    ];
    for (const [pending, status, code] of cases) {
      const response = await pending;
      expect({ status: response.status, type: response.headers.get('content-type'), code: ((await response.json()) as { code: string }).code }).toEqual({
        status,
        type: 'application/problem+json',
        code,
      });
    }
  });
});
