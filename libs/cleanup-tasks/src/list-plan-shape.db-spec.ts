/**
 * The list statement built with TypeORM's QueryBuilder plans like the
 * template-string statement it replaced: for each of the eight bench:list
 * scenarios, `EXPLAIN (COSTS OFF)` of the snapshot of the old statement
 * (src/__plans__/<scenario>.sql) and of the new one, on the same realistic
 * data (bench/list/seed-tasks.sql, scaled down, vacuumed and analysed),
 * give the same plan tree: node types, join types and strategies, relations,
 * indexes, CTEs and subplans, and which conditions each node applies. Costs,
 * row counts and expression text (aliases, parameter numbers) are left out.
 * Both statements also return the same rows.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CursorCodec } from '@app/query-dsl';
import { createTestApp, type TestApp } from '../../../test/support/test-app';
import { CleanupTasksRepository, listStatement } from './cleanup-tasks.repository';
import { prepareTaskList } from './cleanup-tasks.service';
import { parseListQuery } from './dto/list-cleanup-tasks.query';
import { LIST_PLAN_SCENARIOS, WS_0040_APP, WS_0040_EVENT, type ListPlanScenario } from './__plans__/list-scenarios';

/** Enough rows for the plans of 1M (index walks, counters, the split member page), few enough for seconds. */
const SEED_ROWS = 120_000;

interface PlanNode {
  [key: string]: unknown;
  Plans?: PlanNode[];
}

/** What a plan node is, without costs, estimates or expression text. */
const SHAPE_KEYS = [
  'Node Type',
  'Parent Relationship',
  'Subplan Name',
  'Join Type',
  'Strategy',
  'Partial Mode',
  'Relation Name',
  'Index Name',
  'CTE Name',
  'Scan Direction',
  'Inner Unique',
  'Async Capable',
];
/** Conditions and keys a node applies: only whether it has them (and how many sort keys). */
const CONDITION_KEYS = ['Filter', 'Index Cond', 'Recheck Cond', 'One-Time Filter', 'Join Filter', 'Hash Cond', 'Merge Cond', 'TID Cond'];

function shape(node: PlanNode): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of SHAPE_KEYS) if (key in node) result[key] = node[key];
  const conditions = CONDITION_KEYS.filter((key) => key in node);
  if (conditions.length > 0) result.conditions = conditions;
  if (Array.isArray(node['Sort Key'])) result.sortKeys = node['Sort Key'].length;
  if (Array.isArray(node['Group Key'])) result.groupKeys = node['Group Key'].length;
  if (node.Plans) result.children = node.Plans.map(shape);
  return result;
}

function snapshotOf(scenario: ListPlanScenario): { text: string; values: unknown[] } {
  const file = readFileSync(join(process.cwd(), 'libs/cleanup-tasks/src/__plans__', `${scenario.file}.sql`), 'utf8');
  const lines = file.split('\n');
  const params = lines.find((line) => line.startsWith('-- params: '));
  if (!params) throw new Error(`${scenario.file}.sql has no params line`);
  return { text: lines.filter((line) => !line.startsWith('--')).join('\n').trim(), values: JSON.parse(params.slice('-- params: '.length)) as unknown[] };
}

describe('List statement plans (the eight bench:list scenarios)', () => {
  let sut: TestApp;
  const codec = new CursorCodec('plan-shape-test-secret-0123456789');

  beforeAll(async () => {
    sut = await createTestApp();
    const seed = readFileSync(join(process.cwd(), 'bench/list/seed-tasks.sql'), 'utf8').replaceAll(':scale', String(SEED_ROWS));
    // The seed's temporary tables and functions live in its own session.
    const client = sut.db.createClient('plan-shape-seed');
    await client.connect();
    try {
      await client.query(seed);
    } finally {
      await client.end();
    }
    await sut.app.get(CleanupTasksRepository).compactTaskCounts();
    await sut.db.query('VACUUM (ANALYZE) cleanup_tasks, cleanup_task_counts, cleanup_task_count_deltas');
  }, 120_000);

  afterAll(async () => {
    await sut?.close();
  });

  it('seeds data in which the fixed scenario inputs exist', async () => {
    const { rows } = await sut.db.query<{ tasks: number; event: number; app: number }>(
      `SELECT (SELECT count(*)::int FROM cleanup_tasks) AS tasks,
              (SELECT count(*)::int FROM cleanup_tasks WHERE source_event_id = $1) AS event,
              (SELECT count(*)::int FROM cleanup_tasks WHERE resource_id = $2) AS app`,
      [WS_0040_EVENT, WS_0040_APP],
    );
    expect(rows[0].tasks).toBeGreaterThan(SEED_ROWS * 0.8);
    expect(rows[0].event).toBeGreaterThan(0);
    expect(rows[0].app).toBe(1);
  });

  it.each(LIST_PLAN_SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s: same plan and rows as before', async (_name, scenario) => {
    const { criteria } = prepareTaskList(parseListQuery(scenario.params), scenario.scope ?? null, codec);
    const statement = listStatement(sut.dataSource, { ...criteria, ...(scenario.after ? { after: scenario.after } : {}) });
    const before = snapshotOf(scenario);
    const planOf = async (text: string, values: unknown[]) => {
      const { rows } = await sut.db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (COSTS OFF, FORMAT JSON) ${text}`, values);
      return shape(rows[0]['QUERY PLAN'][0].Plan);
    };
    expect(await planOf(statement.query, statement.parameters)).toEqual(await planOf(before.text, before.values));
    const { rows: got } = await sut.db.query(statement.query, statement.parameters);
    const { rows: expected } = await sut.db.query(before.text, before.values);
    expect(got).toEqual(expected);
  });
});
