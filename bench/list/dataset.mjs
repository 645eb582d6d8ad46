// The benchmarks' data set and servers, shared by bench:list, bench:export and
// the load test (test:load):
// the embedded PostgreSQL they run on (or BENCH_DATABASE_URL), the database
// `cleanup_tasks_bench` holding BENCH_ROWS generated tasks (seed-tasks.sql,
// loaded once and reused while its marker matches), and Node server
// processes on loopback. Needs `npm run build` (it loads dist/).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';

export const root = resolve(import.meta.dirname, '../..');
export const dist = resolve(root, 'dist/apps/api');
export const DATABASE = 'cleanup_tasks_bench';

const { startEmbeddedPostgres, quoteIdentifier } = await import(`${dist}/libs/database/src/index.js`);

export function withDatabase(serverUrl, database) {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * The server: BENCH_DATABASE_URL, or an embedded PostgreSQL (BENCH_PG_DIR,
 * default .bench/postgres; BENCH_PG_PORT, default 54389) tuned for a cached
 * 1M-row table.
 */
export async function startServer(env, log) {
  if (env.BENCH_DATABASE_URL) return { serverUrl: env.BENCH_DATABASE_URL, stop: async () => undefined, tuned: false };
  const options = { dataDir: env.BENCH_PG_DIR ?? resolve(root, '.bench/postgres'), port: Number(env.BENCH_PG_PORT ?? 54389), database: 'postgres' };
  let handle = await startEmbeddedPostgres(options);
  // The data set (~700 MB with indexes) fits in memory; the planner should know
  // that random reads are cheap (SSD / cache): the usual production settings.
  const settings = { shared_buffers: '1GB', effective_cache_size: '8GB', random_page_cost: '1.1' };
  const client = new pg.Client({ connectionString: handle.url });
  await client.connect();
  let restart = false;
  try {
    for (const [name, value] of Object.entries(settings)) {
      const { rows } = await client.query('SELECT current_setting($1) AS value', [name]);
      if (rows[0].value === value) continue;
      await client.query(`ALTER SYSTEM SET ${name} = '${value}'`);
      restart ||= name === 'shared_buffers';
    }
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
  if (restart) {
    log('restarting the bench PostgreSQL for shared_buffers');
    await handle.stop();
    handle = await startEmbeddedPostgres(options);
  }
  return { serverUrl: handle.url, stop: () => handle.stop(), tuned: true };
}

export async function ensureDatabase(serverUrl, database = DATABASE) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/**
 * Starts `node <args>` (the built app, or another server printing
 * "listening on http://127.0.0.1:<port>") with exactly `childEnv`;
 * `ready` resolves with its base URL. `stop` sends SIGTERM, then SIGKILL
 * after `stopTimeoutMs`. Shared by every bench script that runs a server.
 */
export function startServerProcess(name, args, childEnv, { cwd = root, startTimeoutMs = 60_000, stopTimeoutMs = 15_000 } = {}) {
  const child = spawn(process.execPath, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${startTimeoutMs / 1000} s:\n${output}`)), startTimeoutMs);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveReady(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening:\n${output}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  };
  return { ready, stop, kill: () => child.kill('SIGKILL'), pid: child.pid, output: () => output };
}

/** Loads `rows` generated tasks into the (migrated) database, unless the same data set is there already. */
export async function loadData(databaseUrl, rows, log) {
  const dataset = `rows=${rows};generator=v1`;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text NOT NULL)');
    const { rows: marker } = await client.query(`SELECT value FROM bench_meta WHERE key = 'dataset'`);
    if (marker[0]?.value === dataset) {
      log(`reusing the loaded data set (${dataset})`);
      return;
    }
    log(`loading ${rows} tasks (once; reused by later runs)…`);
    const started = Date.now();
    await client.query('TRUNCATE cleanup_tasks CASCADE');
    await client.query(`DELETE FROM bench_meta WHERE key = 'dataset'`);
    const seed = readFileSync(resolve(import.meta.dirname, 'seed-tasks.sql'), 'utf8').replaceAll(':scale', String(Math.floor(rows)));
    await client.query(seed);
    await client.query('VACUUM (ANALYZE) cleanup_tasks');
    await client.query(`INSERT INTO bench_meta (key, value) VALUES ('dataset', $1)`, [dataset]);
    log(`loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await client.end();
  }
}

/** Waits (bounded) until the app's compactor folded the load's counter deltas, then vacuums the counters. */
export async function settleCounters(client) {
  for (let i = 0; i < 100; i++) {
    const { rows } = await client.query('SELECT count(*)::int AS n FROM cleanup_task_count_deltas');
    if (rows[0].n === 0) break;
    await new Promise((done) => setTimeout(done, 200));
  }
  await client.query('VACUUM (ANALYZE) cleanup_task_counts, cleanup_task_count_deltas');
}
