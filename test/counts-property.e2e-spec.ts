/**
 * Property-based differential test of GET /api/cleanup-tasks/counts THROUGH
 * THE HTTP API against the in-memory reference evaluator
 * (@app/query-dsl/testing, the list's oracle): random task forests, random
 * filters, shortcuts and ids, groupBy of one or two fields, for admin and
 * member tokens. For each query the answer must equal the reference's
 * matching tasks grouped, counted and sorted by byte order, with `total`
 * their number. Half the queries read only the counted fields (answered
 * from the counters), half anything (answered by a GROUP BY); the test
 * checks that both paths ran.
 *
 * Seeded and bounded: COUNTS_PROPERTY_SEED (default fixed) and
 * COUNTS_PROPERTY_RUNS; a failure prints the seed, the path and the
 * counterexample (re-run with the same seed to reproduce).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import request from 'supertest';
import { CleanupTasksRepository } from '@app/cleanup-tasks/cleanup-tasks.repository';
import { CLEANUP_TASK_DEFAULT_ORDER_BY, CLEANUP_TASK_QUERY_FIELDS } from '@app/cleanup-tasks/cleanup-task.query-fields';
import { RESOURCE_TYPES, TASK_STATUSES } from '@app/cleanup-tasks/cleanup-task.enums';
import { COUNT_GROUP_FIELDS, type CountGroupName } from '@app/cleanup-tasks/dto/count-cleanup-tasks.query';
import { parseFilter, parseOrderBy } from '@app/query-dsl';
import { referenceList } from '@app/query-dsl/testing/reference-evaluator';
import { taskId } from './support/list-helpers';
import { createTestApp, type TestApp } from './support/test-app';
import { EVENTS, PRINCIPALS, WORKSPACES, datasetArb, filterArb, loadTasks, referenceConditions, shortcutParams, sometimes, type GeneratedTask } from './support/task-arbitraries';

const SEED = Number(process.env.COUNTS_PROPERTY_SEED ?? 20261205);
const RUNS = Number(process.env.COUNTS_PROPERTY_RUNS ?? 200);
const TIME_LIMIT_MS = 30_000;
const spec = CLEANUP_TASK_QUERY_FIELDS;
const ORDER_BY = parseOrderBy(undefined, spec, { defaultOrderBy: CLEANUP_TASK_DEFAULT_ORDER_BY });
/** What the counters count (and so what a query answered from them may read). */
const COUNTED_FIELDS = ['workspaceId', 'resourceType', 'status'];

const groupByArb = fc.uniqueArray(fc.constantFrom(...(Object.keys(COUNT_GROUP_FIELDS) as CountGroupName[])), { minLength: 1, maxLength: 2 });

function queryArb(rows: GeneratedTask[]) {
  const ids = rows.map((row) => row.id);
  const principal = fc.constantFrom(...PRINCIPALS);
  const shortcut = <T>(values: readonly T[], weight: number) => sometimes(fc.constantFrom(...values), weight);
  // Only the counted fields: the counters path.
  const counted = fc.record({
    principal,
    groupBy: groupByArb,
    filter: sometimes(filterArb(rows, { fields: COUNTED_FIELDS, relations: false }), 1, 3),
    status: shortcut(TASK_STATUSES, 4),
    resourceType: shortcut(RESOURCE_TYPES, 4),
    workspaceId: shortcut([...WORKSPACES, 'ws_none'], 4),
    parentId: fc.constant(null),
    sourceEventId: fc.constant(null),
    ids: fc.constant(null),
  });
  // Anything the list takes: mostly the GROUP BY path.
  const any = fc.record({
    principal,
    groupBy: groupByArb,
    filter: sometimes(filterArb(rows), 1, 5),
    status: shortcut(TASK_STATUSES, 8),
    resourceType: shortcut(RESOURCE_TYPES, 8),
    workspaceId: shortcut(WORKSPACES, 8),
    parentId: ids.length > 0 ? shortcut(ids, 8) : fc.constant(null),
    sourceEventId: shortcut(EVENTS, 8),
    ids: sometimes(fc.subarray([...ids, taskId(10_001)], { minLength: 1 }), 8),
  });
  return fc.oneof(counted, any);
}
type Query = ReturnType<typeof queryArb> extends fc.Arbitrary<infer T> ? T : never;

/** UTF-8 byte order, as COLLATE "C" sorts. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** The reference answer: the matching tasks grouped, counted, sorted by the groupBy fields in order. */
function expectedCounts(rows: GeneratedTask[], query: Query) {
  const scope = query.principal.scope;
  const matching = referenceList(rows, {
    spec,
    filter: query.filter ? parseFilter(query.filter, spec) : undefined,
    conditions: referenceConditions(query),
    scope: scope ? (row) => (scope as readonly string[]).includes(row.workspaceId as string) : undefined,
    orderBy: ORDER_BY,
  });
  const fields = query.groupBy.map((name) => COUNT_GROUP_FIELDS[name]);
  const groups = new Map<string, { values: string[]; count: number }>();
  for (const row of matching) {
    const values = fields.map((field) => row[field] as string);
    const key = JSON.stringify(values);
    const group = groups.get(key) ?? { values, count: 0 };
    group.count++;
    groups.set(key, group);
  }
  const sorted = [...groups.values()].sort((a, b) => {
    for (let i = 0; i < fields.length; i++) {
      const order = byteOrder(a.values[i], b.values[i]);
      if (order !== 0) return order;
    }
    return 0;
  });
  return {
    total: matching.length,
    groups: sorted.map((group) => ({ ...Object.fromEntries(fields.map((field, i) => [field, group.values[i]])), count: group.count })),
  };
}

describe('Counts [GET /api/cleanup-tasks/counts] equal the reference evaluator (property-based, through HTTP)', () => {
  let sut: TestApp;
  const paths = { counters: 0, rows: 0 };
  const tokens = () => ({ admin: sut.tokens.admin, member: sut.tokens.member, otherMember: sut.tokens.otherMember });

  beforeAll(async () => {
    sut = await createTestApp();
    // Which path answered (the counters or a GROUP BY): the real method, observed.
    const repository = sut.app.get(CleanupTasksRepository);
    const original = repository.counts.bind(repository);
    repository.counts = async (criteria) => {
      const result = await original(criteria);
      paths[result.countedBy]++;
      return result;
    };
  });
  afterAll(async () => {
    await sut.close();
  });

  async function checkQuery(rows: GeneratedTask[], query: Query): Promise<void> {
    const params: Record<string, string> = { groupBy: query.groupBy.join(','), ...shortcutParams(query) };
    if (query.filter) params.filter = JSON.stringify(query.filter);
    const response = await request(sut.server).get('/api/cleanup-tasks/counts').query(params).auth(tokens()[query.principal.name], { type: 'bearer' });
    expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: expectedCounts(rows, query) });
    // Keys in the groupBy order, then the count.
    for (const group of response.body.groups as Record<string, unknown>[]) {
      expect(Object.keys(group)).toEqual([...query.groupBy.map((name) => COUNT_GROUP_FIELDS[name]), 'count']);
    }
  }

  it('counts every random query exactly like the reference, from the counters and by GROUP BY', async () => {
    const compactor = sut.app.get(CleanupTasksRepository);
    const property = fc.asyncProperty(
      datasetArb.chain((rows) => fc.tuple(fc.constant(rows), fc.array(queryArb(rows), { minLength: 2, maxLength: 4 }), fc.boolean())),
      async ([rows, queries, compact]) => {
        await loadTasks(sut.dataSource, rows);
        // Half the runs read the counters folded, half with the load's deltas still pending.
        if (compact) await compactor.compactTaskCounts();
        for (const query of queries) await checkQuery(rows, query);
      },
    );
    const details = await fc.check(property, { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false });
    if (details.failed) {
      throw new Error(
        `property failed (seed ${details.seed}, path "${details.counterexamplePath}"; re-run with COUNTS_PROPERTY_SEED=${details.seed}):\n` +
          `${JSON.stringify(details.counterexample, null, 1)?.slice(0, 6000)}\n${String(details.errorInstance instanceof Error ? details.errorInstance.message : details.errorInstance).slice(0, 6000)}`,
      );
    }
    expect(details.numRuns).toBeGreaterThanOrEqual(Math.min(RUNS, 10));
    expect(paths.counters).toBeGreaterThanOrEqual(20);
    expect(paths.rows).toBeGreaterThanOrEqual(20);
  }, 90_000);
});
