// npm run bench:scheduler — our scheduler against graphile-worker, same PostgreSQL, same concurrency.
//
// 1. Throughput: with the workers idle and listening, 20,000 no-op jobs are
//    enqueued in one statement; the clock runs from its commit until the
//    queue is empty (every job done and recorded as done). Ours runs with its
//    defaults (fair claims, at most 5 running per workspace, prefetch) on jobs
//    spread round-robin over 100 workspaces, and for reference on one
//    workspace (held to 5 running by the cap; 5,000 jobs) and with fair
//    claims off; it keeps finished tasks as history (100,000 before the first
//    round, every round's after). graphile-worker at its defaults and with its batching options
//    (localQueue + completeJobBatchDelay). Systems alternate within each
//    round; the median of the rounds is reported.
// 2. Pickup latency: single enqueues at 20/s from a separate connection; the
//    time from just before the INSERT until the handler starts.
//
// All run in this process: ours as the worker deployable with the probe
// handlers (no-op), graphile-worker with a no-op task; both log quietly.
// Settings: BENCH_JOBS (20000), BENCH_CONCURRENCY (10), BENCH_ROUNDS (5),
// BENCH_WORKSPACES (100), BENCH_LATENCY_SAMPLES (200), BENCH_ONLY (a subset of
// the systems, no summary), DATABASE_URL (else an embedded PostgreSQL in
// .data/bench-scheduler-postgres on BENCH_PG_PORT, 54399).
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Logger as GraphileLogger, run as runGraphileWorker, runMigrations as migrateGraphileWorker } from 'graphile-worker';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WORKSPACES = Number(process.env.BENCH_WORKSPACES ?? 100);
const PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54399);
/** Only these systems (comma-separated: ours, graphile, oursOne, graphileBatched, oursFifo), to look into one; then no ratios and no pickup latency. */
const ONLY = process.env.BENCH_ONLY;
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const ENQUEUES_PER_SECOND = 20;
const DRAIN_TIMEOUT_MS = 120_000;

// The worker deployable with the probe handlers (test/support/probe-worker), built by `npm run build:test`.
const dist = new URL('../../dist/test/probe-worker/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const { createWorker } = await load('apps/worker/src/create-worker.js');
const { startEmbeddedPostgres, quoteIdentifier } = await load('libs/database/src/embedded-postgres.js');
const { validateEnvironment, newId } = await load('libs/common/src/index.js');
const { probeEvents } = await load('test/support/probe-worker/probe.handlers.js');
const { ProbeHandlersModule } = await load('test/support/probe-worker/probe-handlers.module.js');

const log = (line = '') => process.stdout.write(`${line}\n`);

async function main() {
  let embedded;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: '.data/bench-scheduler-postgres', port: PG_PORT, database: 'postgres' });
    serverUrl = embedded.url;
  }
  const url = await freshDatabase(serverUrl, 'cleanup_tasks_bench_scheduler');
  const producer = new pg.Client({ connectionString: url });
  await producer.connect();
  const { rows: [{ server_version: pgVersion }] } = await producer.query('SHOW server_version');

  try {
    log(
      `bench:scheduler — ${JOBS.toLocaleString('en')} no-op jobs, concurrency ${CONCURRENCY}, ${ROUNDS} round(s) each; ours on ${WORKSPACES} workspaces unless said; ` +
        `PostgreSQL ${pgVersion}${embedded ? ' (embedded)' : ''}, Node ${process.version}, ${cpus().length} CPU(s)`,
    );
    const batching = { localQueue: { size: CONCURRENCY + 1 }, completeJobBatchDelay: 0 };
    const systems = [
      { name: 'ours', label: `ours (${WORKSPACES} workspaces)`, start: () => oursSystem(url, producer, { workspaces: WORKSPACES }) },
      { name: 'graphile', label: 'graphile-worker', start: () => graphileSystem(url, producer, {}) },
      // Held to 5 running by the cap, so a quarter of the jobs.
      { name: 'oursOne', label: 'ours (1 workspace)', jobs: Math.ceil(JOBS / 4), start: () => oursSystem(url, producer, { workspaces: 1 }) },
      { name: 'graphileBatched', label: 'graphile-worker, batched', start: () => graphileSystem(url, producer, batching) },
      { name: 'oursFifo', label: 'ours, fair claims off', start: () => oursSystem(url, producer, { workspaces: WORKSPACES, env: { SCHEDULER_FAIR_CLAIMS: 'false' } }) },
    ];
    await migrateGraphileWorker({ connectionString: url, logger: quietGraphileLogger });
    await seedHistory(url, producer);
    if (ONLY) {
      const keep = new Set(ONLY.split(','));
      systems.splice(0, systems.length, ...systems.filter((system) => keep.has(system.name)));
    }

    const throughput = Object.fromEntries(systems.map((system) => [system.name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const system of systems) {
        const running = await system.start();
        try {
          await drain(running, 1000); // warm-up: connections, JIT, prepared statements
          const rate = await drain(running, system.jobs ?? JOBS);
          throughput[system.name].push(rate);
          log(`  round ${round}: ${system.label.padEnd(28)} ${fmt(rate).padStart(6)} jobs/s`);
        } finally {
          await running.stop();
        }
      }
    }
    if (ONLY) {
      log('');
      for (const system of systems) log(`  ${system.label.padEnd(28)} median ${fmt(median(throughput[system.name])).padStart(6)} jobs/s`);
      return;
    }
    const latency = {};
    for (const system of systems.slice(0, 2)) {
      const running = await system.start();
      try {
        latency[system.name] = await pickupLatency(running);
      } finally {
        await running.stop();
      }
    }

    const rates = Object.fromEntries(systems.map((system) => [system.name, median(throughput[system.name])]));
    const range = (name) => `${fmt(Math.min(...throughput[name]))}–${fmt(Math.max(...throughput[name]))}`;
    const ratio = rates.ours / rates.graphile;
    const batchedRatio = rates.ours / rates.graphileBatched;
    // Per round, ours against the batched graphile-worker of the same round: how the ratio itself varies.
    const roundRatios = throughput.ours.map((rate, i) => rate / throughput.graphileBatched[i]);
    log('');
    log(`throughput (median of ${ROUNDS}; rounds' range):`);
    for (const system of systems) log(`  ${system.label.padEnd(28)} ${fmt(rates[system.name]).padStart(6)} jobs/s   (${range(system.name)})`);
    log(`  ours ÷ graphile-worker (defaults):  ${ratio.toFixed(2)}`);
    log(`  ours ÷ graphile-worker, batched (localQueue ${CONCURRENCY + 1} + completeJobBatchDelay 0):  ${batchedRatio.toFixed(2)}   (per round ${Math.min(...roundRatios).toFixed(2)}–${Math.max(...roundRatios).toFixed(2)})`);
    log(`  one workspace (capped at 5 running) ÷ ${WORKSPACES} workspaces: ${(rates.oursOne / rates.ours).toFixed(2)}; fair claims off ÷ on: ${(rates.oursFifo / rates.ours).toFixed(2)}`);
    log(`pickup latency (${LATENCY_SAMPLES} single enqueues at ${ENQUEUES_PER_SECOND}/s, enqueue → handler start):`);
    for (const [name, label] of [['ours', 'our scheduler  '], ['graphile', 'graphile-worker']]) {
      const samples = latency[name];
      log(`  ${label}  p50 ${percentile(samples, 50).toFixed(1)} ms  p95 ${percentile(samples, 95).toFixed(1)} ms  max ${Math.max(...samples).toFixed(1)} ms`);
    }
    log(`bench:scheduler ratio vs graphile-worker batched: ${batchedRatio.toFixed(2)}`);
    log(`bench:scheduler throughput ratio vs graphile-worker: ${ratio.toFixed(2)}`);
  } finally {
    await producer.end();
    await embedded?.stop();
  }
}

/**
 * Our scheduler: the worker deployable in-process, probe handlers (no-op
 * without metadata), its defaults unless `env` says otherwise. Jobs go to
 * `workspaces` workspaces round-robin (job i to workspace i mod n).
 */
async function oursSystem(url, producer, { workspaces, env = {} }) {
  const config = validateEnvironment({ DATABASE_URL: url, LOG_LEVEL: 'warn', WEBHOOK_SECRETS_KEY: 'bench-scheduler-webhook-secrets-key-0123456789', SCHEDULER_CONCURRENCY: String(CONCURRENCY), SCHEDULER_POLL_INTERVAL_MS: '2000', ...env });
  const worker = await createWorker({ config, databaseUrl: url, handlers: ProbeHandlersModule });
  return {
    onStart: (listener) => {
      probeEvents.on('start', listener);
      return () => probeEvents.off('start', listener);
    },
    enqueueMany: async (count) => {
      const ids = Array.from({ length: count }, () => newId('ct'));
      await producer.query(
        `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id)
         SELECT id, 'ws_bench_' || lpad(((n - 1) % $2)::text, 4, '0'), 'delete_element', id FROM unnest($1::text[]) WITH ORDINALITY AS job(id, n)`,
        [ids, workspaces],
      );
    },
    newJobId: () => newId('ct'),
    enqueueOne: async (id) => {
      await producer.query(`INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id) VALUES ($1, 'ws_bench_0000', 'delete_element', $1)`, [id]);
    },
    isDrained: async () => !(await producer.query(`SELECT EXISTS (SELECT 1 FROM cleanup_tasks WHERE status IN ('pending', 'in_progress')) AS open`)).rows[0].open,
    // Finished tasks stay: history, as in production (seedHistory).
    reset: async () => undefined,
    stop: () => worker.close(),
  };
}

/**
 * Ours keeps every finished task (graphile-worker deletes its jobs), so its
 * table is never empty in production: before the rounds it gets 100,000
 * completed tasks of 1,000 workspaces and fresh statistics, and every round's
 * tasks stay as history too. (Emptying it between rounds, as this bench once
 * did, measured plans that PostgreSQL made for a near-empty table until
 * autovacuum's ANALYZE caught up: some rounds ran 10× slower.)
 */
async function seedHistory(url, producer) {
  const migrate = await oursSystem(url, producer, { workspaces: 1 }); // applies our migrations
  await migrate.stop();
  await producer.query(
    `INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id, status, attempts, created_at, completed_at, run_at)
     SELECT 'ct_' || lpad(i::text, 26, '0'), 'ws_history_' || lpad((i % 1000)::text, 4, '0'),
            (ARRAY['delete_element', 'delete_element', 'delete_element', 'delete_app', 'delete_database'])[1 + i % 5], 'res_history_' || i,
            'completed', 1, now() - (100000 - i) * interval '20 seconds', now() - (100000 - i) * interval '20 seconds' + interval '1 second',
            now() - (100000 - i) * interval '20 seconds'
       FROM generate_series(1, 100000) AS i`,
  );
  await producer.query('VACUUM ANALYZE cleanup_tasks');
}

const quietGraphileLogger = new GraphileLogger(() => () => undefined);

/** graphile-worker 0.18 with its defaults (plus `workerOptions`), a no-op task and a quiet logger. */
async function graphileSystem(url, producer, workerOptions) {
  const listeners = new Set();
  const runner = await runGraphileWorker({
    connectionString: url,
    concurrency: CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 2000,
    logger: quietGraphileLogger,
    preset: { worker: workerOptions },
    taskList: {
      noop: async (payload) => {
        for (const listener of listeners) listener(payload.id);
      },
    },
  });
  let seq = 0;
  return {
    onStart: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    // add_jobs: one statement, one notification (add_job would notify per job).
    enqueueMany: async (count) => {
      await producer.query(
        `SELECT graphile_worker.add_jobs(ARRAY(
           SELECT ('noop', json_build_object('id', 'bulk'), NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec FROM generate_series(1, $1::int)))`,
        [count],
      );
    },
    newJobId: () => `job_${++seq}`,
    enqueueOne: async (id) => {
      await producer.query(`SELECT graphile_worker.add_job('noop', json_build_object('id', $1::text))`, [id]);
    },
    isDrained: async () => !(await producer.query(`SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS open`)).rows[0].open,
    reset: async () => undefined,
    stop: () => runner.stop(),
  };
}

/** Enqueues `count` jobs in one statement and returns jobs/s from its commit until the queue is empty. */
async function drain(system, count) {
  await system.reset();
  let started = 0;
  let allStarted;
  const everyStart = new Promise((resolve) => (allStarted = resolve));
  const unsubscribe = system.onStart(() => {
    if (++started === count) allStarted();
  });
  try {
    await system.enqueueMany(count);
    const t0 = performance.now();
    await withTimeout(everyStart, DRAIN_TIMEOUT_MS, () => `${started}/${count} jobs started`);
    while (!(await system.isDrained())) {
      if (performance.now() - t0 > DRAIN_TIMEOUT_MS) throw new Error(`queue not drained in ${DRAIN_TIMEOUT_MS} ms`);
      await sleep(2);
    }
    return count / ((performance.now() - t0) / 1000);
  } finally {
    unsubscribe();
  }
}

/** Single enqueues at a steady rate; latency from just before the INSERT to the handler's start. */
async function pickupLatency(system) {
  await system.reset();
  const pending = new Map();
  const samples = [];
  const unsubscribe = system.onStart((id) => {
    const t0 = pending.get(id);
    if (t0 === undefined) return;
    samples.push(performance.now() - t0);
    pending.delete(id);
  });
  try {
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const id = system.newJobId();
      const t0 = performance.now();
      pending.set(id, t0);
      await system.enqueueOne(id);
      await sleep(Math.max(0, 1000 / ENQUEUES_PER_SECOND - (performance.now() - t0)));
    }
    const deadline = performance.now() + 10_000;
    while (samples.length < LATENCY_SAMPLES && performance.now() < deadline) await sleep(10);
    if (samples.length < LATENCY_SAMPLES) throw new Error(`only ${samples.length}/${LATENCY_SAMPLES} single jobs were picked up`);
    return samples;
  } finally {
    unsubscribe();
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

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what()}`)), ms)))]).finally(() => clearTimeout(timer));
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const fmt = (rate) => Math.round(rate).toLocaleString('en');

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench:scheduler failed: ${error instanceof Error ? (error.stack ?? error.message) : JSON.stringify(error) ?? String(error)}\n`);
    process.exit(1);
  },
);
