// npm run test:load — the built API under a mixed load for LOAD_SECONDS (60)
// at LOAD_CONNECTIONS (50) connections, on a COPY of bench:list's database
// (CREATE DATABASE … TEMPLATE, so that the bench data stays as it is), with
// the scheduler of the same process draining at the same time: the
// bench:list scenarios, get by id and enqueues, each kind on connections of
// its own (autocannon), a rate limit that refuses nothing. Prints req/s,
// p50/p99 and errors per kind and the API process's peak RSS (VmHWM); the
// last line is `load: N requests, E errors, peak RSS M MB`. Exit 1 when a
// request failed (errors must be 0).
//
// The data: LOAD_ROWS (1000000) tasks of bench:list's generator. With the
// default it copies `cleanup_tasks_bench` (made by bench:list, or here the
// same way if missing); with another size, a database of its own
// (`cleanup_tasks_load_<rows>`), made once and reused. Server:
// BENCH_DATABASE_URL, or bench:list's embedded PostgreSQL (BENCH_PG_DIR,
// BENCH_PG_PORT). A quick check: LOAD_ROWS=20000 LOAD_SECONDS=10.
// Knobs: LOAD_WARMUP_SECONDS (5, same mix, not measured),
// LOAD_DEADLINE_SECONDS (1800: the whole run). Everything started here is
// stopped here; the copy is dropped.
/* global fetch, URLSearchParams */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { DATABASE, ensureDatabase, loadData, settleCounters, startServer, startServerProcess, withDatabase } from '../list/dataset.mjs';

const root = resolve(import.meta.dirname, '../..');
const dist = resolve(root, 'dist/apps/api');
const env = process.env;
const ROWS = Math.floor(Number(env.LOAD_ROWS ?? 1_000_000));
const SECONDS = Math.max(1, Number(env.LOAD_SECONDS ?? 60));
const CONNECTIONS = Math.max(10, Number(env.LOAD_CONNECTIONS ?? 50));
const WARMUP_SECONDS = Math.max(0, Number(env.LOAD_WARMUP_SECONDS ?? 5));
const DEADLINE = Date.now() + 1000 * Number(env.LOAD_DEADLINE_SECONDS ?? 1800);
const TEMPLATE = ROWS === 1_000_000 ? DATABASE : `cleanup_tasks_load_${ROWS}`;
const COPY = 'cleanup_tasks_load_run';
const ADMIN_TOKEN = 'ctk_load_admin_token_0123456789_abcdefghijklmnop';
const CURSOR_SECRET = 'load-cursor-secret-0123456789-abcdefghijklmnopq';
const RSS_TARGET_MB = 250;

const { CursorCodec } = await import(`${dist}/libs/query-dsl/src/index.js`);
const { parseListQuery } = await import(`${dist}/libs/cleanup-tasks/src/dto/list-cleanup-tasks.query.js`);
const { prepareTaskList } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-tasks.service.js`);
const { quoteIdentifier } = await import(`${dist}/libs/database/src/index.js`);

const log = (line) => process.stderr.write(`[test:load] ${line}\n`);
const checkDeadline = (what) => {
  if (Date.now() > DEADLINE) throw new Error(`deadline passed (${what}); raise LOAD_DEADLINE_SECONDS`);
};

/** The built API on loopback (dataset.mjs's startServerProcess); `ready` resolves with its base URL. */
function startApp(databaseUrl, schedulerEnabled) {
  return startServerProcess(
    'the app',
    [resolve(dist, 'apps/api/src/main.js')],
    {
      PATH: env.PATH,
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: '0',
      SCHEDULER_ENABLED: String(schedulerEnabled),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '1000000000',
      BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
      CURSOR_SECRET,
    },
    { startTimeoutMs: 120_000, stopTimeoutMs: 30_000 },
  );
}

/** Peak resident set size of a process so far (Linux: VmHWM), in MB. */
function peakRssMb(pid) {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function withClient(url, work) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The template: migrated by the app (scheduler off: the data stays as generated), loaded, counters folded. */
async function ensureTemplate(serverUrl) {
  await ensureDatabase(serverUrl, TEMPLATE);
  const url = withDatabase(serverUrl, TEMPLATE);
  const loaded = await withClient(url, async (client) => {
    const { rows } = await client.query(`SELECT to_regclass('bench_meta') IS NOT NULL AS has_meta`);
    if (!rows[0].has_meta) return false;
    const { rows: marker } = await client.query(`SELECT value FROM bench_meta WHERE key = 'dataset'`);
    return marker[0]?.value === `rows=${ROWS};generator=v1`;
  });
  if (loaded) {
    log(`template ${TEMPLATE}: reusing its ${ROWS} tasks`);
    return;
  }
  const app = startApp(url, false);
  try {
    await app.ready;
    await loadData(url, ROWS, log);
    await withClient(url, settleCounters);
  } finally {
    await app.stop();
  }
}

/** A fresh copy of the template (the run's writes never reach the bench data). */
async function copyTemplate(serverUrl) {
  await withClient(serverUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(COPY)} WITH (FORCE)`);
    const started = Date.now();
    await client.query(`CREATE DATABASE ${quoteIdentifier(COPY)} TEMPLATE ${quoteIdentifier(TEMPLATE)} STRATEGY FILE_COPY`);
    log(`copied ${TEMPLATE} to ${COPY} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}

/**
 * The kinds of requests and their connections: bench:list's scenarios (the
 * deep page at the middle of the table), get by id, enqueue. Lists take
 * 64% of the connections, split evenly; get and enqueue 18% each.
 */
async function kinds(base, sql) {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const memberToken = async (workspaceIds) => {
    const response = await fetch(`${base}/api/tokens`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `load member ${workspaceIds.join('+')}`, role: 'member', workspaceIds }),
    });
    return { authorization: `Bearer ${(await response.json()).token}` };
  };
  const { rows: facts } = await sql.query(`
    SELECT (SELECT count(*) FROM cleanup_tasks)::int AS tasks,
           (SELECT source_event_id FROM cleanup_tasks WHERE workspace_id = 'ws_0040' AND parent_id IS NULL ORDER BY id LIMIT 1) AS event,
           (SELECT resource_id FROM cleanup_tasks WHERE workspace_id = 'ws_0040' AND resource_type = 'delete_app' ORDER BY id LIMIT 1) AS app`);
  const fact = facts[0];
  const codec = new CursorCodec(CURSOR_SECRET);
  const middle = Math.max(0, Math.min(499_999, Math.floor(fact.tasks / 2) - 1));
  const deepPrepared = prepareTaskList(parseListQuery({ limit: '100' }), null, codec);
  const { rows: deepRow } = await sql.query(`SELECT created_at, id FROM cleanup_tasks ORDER BY created_at, id OFFSET $1 LIMIT 1`, [middle]);
  const deepCursor = codec.encode([deepRow[0].created_at.toISOString(), deepRow[0].id], deepPrepared.fingerprint);
  const member = await memberToken(['ws_0100', 'ws_0200']);
  const bigMember = await memberToken(['ws_0001', 'ws_0002']);
  const lists = [
    ['list: failed elements, newest first', { filter: JSON.stringify({ status: { eq: 'failed' }, resourceType: { eq: 'delete_element' } }), orderBy: JSON.stringify([{ createdAt: 'desc' }]), limit: '50' }],
    ['list: one event tree, unfinished', { source_event_id: fact.event, filter: JSON.stringify({ status: { neq: 'completed' } }), orderBy: JSON.stringify([{ createdAt: 'desc' }]), limit: '50' }],
    ['list: one resource id', { filter: JSON.stringify({ resourceId: { eq: fact.app } }) }],
    ['list: unfiltered page 1 + total', { limit: '100' }],
    [`list: unfiltered page at row ${middle + 1} + total`, { limit: '100', after: deepCursor }],
    ['list: children.some failed', { filter: JSON.stringify({ children: { some: { status: { eq: 'failed' } } } }), limit: '100' }],
    ['list: member (2 workspaces), page 1', { limit: '100' }, member],
    ['list: member (2 largest workspaces), page 1', { limit: '100' }, bigMember],
  ];
  const listConnections = Math.max(lists.length, Math.round(CONNECTIONS * 0.64));
  const rest = Math.max(2, CONNECTIONS - listConnections);
  const share = (index) => Math.floor(listConnections / lists.length) + (index < listConnections % lists.length ? 1 : 0);

  const { rows: sample } = await sql.query(`SELECT id FROM cleanup_tasks TABLESAMPLE SYSTEM (5) LIMIT 10000`);
  const ids = sample.map((row) => row.id);
  let enqueued = 0;
  const runId = Date.now().toString(36);
  const targets = [
    ...lists.map(([name, params, headers], index) => ({ name, connections: share(index), options: { url: `${base}/api/cleanup-tasks?${new URLSearchParams(params)}`, headers: headers ?? admin } })),
    {
      name: 'get by id',
      connections: Math.ceil(rest / 2),
      options: {
        url: base,
        headers: admin,
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/cleanup-tasks/${ids[Math.floor(Math.random() * ids.length)]}` }) }],
      },
    },
    {
      name: 'enqueue',
      connections: Math.floor(rest / 2),
      options: {
        url: `${base}/api/cleanup-tasks`,
        headers: { ...admin, 'content-type': 'application/json' },
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => {
              const n = ++enqueued;
              const workspace = `ws_${String(1 + (n % 600)).padStart(4, '0')}`;
              return { ...request, body: JSON.stringify({ resourceType: 'delete_element', resourceId: `el_load_${runId}_${n}`, workspaceId: workspace, sourceEventId: `evt_load_${runId}_${n}` }) };
            },
          },
        ],
      },
    },
  ];
  return { targets, runId };
}

/** Every kind at once, each on its own connections, for `seconds`. */
async function drive(targets, seconds) {
  return Promise.all(targets.map(async (kind) => ({ kind, result: await autocannon({ ...kind.options, connections: kind.connections, duration: seconds, timeout: 30 }) })));
}

let app;
let server;

async function main() {
  server = await startServer(process.env, log);
  try {
    checkDeadline('template');
    await ensureTemplate(server.serverUrl);
    checkDeadline('copy');
    await copyTemplate(server.serverUrl);
    const databaseUrl = withDatabase(server.serverUrl, COPY);
    app = startApp(databaseUrl, true);
    const base = await app.ready;
    const sql = new pg.Client({ connectionString: databaseUrl });
    await sql.connect();
    try {
      const { targets, runId } = await kinds(base, sql);
      const { rows: before } = await sql.query(`SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*)::int AS tasks FROM cleanup_tasks`);
      log(`${before[0].tasks} tasks (${before[0].pending} pending, for the scheduler); ${CONNECTIONS} connections: ${targets.map((kind) => `${kind.name} ×${kind.connections}`).join(', ')}`);
      if (WARMUP_SECONDS > 0) {
        log(`warm-up: ${WARMUP_SECONDS} s`);
        await drive(targets, WARMUP_SECONDS);
      }
      checkDeadline('measurement');
      log(`measuring: ${SECONDS} s`);
      const started = Date.now();
      const results = await drive(targets, SECONDS);
      const elapsed = (Date.now() - started) / 1000;
      const peakMb = peakRssMb(app.pid);
      const { rows: drained } = await sql.query(
        `SELECT (SELECT count(*) FROM cleanup_tasks WHERE completed_at >= $2)::int AS completed_during,
                count(*)::int AS enqueued, count(*) FILTER (WHERE status = 'completed')::int AS completed
           FROM cleanup_tasks WHERE source_event_id LIKE $1`,
        [`evt_load_${runId}_%`, new Date(started)],
      );

      const pad = (text, width) => String(text).padEnd(width);
      const rows = results.map(({ kind, result }) => {
        const errors = result.non2xx + result.errors + result.timeouts;
        return { name: kind.name, connections: kind.connections, requests: result.requests.total, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors };
      });
      const total = rows.reduce((sum, row) => sum + row.requests, 0);
      const errors = rows.reduce((sum, row) => sum + row.errors, 0);
      const lines = [
        `test:load — ${before[0].tasks} tasks (a copy of ${TEMPLATE}), ${SECONDS} s at ${CONNECTIONS} connections, scheduler draining in the API process; autocannon, one instance per kind`,
        `${pad('kind', 50)}${pad('conns', 7)}${pad('requests', 10)}${pad('req/s', 9)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}errors`,
        ...rows.map((row) => `${pad(row.name, 50)}${pad(row.connections, 7)}${pad(row.requests, 10)}${pad(row.rps.toFixed(0), 9)}${pad(row.p50, 8)}${pad(row.p99, 8)}${row.errors}`),
        `${pad('all', 50)}${pad(CONNECTIONS, 7)}${pad(total, 10)}${pad((total / elapsed).toFixed(0), 9)}`,
        `scheduler: ${drained[0].completed_during} tasks completed during the measured run (${before[0].pending} were pending before it); of the ${drained[0].enqueued} enqueued in it, ${drained[0].completed} completed by its end`,
        `API process peak RSS ${peakMb.toFixed(0)} MB (target < ${RSS_TARGET_MB} MB: ${peakMb < RSS_TARGET_MB ? 'met' : 'MISSED'}); errors: ${errors === 0 ? '0' : `${errors} (must be 0)`}`,
        `load: ${total} requests, ${errors} errors, peak RSS ${peakMb.toFixed(0)} MB`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      return errors === 0;
    } finally {
      await sql.end().catch(() => undefined);
    }
  } finally {
    await app?.stop();
    await withClient(server.serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(COPY)} WITH (FORCE)`)).catch((error) => log(`could not drop ${COPY}: ${error.message}`));
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
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
