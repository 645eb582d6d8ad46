// npm run bench:export — GET /api/cleanup-tasks/export of every task of the
// bench:list data set (1,000,000 generated tasks), through the HTTP API of
// the built app (dist/, its own process, on loopback), as NDJSON and as CSV:
// rows per second, and how much the app's resident memory grows while it
// streams (VmRSS of /proc/<pid>/status, sampled every 20 ms, against the
// value just before the export, after a warm-up export).
// Results and method: docs/benchmarks.md, "Export".
//
// Database: bench/list/dataset.mjs (the same as bench:list: BENCH_PG_DIR,
// BENCH_PG_PORT, BENCH_DATABASE_URL, BENCH_ROWS, loaded once and reused).
// Knobs: BENCH_ROWS (1000000), BENCH_DEADLINE_SECONDS (900: the whole run).
// Every loop is bounded; everything started here is stopped here.
// Last line: `bench:export: N rows, R rows/s, RSS growth M MB` (NDJSON, the
// default format).
/* global setInterval, clearInterval */
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DATABASE, dist, ensureDatabase, loadData, root, settleCounters, startServer, startServerProcess, withDatabase } from '../list/dataset.mjs';

const env = process.env;
const ROWS = Number(env.BENCH_ROWS ?? 1_000_000);
const DEADLINE = Date.now() + 1000 * Number(env.BENCH_DEADLINE_SECONDS ?? 900);
const ADMIN_TOKEN = 'ctk_bench_admin_token_0123456789_abcdefghijklmnop';
const RSS_SAMPLE_MS = 20;
const MB = 1024 * 1024;

const log = (line) => process.stderr.write(`[bench:export] ${line}\n`);

/** The built app (dist/), scheduler off, on the bench database. */
function startApp(databaseUrl) {
  return startServerProcess('the app', [resolve(dist, 'apps/api/src/main.js')], {
    PATH: env.PATH,
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    SCHEDULER_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
    ...(env.BENCH_APP_NODE_OPTIONS ? { NODE_OPTIONS: env.BENCH_APP_NODE_OPTIONS } : {}),
    ...(env.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX } : {}),
  });
}

/** The process's resident set size in bytes (Linux). */
function rssOf(pid) {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * Downloads `path` as fast as the client can take it, counting bytes and
 * line ends (tasks: NDJSON lines, or CSV records with the header; a CSV
 * value with a line break inside would count twice, the generated data has
 * none), while sampling the app's RSS.
 */
function download(base, path, pid) {
  return new Promise((resolveDownload, reject) => {
    const before = rssOf(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(pid));
    }, RSS_SAMPLE_MS);
    const started = performance.now();
    const request = http.get(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (response) => {
      if (response.statusCode !== 200) {
        clearInterval(sampler);
        reject(new Error(`${path} answered ${response.statusCode}`));
        response.resume();
        return;
      }
      let bytes = 0;
      let lines = 0;
      response.on('data', (chunk) => {
        bytes += chunk.length;
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
      });
      response.on('end', () => {
        clearInterval(sampler);
        peak = Math.max(peak, rssOf(pid));
        if (!response.complete) reject(new Error(`${path}: the response was cut off`));
        else resolveDownload({ seconds: (performance.now() - started) / 1000, bytes, lines, rssBefore: before, rssPeak: peak });
      });
      response.on('error', (error) => {
        clearInterval(sampler);
        reject(error);
      });
    });
    request.on('error', (error) => {
      clearInterval(sampler);
      reject(error);
    });
    request.setTimeout(Math.max(1000, DEADLINE - Date.now()), () => request.destroy(new Error(`${path}: past the deadline`)));
  });
}

let app;

async function main() {
  mkdirSync(resolve(root, '.bench'), { recursive: true });
  const server = await startServer(env, log);
  const sql = new pg.Client({ connectionString: withDatabase(server.serverUrl, DATABASE) });
  try {
    await ensureDatabase(server.serverUrl);
    const databaseUrl = withDatabase(server.serverUrl, DATABASE);
    await loadData(databaseUrl, ROWS, log);
    await sql.connect();
    await settleCounters(sql);
    const { rows: facts } = await sql.query(`SELECT count(*)::int AS tasks, (SELECT current_setting('server_version')) AS version FROM cleanup_tasks`);
    const tasks = facts[0].tasks;
    log(`${tasks} tasks; PostgreSQL ${facts[0].version}`);
    const { rows: small } = await sql.query(`SELECT workspace_id FROM cleanup_task_counts GROUP BY 1 ORDER BY sum(n) LIMIT 1`);

    // Each format in an app process of its own: one export's heap does not
    // carry over into the other's measurement.
    const results = {};
    for (const format of ['csv', 'ndjson']) {
      if (Date.now() > DEADLINE) throw new Error('deadline passed; raise BENCH_DEADLINE_SECONDS');
      app = startApp(databaseUrl);
      const base = await app.ready;
      // Warm-up: the code paths, the export pool's connection, the JIT.
      for (let i = 0; i < 3; i++) await download(base, `/api/cleanup-tasks/export?format=${format}&workspace_id=${encodeURIComponent(small[0].workspace_id)}`, app.pid);
      const result = await download(base, `/api/cleanup-tasks/export?format=${format}`, app.pid);
      await app.stop();
      app = undefined;
      const rows = format === 'csv' ? result.lines - 1 : result.lines;
      if (rows !== tasks) throw new Error(`${format}: ${rows} rows exported, ${tasks} in the table`);
      results[format] = { ...result, rows, rate: rows / result.seconds, growth: (result.rssPeak - result.rssBefore) / MB };
      log(
        `${format}: ${rows} rows, ${(result.bytes / MB).toFixed(0)} MB in ${result.seconds.toFixed(1)} s; ` +
          `RSS ${(result.rssBefore / MB).toFixed(0)} MB before, ${(result.rssPeak / MB).toFixed(0)} MB at most`,
      );
    }
    const line = (format, { rows, rate, growth }) => `${format}: ${rows} rows, ${rate.toFixed(0)} rows/s, RSS growth ${growth.toFixed(1)} MB`;
    process.stdout.write(`bench:export (${line('csv', results.csv)})\n`);
    process.stdout.write(`bench:export: ${line('ndjson', results.ndjson).slice('ndjson: '.length)}\n`);
  } finally {
    await sql.end().catch(() => undefined);
    await app?.stop();
    await server.stop();
  }
}

const watchdog = setTimeout(() => {
  log('deadline passed; exiting');
  app?.kill();
  process.exit(2);
}, Math.max(0, DEADLINE - Date.now()) + 60_000);
watchdog.unref();

main().then(
  () => process.exit(0),
  (error) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
