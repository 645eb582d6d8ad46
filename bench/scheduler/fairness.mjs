// npm run bench:fairness — one workspace's backlog against 20 other workspaces' single tasks.
//
// 2 worker processes (the probe worker, test/support/probe-worker: the worker
// deployable with instrumented handlers, built by `npm run build:test`), each
// at concurrency 10, handlers that sleep 50 ms and journal every run (start,
// finish, process) in scheduler_probe_runs. 10,000 due tasks of one workspace
// are enqueued; once they drain, 20 single tasks of 20 other workspaces are
// enqueued one by one, 50 ms apart. Reported: how long each of the 20 waited
// from its enqueue to its handler's start (p50 / p95 / max), and the most
// runs of one workspace that overlapped (the cap: SCHEDULER_WORKSPACE_CONCURRENCY,
// 5 by default, across both processes). Run with fair claims (the default)
// and with SCHEDULER_FAIR_CLAIMS=false, in that order.
//
// Settings: BENCH_BACKLOG (10000), BENCH_OTHERS (20), BENCH_SLEEP_MS (50),
// BENCH_CONCURRENCY (10), DATABASE_URL (else an embedded PostgreSQL in
// .data/bench-fairness-postgres on BENCH_PG_PORT, 54398).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 10_000);
const OTHERS = Number(process.env.BENCH_OTHERS ?? 20);
const SLEEP_MS = Number(process.env.BENCH_SLEEP_MS ?? 50);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54398);
const PROCESSES = 2;
/** Fair claims should start every other workspace's task within this (the contract: 1 s). */
const TARGET_MS = 1000;

const dist = new URL('../../dist/test/probe-worker/', import.meta.url);
const WORKER_ENTRY = fileURLToPath(new URL('test/support/probe-worker/main.js', dist));
const load = (path) => import(new URL(path, dist).href);
const { startEmbeddedPostgres, quoteIdentifier } = await load('libs/database/src/embedded-postgres.js');
const { newId } = await load('libs/common/src/index.js');
const { PROBE_RUNS_DDL } = await load('test/support/probe-worker/probe.handlers.js');

const log = (line = '') => process.stdout.write(`${line}\n`);

async function main() {
  let embedded;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: '.data/bench-fairness-postgres', port: PG_PORT, database: 'postgres' });
    serverUrl = embedded.url;
  }
  const url = await freshDatabase(serverUrl, 'cleanup_tasks_bench_fairness');
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    log(
      `bench:fairness — ${PROCESSES} worker processes at concurrency ${CONCURRENCY}, handlers of ${SLEEP_MS} ms; ` +
        `${BACKLOG.toLocaleString('en')} due tasks of one workspace, then ${OTHERS} single tasks of ${OTHERS} other workspaces, ${SLEEP_MS} ms apart`,
    );
    const results = [];
    for (const [label, env] of [
      ['fair claims (default)', {}],
      ['fair claims off', { SCHEDULER_FAIR_CLAIMS: 'false' }],
    ]) {
      results.push({ label, ...(await scenario(url, db, env)) });
      const last = results.at(-1);
      log(`  ${label.padEnd(22)} start delay of the ${OTHERS}: p50 ${fmt(last.p50)}  p95 ${fmt(last.p95)}  max ${fmt(last.max)}   ` +
        `most runs of one workspace at once: ${last.maxRunning} (${last.processes} processes)   backlog left: ${last.backlogLeft.toLocaleString('en')}`);
    }
    const [fair, fifo] = results;
    log('');
    log(`fair claims: every task of another workspace started within ${fmt(fair.max)} (target ${TARGET_MS} ms: ${fair.max < TARGET_MS ? 'met' : 'MISSED'}); ` +
      `without them the same tasks waited p50 ${fmt(fifo.p50)}, max ${fmt(fifo.max)}, behind the backlog`);
    log(`cap per workspace (SCHEDULER_WORKSPACE_CONCURRENCY, default 5): at most ${fair.maxRunning} running at once across ${PROCESSES} processes with fair claims; ${fifo.maxRunning} without`);
    log(`bench:fairness start delay p95 (ms): fair ${Math.round(fair.p95)}, fair claims off ${Math.round(fifo.p95)}`);
  } finally {
    await db.end();
    await embedded?.stop();
  }
}

async function scenario(url, db, env) {
  // The workers apply the migrations on a fresh database.
  const workers = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(url, { SCHEDULER_CONCURRENCY: String(CONCURRENCY), ...env })));
  try {
    await db.query(PROBE_RUNS_DDL);
    await db.query('TRUNCATE cleanup_tasks, scheduler_probe_runs');
    const probe = JSON.stringify({ probe: { record: true, sleepMs: SLEEP_MS } });
    await db.query(
      `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata)
       SELECT id, 'ws_backlog', 'delete_element', 'el_' || id, $2::jsonb FROM unnest($1::text[]) AS id`,
      [Array.from({ length: BACKLOG }, () => newId('ct')), probe],
    );
    await waitFor('the backlog to be draining', async () => (await db.query('SELECT count(*)::int AS n FROM scheduler_probe_runs')).rows[0].n >= 4 * CONCURRENCY, 30_000);

    const ids = [];
    for (let i = 0; i < OTHERS; i++) {
      const id = newId('ct');
      ids.push(id);
      await db.query(`INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, metadata) VALUES ($1, $2, 'delete_element', 'el_' || $1, $3::jsonb)`, [
        id,
        `ws_other_${String(i).padStart(2, '0')}`,
        probe,
      ]);
      await sleep(SLEEP_MS);
    }
    const drainMs = (BACKLOG * SLEEP_MS) / (PROCESSES * CONCURRENCY);
    await waitFor(
      `the ${OTHERS} single tasks to start`,
      async () => (await db.query('SELECT count(DISTINCT task_id)::int AS n FROM scheduler_probe_runs WHERE task_id = ANY($1)', [ids])).rows[0].n === ids.length,
      10_000 + 3 * drainMs,
    );

    const { rows: delays } = await db.query(
      `SELECT (EXTRACT(EPOCH FROM (min(r.started_at) - t.created_at)) * 1000)::float8 AS ms
         FROM cleanup_tasks AS t JOIN scheduler_probe_runs AS r ON r.task_id = t.id
        WHERE t.id = ANY($1) GROUP BY t.id, t.created_at`,
      [ids],
    );
    // Per workspace, the most of its runs that overlapped (counted at each run's start); a run lies within its lease.
    const { rows: overlap } = await db.query(`
      WITH runs AS (
        SELECT r.pid, r.started_at, coalesce(r.finished_at, 'infinity') AS finished_at, t.workspace_id
          FROM scheduler_probe_runs AS r JOIN cleanup_tasks AS t ON t.id = r.task_id
      )
      SELECT c.running, c.processes
        FROM runs AS a
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS running, count(DISTINCT b.pid)::int AS processes FROM runs AS b
           WHERE b.workspace_id = a.workspace_id AND b.started_at <= a.started_at AND b.finished_at > a.started_at
        ) AS c
       ORDER BY c.running DESC, c.processes DESC
       LIMIT 1`);
    const { rows: left } = await db.query(`SELECT count(*)::int AS n FROM cleanup_tasks WHERE workspace_id = 'ws_backlog' AND status <> 'completed'`);
    const sorted = delays.map((row) => row.ms).sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      max: sorted.at(-1),
      maxRunning: overlap[0].running,
      processes: overlap[0].processes,
      backlogLeft: left[0].n,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

/** A probe worker process on `url`, started and claiming; stop() sends SIGTERM (SIGKILL after 15 s) and waits for its exit. */
async function startWorker(url, env) {
  const child = spawn(process.execPath, [WORKER_ENTRY], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: url, LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: '10', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('close', resolve));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(`worker ${child.pid} to start`, async () => {
    if (gone) throw new Error(`worker ${child.pid} exited during start-up:\n${output}`);
    return output.includes('Cleanup Tasks worker running');
  }, 30_000);
  return {
    stop: async () => {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitFor(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function freshDatabase(serverUrl, name) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const fmt = (ms) => `${Math.round(ms).toLocaleString('en')} ms`;

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench:fairness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
