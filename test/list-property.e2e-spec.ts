/**
 * Property-based differential test of GET /api/cleanup-tasks THROUGH THE HTTP
 * API against the in-memory reference evaluator (@app/query-dsl/testing):
 * random task forests (NULLs, ties, trees across workspaces, tricky strings),
 * random filters (every field and operator, AND/OR/NOT, parent/children),
 * random orderBy (every direction), limits, shortcuts, ids, for admin and
 * member tokens. For each query: the first page equals the reference's;
 * walking every page forward with `after` and backward with `before`
 * reproduces the full ordered result with no gaps or duplicates, with exact
 * `total`, `hasNextPage`, `hasPreviousPage` on every page; a page between two
 * cursors is the slice between them. Both page strategies (index walk and
 * enumeration) are exercised.
 *
 * Seeded and bounded: LIST_PROPERTY_SEED (default fixed) and
 * LIST_PROPERTY_RUNS; a failure prints the seed, the path and the
 * counterexample (re-run with the same seed to reproduce).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CleanupTasksRepository } from '@app/cleanup-tasks/cleanup-tasks.repository';
import { CLEANUP_TASK_DEFAULT_ORDER_BY, CLEANUP_TASK_QUERY_FIELDS } from '@app/cleanup-tasks/cleanup-task.query-fields';
import { RESOURCE_TYPES, TASK_STATUSES } from '@app/cleanup-tasks/cleanup-task.enums';
import { ORDER_DIRECTIONS, parseFilter, parseOrderBy } from '@app/query-dsl';
import { referenceList } from '@app/query-dsl/testing/reference-evaluator';
import { createTestApp, type TestApp } from './support/test-app';
import { listPage, taskId, type ListPage } from './support/list-helpers';
import { EVENTS, PRINCIPALS, WORKSPACES, datasetArb, filterArb, loadTasks, referenceConditions, shortcutParams, sometimes, type GeneratedTask } from './support/task-arbitraries';

const SEED = Number(process.env.LIST_PROPERTY_SEED ?? 20261129);
const RUNS = Number(process.env.LIST_PROPERTY_RUNS ?? 300);
const TIME_LIMIT_MS = 50_000;
const spec = CLEANUP_TASK_QUERY_FIELDS;

const orderByArb = fc
  .uniqueArray(fc.constantFrom(...Object.keys(spec.fields).filter((name) => spec.fields[name].sortable)), { maxLength: 3 })
  .chain((names) => fc.tuple(...names.map((name) => fc.constantFrom(...ORDER_DIRECTIONS).map((direction) => ({ [name]: direction })))));

function queryArb(rows: GeneratedTask[]) {
  const ids = rows.map((row) => row.id);
  return fc.record({
    principal: fc.constantFrom(...PRINCIPALS),
    filter: sometimes(filterArb(rows), 2, 5),
    orderBy: sometimes(orderByArb, 1, 3),
    limit: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 12 })),
    status: sometimes(fc.constantFrom(...TASK_STATUSES), 8),
    resourceType: sometimes(fc.constantFrom(...RESOURCE_TYPES), 8),
    workspaceId: sometimes(fc.constantFrom(...WORKSPACES), 8),
    parentId: ids.length > 0 ? sometimes(fc.constantFrom(...ids), 8) : fc.constant(null),
    sourceEventId: sometimes(fc.constantFrom(...EVENTS), 8),
    ids: sometimes(fc.subarray([...ids, taskId(10_001)], { minLength: 1 }), 8),
  });
}
type Query = ReturnType<typeof queryArb> extends fc.Arbitrary<infer T> ? T : never;

describe('List [GET /api/cleanup-tasks] equals the reference evaluator (property-based, through HTTP)', () => {
  let sut: TestApp;
  let repository: CleanupTasksRepository;
  const tokens = () => ({ admin: sut.tokens.admin, member: sut.tokens.member, otherMember: sut.tokens.otherMember });

  beforeAll(async () => {
    sut = await createTestApp();
    repository = sut.app.get(CleanupTasksRepository);
  });
  afterAll(async () => {
    await sut.close();
  });

  /** The reference answer: the whole ordered list of ids the query must page through. */
  function expectedIds(rows: GeneratedTask[], query: Query): string[] {
    const scope = query.principal.scope;
    return referenceList(rows, {
      spec,
      filter: query.filter ? parseFilter(query.filter, spec) : undefined,
      conditions: referenceConditions(query),
      scope: scope ? (row) => (scope as readonly string[]).includes(row.workspaceId as string) : undefined,
      orderBy: parseOrderBy(query.orderBy ?? undefined, spec, { defaultOrderBy: CLEANUP_TASK_DEFAULT_ORDER_BY }),
    }).map((row) => row.id as string);
  }

  function params(query: Query): Record<string, unknown> {
    const result: Record<string, unknown> = { limit: String(query.limit), ...shortcutParams(query) };
    if (query.filter) result.filter = query.filter;
    if (query.orderBy) result.orderBy = query.orderBy;
    return result;
  }

  /** Checks every page of one query against the expected list; bounded by the list's length. */
  async function checkQuery(rows: GeneratedTask[], query: Query): Promise<void> {
    const expected = expectedIds(rows, query);
    const token = tokens()[query.principal.name];
    const base = params(query);
    const limit = query.limit;
    const n = expected.length;
    const ids = (page: ListPage) => page.data.map((task) => task.id as string);
    const expectPage = (page: ListPage, from: number, to: number, label: string) => {
      const slice = expected.slice(from, to);
      expect({ label, ids: ids(page), total: page.pageInfo.total, hasPreviousPage: page.pageInfo.hasPreviousPage, hasNextPage: page.pageInfo.hasNextPage }).toEqual({
        label,
        ids: slice,
        total: n,
        hasPreviousPage: slice.length > 0 ? from > 0 : label.startsWith('after') ? n > 0 : false,
        hasNextPage: slice.length > 0 ? to < n : label.startsWith('before') ? n > 0 : false,
      });
    };

    // Forward: every page, from the start.
    const forward: ListPage[] = [];
    let after: string | undefined;
    for (let k = 0; k <= Math.ceil(n / limit); k++) {
      const page = await listPage(sut, token, { ...base, ...(after ? { after } : {}) });
      expectPage(page, k * limit, Math.min(n, (k + 1) * limit), k === 0 ? 'first' : `forward ${k}`);
      forward.push(page);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(forward.flatMap(ids)).toEqual(expected);
    if (n === 0) return;

    // Backward: from the last page's startCursor to the start.
    const lastStart = (forward.length - 1) * limit;
    let before = forward[forward.length - 1].pageInfo.startCursor!;
    const backward: string[] = [];
    let end = lastStart;
    for (let k = 0; k <= Math.ceil(n / limit) && end > 0; k++) {
      const page = await listPage(sut, token, { ...base, before });
      expectPage(page, Math.max(0, end - limit), end, `backward ${k}`);
      backward.unshift(...ids(page));
      end = Math.max(0, end - limit);
      before = page.pageInfo.startCursor!;
    }
    expect([...backward, ...ids(forward[forward.length - 1])]).toEqual(expected);

    // Between two page boundaries, and an empty page past the end.
    if (forward.length >= 3) {
      const between = await listPage(sut, token, { ...base, limit: '100', after: forward[0].pageInfo.endCursor!, before: forward[forward.length - 1].pageInfo.startCursor! });
      expectPage(between, limit, lastStart, 'between');
    }
    const past = await listPage(sut, token, { ...base, after: forward[forward.length - 1].pageInfo.endCursor! });
    expectPage(past, n, n, 'after the end');
  }

  it('pages every random query exactly like the reference, both ways', async () => {
    const property = fc.asyncProperty(
      datasetArb.chain((rows) => fc.tuple(fc.constant(rows), fc.array(queryArb(rows), { minLength: 2, maxLength: 3 }), fc.constantFrom(0, 3, 1_000_000))),
      async ([rows, queries, enumerateBelow]) => {
        await loadTasks(sut.dataSource, rows);
        repository.listOptions.enumerateBelow = enumerateBelow;
        for (const query of queries) await checkQuery(rows, query);
      },
    );
    const details = await fc.check(property, { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false });
    repository.listOptions.enumerateBelow = 5000;
    if (details.failed) {
      throw new Error(
        `property failed (seed ${details.seed}, path "${details.counterexamplePath}"; re-run with LIST_PROPERTY_SEED=${details.seed}):\n` +
          `${JSON.stringify(details.counterexample, null, 1)?.slice(0, 6000)}\n${String(details.errorInstance instanceof Error ? details.errorInstance.message : details.errorInstance).slice(0, 6000)}`,
      );
    }
    expect(details.numRuns).toBeGreaterThanOrEqual(Math.min(RUNS, 10));
    // Pages after the first repeat their query's shape with a cursor's values:
    // the statements cached per shape (StatementCache) answered them too.
    expect(repository.listStatements.stats.hits).toBeGreaterThan(0);
  }, 120_000);
});
