// npm run bench:list — GET /api/cleanup-tasks on 1,000,000 realistic tasks,
// through the HTTP API of the real app (built dist/, its own process, on
// loopback) and, for comparison, the very same SQL run directly with `pg`.
// Results, method and EXPLAIN ANALYZE: docs/benchmarks.md, "List endpoint".
//
// Database (bench/list/dataset.mjs, shared with bench:export): its own
// embedded PostgreSQL in .bench/postgres on port 54389 (BENCH_PG_DIR,
// BENCH_PG_PORT), or the server of BENCH_DATABASE_URL; either way the data
// lives in the database `cleanup_tasks_bench`, loaded once (SQL
// generate_series, ~40 s) and reused while its marker matches.
//
// Knobs: BENCH_ROWS (1000000), BENCH_SAMPLES (500 rounds per scenario, each
// one API request, one bare-server request and one direct SQL run; at least
// 200), BENCH_SECONDS (5 s of autocannon at 10
// connections per scenario), BENCH_DEADLINE_SECONDS (900: the whole run).
// BENCH_OTHER_CHECKOUT=<dir>: also start the built app of another checkout
// (e.g. an older commit, `npm ci && npm run build` there) on the same data,
// and time its request in every round beside the others (four per round, in
// rotating order): this app's p95 over the other's, in one machine state
// (`npm run bench:list:compare` does this).
// Every loop is bounded in count and by the deadline; everything started here
// is stopped here.
/* global fetch, URLSearchParams, Buffer */
import autocannon from 'autocannon';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { DATABASE, dist, ensureDatabase, loadData, root, settleCounters, startServer, startServerProcess, withDatabase } from './dataset.mjs';

const env = process.env;
const ROWS = Number(env.BENCH_ROWS ?? 1_000_000);
const SAMPLES = Math.max(200, Number(env.BENCH_SAMPLES ?? 500));
const SECONDS = Math.max(1, Number(env.BENCH_SECONDS ?? 5));
const DEADLINE = Date.now() + 1000 * Number(env.BENCH_DEADLINE_SECONDS ?? 900);
const ADMIN_TOKEN = 'ctk_bench_admin_token_0123456789_abcdefghijklmnop';
const CURSOR_SECRET = 'bench-cursor-secret-0123456789-abcdefghijklmnop';
const WARMUP = 30;
/** Rounds of every scenario before the first measured one (8 scenarios × 500 = 4,000 requests to each server). */
const GLOBAL_WARMUP = 500;
// Both servers log their garbage collections here (bench/list/gc-observer.mjs).
const GC_OBSERVER = resolve(import.meta.dirname, 'gc-observer.mjs');
const GC_LOGS = { app: resolve(root, '.bench/gc-app.log'), bare: resolve(root, '.bench/gc-bare.log'), other: resolve(root, '.bench/gc-other.log') };
const OTHER_CHECKOUT = env.BENCH_OTHER_CHECKOUT ? resolve(env.BENCH_OTHER_CHECKOUT) : null;
/** What a round times, in its first round's order; round i starts i places further on (each kind runs first, and last, as often as the others). */
const KINDS = OTHER_CHECKOUT ? ['api', 'other', 'bare', 'sql'] : ['api', 'bare', 'sql'];
const orderOfRound = (i) => KINDS.map((_, k) => KINDS[(i + k) % KINDS.length]);
/** [start, end] epoch ms of every scenario's measured rounds. */
const measuredWindows = [];

const { CursorCodec } = await import(`${dist}/libs/query-dsl/src/index.js`);
const { parseListQuery } = await import(`${dist}/libs/cleanup-tasks/src/dto/list-cleanup-tasks.query.js`);
const { prepareTaskList } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-tasks.service.js`);
const { listStatement, DEFAULT_TASK_LIST_OPTIONS } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-tasks.repository.js`);
const { CleanupTask } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-task.entity.js`);

function checkDeadline(what) {
  if (Date.now() > DEADLINE) throw new Error(`deadline passed (${what}); raise BENCH_DEADLINE_SECONDS`);
}
const log = (line) => process.stderr.write(`[bench:list] ${line}\n`);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (value) => value.toFixed(2);

/** The built app (dist/ of this checkout, or of `checkout`), scheduler off. */
function startApp(databaseUrl, checkout = null) {
  const entry = checkout ? resolve(checkout, 'dist/apps/api/apps/api/src/main.js') : resolve(dist, 'apps/api/src/main.js');
  return startServerProcess(checkout ? `the app of ${checkout}` : 'the app', ['--import', GC_OBSERVER, entry], {
    PATH: env.PATH,
    BENCH_GC_LOG: checkout ? GC_LOGS.other : GC_LOGS.app,
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    SCHEDULER_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '100000000',
    BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
    CURSOR_SECRET,
  }, checkout ? { cwd: checkout } : {});
}

/** The same request work without the framework: the list statement behind a bare node:http server (bench/list/bare-server.mjs). */
function startBareServer(databaseUrl) {
  return startServerProcess('the bare server', ['--import', GC_OBSERVER, resolve(import.meta.dirname, 'bare-server.mjs'), databaseUrl, CURSOR_SECRET], {
    PATH: env.PATH,
    BENCH_GC_LOG: GC_LOGS.bare,
  });
}

// One keep-alive connection, as the direct SQL has one pg connection. node:http
// rather than fetch: undici's fetch spends ~0.8 ms of its own per request on
// this machine (measured: GET /health/live 1.3 ms p50 with fetch, 0.6 ms with
// node:http), which is client cost, not the API's.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function httpGet(url, headers) {
  return new Promise((resolveGet, reject) => {
    const request = http.get(url, { agent, headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolveGet({ status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(30_000, () => request.destroy(new Error(`${url}: no answer within 30 s`)));
  });
}

/**
 * Times the API request, the bare server's request and the direct SQL of the
 * same query, one of each per round in rotating order (warm-up rounds first):
 * all three see the same machine state, so no figure is taken in a quieter
 * moment than another.
 */
async function timeRounds({ apiUrl, apiHeaders, otherUrl, bareUrl, bareHeaders, client, statement }, samples) {
  const times = Object.fromEntries(KINDS.map((kind) => [kind, []]));
  let body;
  const timed = async (kind, run) => {
    const started = performance.now();
    const result = await run();
    return { elapsed: performance.now() - started, result };
  };
  let windowStart;
  for (let i = 0; i < WARMUP + samples; i++) {
    if (i % 50 === 0) checkDeadline('samples');
    if (i === WARMUP) windowStart = performance.timeOrigin + performance.now();
    // The order rotates from round to round, so that none of the three is
    // always the one that runs first (after the client's idle moment) or last.
    const runs = {
      api: () => timed('api', () => httpGet(apiUrl, apiHeaders)),
      other: () => timed('other', () => httpGet(otherUrl, apiHeaders)),
      bare: () => timed('bare', () => httpGet(bareUrl, bareHeaders)),
      sql: () => timed('sql', () => client.query(statement.query, statement.parameters)),
    };
    const done = {};
    for (const kind of orderOfRound(i)) done[kind] = await runs[kind]();
    for (const [name, kind, url] of [['api', 'api', apiUrl], ['the other app', 'other', otherUrl], ['bare server', 'bare', bareUrl]]) {
      const response = done[kind]?.result;
      if (response && response.status !== 200) throw new Error(`${name}: ${url} answered ${response.status}: ${response.body.slice(0, 500)}`);
    }
    body = done.api.result.body;
    if (i >= WARMUP) for (const kind of KINDS) times[kind].push(done[kind].elapsed);
  }
  const window = [windowStart, performance.timeOrigin + performance.now()];
  for (const list of Object.values(times)) list.sort((x, y) => x - y);
  return { ...times, window, body: JSON.parse(body) };
}

async function throughput(url, headers) {
  checkDeadline('throughput');
  const result = await autocannon({ url, connections: 10, duration: SECONDS, headers });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors under load`);
  return result.requests.average;
}

let app;
let other;
let bare;
/** Tokens this run created (revoked at the end). */
const tokenIds = [];

/**
 * Each server's collections inside the measured rounds: how many, how long,
 * and their share of the measured time (pauses land on whichever request is
 * in flight, so they show in the p95 columns).
 */
async function gcSummary() {
  await new Promise((done) => setTimeout(done, 600)); // the observers flush every 250 ms
  const measured = measuredWindows.reduce((sum, [start, end]) => sum + (end - start), 0);
  const describe = (name, file) => {
    const pauses = { young: [], full: [], incremental: [] };
    for (const line of existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []) {
      const [start, duration, kind] = line.split(' ');
      const at = Number(start);
      if (!(kind in pauses) || !measuredWindows.some(([from, to]) => at >= from && at <= to)) continue;
      pauses[kind].push(Number(duration));
    }
    const young = pauses.young.sort((x, y) => x - y);
    const total = Object.values(pauses).flat().reduce((sum, d) => sum + d, 0);
    const youngText = young.length === 0 ? '0 young' : `${young.length} young (median ${ms(percentile(young, 50))} ms, max ${ms(young[young.length - 1])} ms)`;
    return `${name}: ${youngText}, ${pauses.full.length} full, ${pauses.incremental.length} incremental marking steps; ${((100 * total) / measured).toFixed(1)}% of the time`;
  };
  const apps = `${describe('app', GC_LOGS.app)}${OTHER_CHECKOUT ? ` · ${describe('other app', GC_LOGS.other)}` : ''}`;
  return `GC pauses inside the measured rounds (${(measured / 1000).toFixed(1)} s) — ${apps} · ${describe('bare server', GC_LOGS.bare)}`;
}

async function main() {
  mkdirSync(resolve(root, '.bench'), { recursive: true });
  for (const file of Object.values(GC_LOGS)) rmSync(file, { force: true });
  const server = await startServer(env, log);
  const sql = new pg.Client({ connectionString: withDatabase(server.serverUrl, DATABASE) });
  // The task entity's DataSource, as the app's repository has it: the statements of the direct SQL runs are built with its QueryBuilder.
  let tasksDataSource;
  try {
    await ensureDatabase(server.serverUrl);
    const databaseUrl = withDatabase(server.serverUrl, DATABASE);
    app = startApp(databaseUrl);
    bare = startBareServer(databaseUrl);
    const base = await app.ready;
    const bareBase = await bare.ready;
    // Started once this app has migrated the database (an older app finds its own migrations done).
    other = OTHER_CHECKOUT ? startApp(databaseUrl, OTHER_CHECKOUT) : null;
    const otherBase = await other?.ready;
    await loadData(databaseUrl, ROWS, log);
    await sql.connect();
    tasksDataSource = await new DataSource({ type: 'postgres', url: databaseUrl, entities: [CleanupTask], poolSize: 1 }).initialize();
    await settleCounters(sql);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const codec = new CursorCodec(CURSOR_SECRET);
    const { rows: facts } = await sql.query(`
      SELECT (SELECT count(*) FROM cleanup_tasks) AS tasks,
             (SELECT count(DISTINCT workspace_id) FROM cleanup_tasks) AS workspaces,
             (SELECT source_event_id FROM cleanup_tasks WHERE workspace_id = 'ws_0040' AND parent_id IS NULL ORDER BY id LIMIT 1) AS event,
             (SELECT resource_id FROM cleanup_tasks WHERE workspace_id = 'ws_0040' AND resource_type = 'delete_app' ORDER BY id LIMIT 1) AS app,
             (SELECT current_setting('server_version')) AS version,
             (SELECT current_setting('shared_buffers')) AS shared_buffers,
             (SELECT current_setting('random_page_cost')) AS random_page_cost`);
    const fact = facts[0];
    log(`${fact.tasks} tasks in ${fact.workspaces} workspaces; PostgreSQL ${fact.version}, shared_buffers ${fact.shared_buffers}, random_page_cost ${fact.random_page_cost}`);

    // Member tokens: two mid-size workspaces, and two of the largest (16% of all tasks).
    const memberToken = async (workspaceIds) => {
      const response = await fetch(`${base}/api/tokens`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `bench member ${workspaceIds.join('+')}`, role: 'member', workspaceIds }),
      });
      const created = await response.json();
      tokenIds.push(created.id);
      return { authorization: `Bearer ${created.token}` };
    };
    const member = await memberToken(['ws_0100', 'ws_0200']);
    const bigMember = await memberToken(['ws_0001', 'ws_0002']);

    // Page 5,000 of the default order (limit 100): the cursor of the 500,000th
    // row (the middle one of a smaller data set), made with the codec (the
    // bench knows the key; offset only for setup).
    const deepParams = { limit: '100' };
    const deepPrepared = prepareTaskList(parseListQuery(deepParams), null, codec);
    const deepOffset = Math.min(499_999, Math.floor(Number(fact.tasks) / 2));
    const { rows: deepRow } = await sql.query(`SELECT created_at, id FROM cleanup_tasks ORDER BY created_at, id OFFSET $1 LIMIT 1`, [deepOffset]);
    const deepCursor = codec.encode([deepRow[0].created_at.toISOString(), deepRow[0].id], deepPrepared.fingerprint);

    const scenarios = [
      {
        name: 'selective: failed elements, newest first',
        params: { filter: JSON.stringify({ status: { eq: 'failed' }, resourceType: { eq: 'delete_element' } }), orderBy: JSON.stringify([{ createdAt: 'desc' }]), limit: '50' },
        selective: true,
      },
      {
        name: 'selective: one event tree, unfinished, newest first',
        params: { source_event_id: fact.event, filter: JSON.stringify({ status: { neq: 'completed' } }), orderBy: JSON.stringify([{ createdAt: 'desc' }]), limit: '50' },
        selective: true,
      },
      {
        name: 'selective: one resource id',
        params: { filter: JSON.stringify({ resourceId: { eq: fact.app } }) },
        selective: true,
      },
      { name: 'unfiltered page 1 + total', params: { limit: '100' } },
      { name: 'unfiltered page 5,000 + total', params: { limit: '100', after: deepCursor } },
      { name: 'children.some failed', params: { filter: JSON.stringify({ children: { some: { status: { eq: 'failed' } } } }), limit: '100' }, selective: true },
      { name: 'member (2 workspaces), page 1', params: { limit: '100' }, scope: ['ws_0100', 'ws_0200'], headers: member },
      { name: 'member (2 largest workspaces), page 1', params: { limit: '100' }, scope: ['ws_0001', 'ws_0002'], headers: bigMember },
    ];

    const targets = scenarios.map((scenario) => {
      const prepared = prepareTaskList(parseListQuery(scenario.params), scenario.scope ?? null, codec);
      return {
        apiUrl: `${base}/api/cleanup-tasks?${new URLSearchParams(scenario.params)}`,
        apiHeaders: scenario.headers ?? admin,
        otherUrl: otherBase && `${otherBase}/api/cleanup-tasks?${new URLSearchParams(scenario.params)}`,
        bareUrl: `${bareBase}/api/cleanup-tasks?${new URLSearchParams(scenario.params)}`,
        bareHeaders: scenario.scope ? { 'x-bench-scope': scenario.scope.join(',') } : {},
        client: sql,
        statement: listStatement(tasksDataSource, prepared.criteria, DEFAULT_TASK_LIST_OPTIONS),
      };
    });
    // Warm every code path of both servers before any figure is taken (the JIT
    // of the app keeps improving for ~4,000 requests: 1.3 → 0.8 ms of CPU per
    // request measured; plan caches, buffers), so that the first scenario is
    // not measured colder than the rest.
    for (const target of targets) {
      checkDeadline('warm-up');
      await timeRounds(target, GLOBAL_WARMUP);
    }

    const results = [];
    const explains = [];
    for (const [index, scenario] of scenarios.entries()) {
      checkDeadline(scenario.name);
      const target = targets[index];
      const { statement } = target;
      const times = await timeRounds(target, SAMPLES);
      measuredWindows.push(times.window);
      const body = times.body;
      const { rows: plan } = await sql.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${statement.query}`, statement.parameters);
      explains.push(
        `### ${scenario.name}\n\nRequest: \`GET /api/cleanup-tasks?${Object.entries({ ...scenario.params, ...(scenario.params.after ? { after: '<cursor of row 500,000>' } : {}) }).map(([key, value]) => `${key}=${value}`).join('&')}\`` +
          `${scenario.scope ? ` (member of ${scenario.scope.join(', ')})` : ''}; total counted by ${statement.countedBy}.\n\n` +
          '```\n' + plan.map((row) => row['QUERY PLAN']).join('\n') + '\n```\n',
      );
      const result = {
        name: scenario.name,
        selective: Boolean(scenario.selective),
        apiP50: percentile(times.api, 50),
        apiP95: percentile(times.api, 95),
        bareP50: percentile(times.bare, 50),
        bareP95: percentile(times.bare, 95),
        sqlP50: percentile(times.sql, 50),
        sqlP95: percentile(times.sql, 95),
        ...(OTHER_CHECKOUT ? { otherP50: percentile(times.other, 50), otherP95: percentile(times.other, 95) } : {}),
        total: body.pageInfo.total,
        rows: body.data.length,
        countedBy: statement.countedBy,
      };
      result.ratio = result.apiP95 / result.sqlP95;
      result.bareRatio = result.bareP95 / result.sqlP95;
      results.push(result);
      log(`${scenario.name}: api p95 ${ms(result.apiP95)} ms,${OTHER_CHECKOUT ? ` other app p95 ${ms(result.otherP95)} ms,` : ''} bare p95 ${ms(result.bareP95)} ms, sql p95 ${ms(result.sqlP95)} ms`);
    }
    // Throughput last: autocannon loads only the app, which is busy for a
    // while after each burst (collections, pools); measured between the
    // scenarios' rounds, that aftermath landed in the next scenario's API
    // figures and not in the bare server's.
    for (const [index, result] of results.entries()) {
      result.rps = await throughput(targets[index].apiUrl, targets[index].apiHeaders);
      log(`${result.name}: ${result.rps.toFixed(0)} req/s`);
    }

    const explainFile = resolve(root, '.bench/list-explain.md');
    writeFileSync(explainFile, explains.join('\n'));

    const pad = (text, width) => String(text).padEnd(width);
    const lines = [
      `bench:list — ${fact.tasks} tasks, ${fact.workspaces} workspaces; ${SAMPLES} rounds per scenario, each one API request, one bare-server request and one direct SQL run (node:http keep-alive client, one pg connection); req/s: autocannon, 10 connections, ${SECONDS} s`,
      `bare = the same request work (DSL, statement, body with signed cursors) behind a bare node:http server, no framework, middleware or auth (bench/list/bare-server.mjs)`,
      `${pad('scenario', 52)}${pad('API p50', 9)}${pad('API p95', 9)}${pad('bare p50', 10)}${pad('bare p95', 10)}${pad('SQL p50', 9)}${pad('SQL p95', 9)}${pad('API/SQL p95', 13)}${pad('bare/SQL p95', 14)}${pad('req/s@10', 10)}${pad('total', 9)}count from`,
      ...results.map(
        (r) =>
          `${pad(r.name, 52)}${pad(ms(r.apiP50), 9)}${pad(ms(r.apiP95), 9)}${pad(ms(r.bareP50), 10)}${pad(ms(r.bareP95), 10)}${pad(ms(r.sqlP50), 9)}${pad(ms(r.sqlP95), 9)}${pad(`${r.ratio.toFixed(2)}x`, 13)}${pad(`${r.bareRatio.toFixed(2)}x`, 14)}${pad(r.rps.toFixed(0), 10)}${pad(r.total, 9)}${r.countedBy}`,
      ),
    ];
    const page1 = results.find((r) => r.name.startsWith('unfiltered page 1'));
    const page5000 = results.find((r) => r.name.startsWith('unfiltered page 5,000'));
    const selectiveWorst = Math.max(...results.filter((r) => r.selective).map((r) => r.apiP95));
    const worst = Math.max(...results.map((r) => r.ratio));
    lines.push(
      '',
      `targets: API p95 ≤ 2x SQL p95: ${worst <= 2 ? 'met' : 'MISSED'} · page 5,000 p95 / page 1 p95 = ${(page5000.apiP95 / page1.apiP95).toFixed(2)} (≤ 1.5: ${page5000.apiP95 <= 1.5 * page1.apiP95 ? 'met' : 'MISSED'}) · selective API p95 worst ${ms(selectiveWorst)} ms (< 20 ms: ${selectiveWorst < 20 ? 'met' : 'MISSED'})`,
      await gcSummary(),
      `EXPLAIN ANALYZE of each statement: ${explainFile}`,
      `bench:list worst api/sql p95 ratio: ${worst.toFixed(2)}`,
    );
    if (OTHER_CHECKOUT) {
      // Same rounds, same machine state: this app's request and the other's ran back to back.
      lines.push(
        '',
        `this app against the app of ${OTHER_CHECKOUT} (its request timed in every round beside this app's, ${SAMPLES} rounds per scenario)`,
        `${pad('scenario', 52)}${pad('API p50', 9)}${pad('API p95', 9)}${pad('other p50', 11)}${pad('other p95', 11)}${pad('API/other p50', 15)}API/other p95`,
        ...results.map(
          (r) =>
            `${pad(r.name, 52)}${pad(ms(r.apiP50), 9)}${pad(ms(r.apiP95), 9)}${pad(ms(r.otherP50), 11)}${pad(ms(r.otherP95), 11)}${pad(`${(r.apiP50 / r.otherP50).toFixed(2)}x`, 15)}${(r.apiP95 / r.otherP95).toFixed(2)}x`,
        ),
        `bench:list worst api/other p95 ratio: ${Math.max(...results.map((r) => r.apiP95 / r.otherP95)).toFixed(2)}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const id of tokenIds) {
      await sql.query(`UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id]).catch(() => undefined);
    }
    await sql.end().catch(() => undefined);
    await tasksDataSource?.destroy().catch(() => undefined);
    agent.destroy();
    await bare?.stop();
    await other?.stop();
    await app?.stop();
    await server.stop();
  }
}

const watchdog = setTimeout(() => {
  log('deadline passed; exiting');
  app?.kill();
  other?.kill();
  bare?.kill();
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
