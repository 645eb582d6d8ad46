// What building the list statement costs: for each bench:list scenario, the
// QueryBuilder statement (listStatement, as the repository builds it on the
// task entity's DataSource, metadata loaded) is built thousands of times in a
// loop, after a warm-up; prints µs per build (performance.now(): the fastest
// and the median of 7 batches; on a shared machine the fastest is the cost,
// the median what the neighbours left of it), and the same with the
// request's parsing (prepareTaskList) included, and what the app pays for a
// shape it has seen before (the statement from its StatementCache, the
// request's values bound into it; parsing included).
//
// Usage: npm run build && node bench/list/statement-cost.mjs <database url>
// (any reachable PostgreSQL: the DataSource connects to load its metadata and
// runs nothing). BUILDS (default 5000) builds per batch.
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';

const dist = resolve(import.meta.dirname, '../../dist/apps/api');
const { CursorCodec } = await import(`${dist}/libs/query-dsl/src/index.js`);
const { parseListQuery } = await import(`${dist}/libs/cleanup-tasks/src/dto/list-cleanup-tasks.query.js`);
const { prepareTaskList } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-tasks.service.js`);
const { listStatement, DEFAULT_TASK_LIST_OPTIONS, listStatementCache } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-tasks.repository.js`);
const { CleanupTask } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-task.entity.js`);
const { LIST_PLAN_SCENARIOS } = await import(`${dist}/libs/cleanup-tasks/src/__plans__/list-scenarios.js`);

const [databaseUrl] = process.argv.slice(2);
if (!databaseUrl) throw new Error('usage: node bench/list/statement-cost.mjs <database url>');
const BUILDS = Number(process.env.BUILDS ?? 5000);
const BATCHES = 7;

const dataSource = await new DataSource({ type: 'postgres', url: databaseUrl, entities: [CleanupTask], poolSize: 1 }).initialize();
const codec = new CursorCodec('statement-cost-secret-0123456789-abcdefgh');
try {
  const pad = (text, width) => String(text).padEnd(width);
  process.stdout.write(`${pad('scenario', 52)}${pad('build µs (min / median)', 26)}${pad('parse + build µs', 26)}parse + cached shape µs\n`);
  for (const scenario of LIST_PLAN_SCENARIOS) {
    const prepare = () => {
      const { criteria } = prepareTaskList(parseListQuery(scenario.params), scenario.scope ?? null, codec);
      return scenario.after ? { ...criteria, after: scenario.after } : criteria;
    };
    const criteria = prepare();
    const perBuild = (work) => {
      for (let i = 0; i < BUILDS; i++) work();
      const batches = [];
      for (let batch = 0; batch < BATCHES; batch++) {
        const started = performance.now();
        for (let i = 0; i < BUILDS; i++) work();
        batches.push(((performance.now() - started) * 1000) / BUILDS);
      }
      batches.sort((a, b) => a - b);
      return `${batches[0].toFixed(1)} / ${batches[Math.floor(BATCHES / 2)].toFixed(1)}`;
    };
    const build = perBuild(() => listStatement(dataSource, criteria));
    const both = perBuild(() => listStatement(dataSource, prepare()));
    const cache = listStatementCache();
    const cached = perBuild(() => listStatement(dataSource, prepare(), DEFAULT_TASK_LIST_OPTIONS, cache));
    process.stdout.write(`${pad(scenario.name, 52)}${pad(build, 26)}${pad(both, 26)}${cached}\n`);
  }
} finally {
  await dataSource.destroy();
}
