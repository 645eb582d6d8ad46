// npm run bench:list:compare -- <other checkout> [rounds] [--alternate]
//
// bench:list of another commit against this one on the same data (the same
// PostgreSQL data directory, BENCH_PG_DIR, default this checkout's
// .bench/postgres, and port), `rounds` times (default 3); per scenario the
// p95s are compared as medians over the rounds.
//
// Interleaved (default): this checkout's bench/list/run.mjs with
// BENCH_OTHER_CHECKOUT, which starts both apps and times the other app's
// request in every round beside this app's (and the bare server's and the
// direct SQL's, in rotating order): both see the same machine state, request
// by request.
// --alternate: the two checkouts' own run.mjs take turns (other, this, other,
// this, …), each run minutes apart from the other's: on a shared machine the
// state moves between them (the direct SQL, the same statement in both,
// read up to 1.5× apart in one such comparison).
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

const args = process.argv.slice(2);
const alternate = args.includes('--alternate');
const [otherArg, roundsArg] = args.filter((arg) => arg !== '--alternate');
if (!otherArg) {
  process.stderr.write('usage: npm run bench:list:compare -- <other checkout> [rounds] [--alternate]\n');
  process.exit(2);
}
const here = resolve(import.meta.dirname, '../..');
const other = resolve(otherArg);
const rounds = Math.min(9, Math.max(1, Number(roundsArg ?? 3)));
const env = { ...process.env, BENCH_PG_DIR: process.env.BENCH_PG_DIR ?? resolve(here, '.bench/postgres'), BENCH_PG_PORT: process.env.BENCH_PG_PORT ?? '54389' };
/** Each run is bounded by run.mjs's own deadline; this bounds it again from outside. */
const RUN_TIMEOUT_MS = 1000 * Number(process.env.BENCH_DEADLINE_SECONDS ?? 900) + 60_000;

/** Runs one checkout's bench:list; resolves with its per-scenario p95s (`other`: the other app's, when runEnv names one). */
function runOnce(dir, label, runEnv = env) {
  return new Promise((resolveRun, reject) => {
    process.stderr.write(`[bench:list:compare] ${label}: node bench/list/run.mjs in ${dir}\n`);
    const child = spawn(process.execPath, ['bench/list/run.mjs'], { cwd: dir, env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
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
        const match = /^\[bench:list\] (.+): api p95 ([\d.]+) ms,(?: other app p95 ([\d.]+) ms,)? bare p95 ([\d.]+) ms, sql p95 ([\d.]+) ms$/.exec(line);
        if (match) scenarios.set(match[1], { api: Number(match[2]), other: match[3] && Number(match[3]), bare: Number(match[4]), sql: Number(match[5]) });
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
  if (alternate) {
    runs.old.push(await runOnce(other, `round ${round}/${rounds}, other checkout`));
    runs.new.push(await runOnce(here, `round ${round}/${rounds}, this checkout`));
    continue;
  }
  const both = await runOnce(here, `round ${round}/${rounds}, both apps`, { ...env, BENCH_OTHER_CHECKOUT: other });
  runs.new.push(both);
  // The other app's figures, with the same rounds' SQL.
  runs.old.push(new Map([...both].map(([name, times]) => [name, { api: times.other, sql: times.sql }])));
}

const names = [...runs.new[0].keys()];
const pad = (text, width) => String(text).padEnd(width);
const rows = [];
let worst = 0;
let worstPaired = 0;
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
  // Interleaved, each round's two p95s were taken in one machine state: their ratio is a paired figure, free of the drift between rounds.
  const paired = median(runs.new.map((scenarios, round) => scenarios.get(name)?.api / runs.old[round].get(name)?.api).filter((value) => Number.isFinite(value)));
  worst = Math.max(worst, ratio);
  worstPaired = Math.max(worstPaired, paired);
  worstBare = Math.max(worstBare, overBare);
  const each = (side) => runs[side].map((scenarios) => scenarios.get(name)?.api.toFixed(2) ?? '–').join(' / ');
  rows.push([name, oldApi.toFixed(2), newApi.toFixed(2), `${ratio.toFixed(2)}x`, `${paired.toFixed(2)}x`, newBare.toFixed(2), `${overBare.toFixed(2)}x`, oldSql.toFixed(2), newSql.toFixed(2), each('old'), each('new')]);
}
const header = ['scenario', 'old API p95', 'new API p95', 'new/old', 'per round', 'new bare p95', 'new API/bare', 'old SQL p95', 'new SQL p95', 'old API rounds', 'new API rounds'];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)) + 2);
process.stdout.write(
  `bench:list:compare — ${rounds} round(s), ${alternate ? 'the checkouts\' runs alternating' : 'both apps timed in every round of one run (interleaved)'}; medians of the per-round p95s (ms)\n`,
);
process.stdout.write(`other checkout (old): ${other}\nthis checkout (new): ${here}\n`);
for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, column) => pad(cell, widths[column])).join('')}\n`);
process.stdout.write('new/old: the medians\' ratio; per round: the median of the rounds\' own new/old ratios\n');
process.stdout.write(
  `targets: new/old API p95 ≤ 1.10 in every scenario: ${worst <= 1.1 ? 'met' : 'MISSED'} (per round: ${worstPaired <= 1.1 ? 'met' : 'MISSED'}) · new API p95 ≤ 1.5x bare: ${worstBare <= 1.5 ? 'met' : 'MISSED'}\n`,
);
process.stdout.write(`bench:list:compare worst new/old API p95: ${worst.toFixed(2)} (per round: ${worstPaired.toFixed(2)})\n`);
