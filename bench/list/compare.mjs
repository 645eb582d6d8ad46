// npm run bench:list:compare -- <other checkout> [rounds]
//
// bench:list of another commit against this one, back to back on the same
// data: the two checkouts' bench/list/run.mjs take turns (other, this, other,
// this, …; `rounds` each, default 3), every run on the same PostgreSQL data
// directory (BENCH_PG_DIR, default this checkout's .bench/postgres) and
// port, and the per-scenario p95s are compared as medians over the rounds.
//
// The other checkout must be installed and built first, e.g.
//   git worktree add ../old <commit> && (cd ../old && npm ci && npm run build)
// Both runs use the dist/ of their own checkout; this one's is built by the
// npm script. Prints, per scenario, API p95 of each (median of the rounds),
// new/old, this checkout's API p95 over its bare server's, and the direct
// SQL's p95 in both runs (the same statement: how much the machine moved
// between them); the last line
// is `bench:list:compare worst new/old API p95: R`.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const [otherArg, roundsArg] = process.argv.slice(2);
if (!otherArg) {
  process.stderr.write('usage: npm run bench:list:compare -- <other checkout> [rounds]\n');
  process.exit(2);
}
const here = resolve(import.meta.dirname, '../..');
const other = resolve(otherArg);
const rounds = Math.min(9, Math.max(1, Number(roundsArg ?? 3)));
const env = { ...process.env, BENCH_PG_DIR: process.env.BENCH_PG_DIR ?? resolve(here, '.bench/postgres'), BENCH_PG_PORT: process.env.BENCH_PG_PORT ?? '54389' };
/** Each run is bounded by run.mjs's own deadline; this bounds it again from outside. */
const RUN_TIMEOUT_MS = 1000 * Number(process.env.BENCH_DEADLINE_SECONDS ?? 900) + 60_000;

/** Runs one checkout's bench:list; resolves with its per-scenario p95s. */
function runOnce(dir, label) {
  return new Promise((resolveRun, reject) => {
    process.stderr.write(`[bench:list:compare] ${label}: node bench/list/run.mjs in ${dir}\n`);
    const child = spawn(process.execPath, ['bench/list/run.mjs'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const scenarios = new Map();
    let output = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    const collect = (chunk) => {
      output += chunk;
      for (;;) {
        const newline = output.indexOf('\n');
        if (newline < 0) break;
        const line = output.slice(0, newline);
        output = output.slice(newline + 1);
        const match = /^\[bench:list\] (.+): api p95 ([\d.]+) ms, bare p95 ([\d.]+) ms, sql p95 ([\d.]+) ms$/.exec(line);
        if (match) scenarios.set(match[1], { api: Number(match[2]), bare: Number(match[3]), sql: Number(match[4]) });
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${label}: bench:list exited with ${code}`));
      else resolveRun(scenarios);
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const runs = { old: [], new: [] };
for (let round = 1; round <= rounds; round++) {
  runs.old.push(await runOnce(other, `round ${round}/${rounds}, other checkout`));
  runs.new.push(await runOnce(here, `round ${round}/${rounds}, this checkout`));
}

const names = [...runs.new[0].keys()];
const pad = (text, width) => String(text).padEnd(width);
const rows = [];
let worst = 0;
let worstBare = 0;
for (const name of names) {
  const pick = (side, field) => median(runs[side].map((scenarios) => scenarios.get(name)?.[field]).filter((value) => value !== undefined));
  const oldApi = pick('old', 'api');
  const newApi = pick('new', 'api');
  const newBare = pick('new', 'bare');
  const oldSql = pick('old', 'sql');
  const newSql = pick('new', 'sql');
  const ratio = newApi / oldApi;
  const overBare = newApi / newBare;
  worst = Math.max(worst, ratio);
  worstBare = Math.max(worstBare, overBare);
  const each = (side) => runs[side].map((scenarios) => scenarios.get(name)?.api.toFixed(2) ?? '–').join(' / ');
  rows.push([name, oldApi.toFixed(2), newApi.toFixed(2), `${ratio.toFixed(2)}x`, newBare.toFixed(2), `${overBare.toFixed(2)}x`, oldSql.toFixed(2), newSql.toFixed(2), each('old'), each('new')]);
}
const header = ['scenario', 'old API p95', 'new API p95', 'new/old', 'new bare p95', 'new API/bare', 'old SQL p95', 'new SQL p95', 'old API rounds', 'new API rounds'];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)) + 2);
process.stdout.write(`bench:list:compare — ${rounds} alternating round(s) each; medians of the per-round p95s (ms)\n`);
process.stdout.write(`other checkout (old): ${other}\nthis checkout (new): ${here}\n`);
for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, column) => pad(cell, widths[column])).join('')}\n`);
process.stdout.write(`targets: new/old API p95 ≤ 1.10 in every scenario: ${worst <= 1.1 ? 'met' : 'MISSED'} · new API p95 ≤ 1.5x bare: ${worstBare <= 1.5 ? 'met' : 'MISSED'}\n`);
process.stdout.write(`bench:list:compare worst new/old API p95: ${worst.toFixed(2)}\n`);
