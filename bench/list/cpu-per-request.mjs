// node bench/list/cpu-per-request.mjs <checkout> <path> [requests] — the
// CPU one list request costs the built app of a checkout: the app's own
// process (utime + stime from /proc, 10 ms ticks) over `requests` sequential
// requests (default 3000), after 3,000 unmeasured ones, three times; with
// p50/p95 latency of the same requests. Steadier than p95 on a shared
// machine for comparing two checkouts (run them alternately).
//
// The database: BENCH_DATABASE_URL (default the bench:list server's
// cleanup_tasks_bench on 127.0.0.1:54389, which must be running: start it
// with pg_ctl, or run this while nothing else uses the data directory).
// APP_ARGS: extra node arguments of the app (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
// Linux only (/proc).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';
import { startServerProcess } from './dataset.mjs';

const [checkout, path, requestsArg] = process.argv.slice(2);
if (!checkout || !path) {
  process.stderr.write('usage: node bench/list/cpu-per-request.mjs <checkout> <path, e.g. /api/cleanup-tasks?limit=100> [requests]\n');
  process.exit(2);
}
const requests = Math.min(100_000, Math.max(100, Number(requestsArg ?? 3000)));
const TOKEN = 'ctk_bench_admin_token_0123456789_abcdefghijklmnop';
const dir = resolve(checkout);
const app = startServerProcess(
  'the app',
  [...(process.env.APP_ARGS ? process.env.APP_ARGS.split(' ') : []), `${dir}/dist/apps/api/apps/api/src/main.js`],
  {
    PATH: process.env.PATH,
    DATABASE_URL: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:54389/cleanup_tasks_bench',
    HOST: '127.0.0.1',
    PORT: '0',
    SCHEDULER_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '100000000',
    BOOTSTRAP_ADMIN_TOKEN: TOKEN,
    CURSOR_SECRET: 'bench-cursor-secret-0123456789-abcdefghijklmnop',
  },
  { cwd: dir },
);
const base = await app.ready;

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = () =>
  new Promise((resolveGet, reject) => {
    const started = process.hrtime.bigint();
    http
      .get(`${base}${path}`, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200 ? resolveGet(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`${path} answered ${response.statusCode}`)),
        );
      })
      .on('error', reject);
  });
/** The app's CPU time so far, in µs. */
const cpuUs = () => {
  const fields = readFileSync(`/proc/${app.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};

try {
  for (let i = 0; i < 3000; i++) await get();
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    const before = cpuUs();
    const latencies = [];
    for (let i = 0; i < requests; i++) latencies.push(await get());
    latencies.sort((a, b) => a - b);
    rounds.push(`${((cpuUs() - before) / requests).toFixed(0)} µs CPU, p50 ${latencies[Math.floor(requests / 2)].toFixed(2)} ms, p95 ${latencies[Math.floor(requests * 0.95)].toFixed(2)} ms`);
  }
  process.stdout.write(`${checkout}: ${rounds.join(' · ')}\n`);
} finally {
  await app.stop();
}
process.exit(0);
