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
import { ORDER_DIRECTIONS, filterNodes, parseEqualityShortcut, parseFilter, parseOrderBy, type FilterNode } from '@app/query-dsl';
import { referenceList, type ReferenceRow } from '@app/query-dsl/testing/reference-evaluator';
import { createTestApp, type TestApp } from './support/test-app';
import { listPage, taskId, type ListPage } from './support/list-helpers';

const SEED = Number(process.env.LIST_PROPERTY_SEED ?? 20261129);
const RUNS = Number(process.env.LIST_PROPERTY_RUNS ?? 300);
const TIME_LIMIT_MS = 50_000;
const spec = CLEANUP_TASK_QUERY_FIELDS;

const WORKSPACES = ['ws_alpha', 'ws_beta', 'ws_gamma', 'ws_delta'];
const PRINCIPALS = [
  { name: 'admin', scope: null },
  { name: 'member', scope: ['ws_alpha', 'ws_beta'] },
  { name: 'otherMember', scope: ['ws_gamma'] },
] as const;
const STRINGS = ['a%b', 'a_b', 'a\\b', 'app_1', 'APP_1', 'é', 'É', 'z😀', 'zé', 'Zeta', 'zeta', '', 'x_y%z', 'ws_alpha'];
const ERRORS = ['timeout after 30s', 'Timeout', 'permission denied', 'boom', '100%_done', 'é!'];
const EVENTS = ['evt_1', 'evt_2', 'EVT_1', 'evt_%'];
const TIMES = ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.001Z', '2026-01-02T00:00:00.000Z', '2025-12-31T23:59:59.999Z'];
const METADATA = [{}, { region: 'eu' }, { region: 'us', tags: ['a', 'b'] }, { n: null }, { nested: { k: 1 } }, { tags: ['b'] }, { a: 1, region: 'eu' }];

interface TaskRow extends ReferenceRow {
  id: string;
  parentId: string | null;
  workspaceId: string;
  sourceEventId: string | null;
  resourceType: string;
  resourceId: string;
  metadata: Record<string, unknown>;
  status: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** A forest of up to 30 tasks: parents come first, ids are random (their order unrelated to createdAt). */
const datasetArb = fc
  .integer({ min: 0, max: 30 })
  .chain((size) => fc.array(
    fc.record({
      parent: fc.option(fc.nat(), { freq: 2 }),
      workspace: fc.constantFrom(...WORKSPACES),
      inheritWorkspace: fc.boolean(),
      resourceType: fc.constantFrom(...RESOURCE_TYPES),
      resourceId: fc.constantFrom(...STRINGS),
      sourceEventId: fc.option(fc.constantFrom(...EVENTS)),
      status: fc.constantFrom(...TASK_STATUSES),
      attempts: fc.integer({ min: 0, max: 3 }),
      lastError: fc.option(fc.constantFrom(...ERRORS)),
      createdAt: fc.constantFrom(...TIMES),
      completedAt: fc.constantFrom(...TIMES),
      metadata: fc.constantFrom(...METADATA),
    }),
    { minLength: size, maxLength: size },
  ))
  .chain((drafts) => fc.tuple(fc.constant(drafts), fc.uniqueArray(fc.integer({ min: 1, max: 9999 }), { minLength: drafts.length, maxLength: drafts.length })))
  .map(([drafts, numbers]) => {
    const rows: TaskRow[] = [];
    const keys = new Set<string>();
    drafts.forEach((draft, i) => {
      const parent = draft.parent !== null && i > 0 ? rows[draft.parent % i] : null;
      let resourceId = draft.resourceId;
      // cleanup_tasks_child_key / root_event_key: (parent|event, type, resource) is unique.
      const key = () => `${parent?.id ?? `root:${draft.sourceEventId}`}|${draft.resourceType}|${resourceId}`;
      if (keys.has(key())) resourceId = `${resourceId}#${i}`;
      keys.add(key());
      rows.push({
        id: taskId(numbers[i]),
        parentId: parent?.id ?? null,
        workspaceId: parent && draft.inheritWorkspace ? parent.workspaceId : draft.workspace,
        sourceEventId: draft.sourceEventId,
        resourceType: draft.resourceType,
        resourceId,
        metadata: draft.metadata,
        status: draft.status,
        attempts: draft.attempts,
        lastError: draft.lastError,
        createdAt: draft.createdAt,
        completedAt: draft.status === 'completed' ? draft.completedAt : null,
      });
    });
    return rows;
  });

function valueArb(name: string, operator: string, rows: TaskRow[]): fc.Arbitrary<unknown> {
  const field = spec.fields[name];
  const ids = [...rows.map((row) => row.id), taskId(10_000)];
  const scalar = (): fc.Arbitrary<unknown> => {
    switch (field.type) {
      case 'enum':
        return fc.constantFrom(...field.enumValues!);
      case 'integer':
        return fc.integer({ min: -1, max: 4 });
      case 'timestamp':
        return fc.constantFrom(...TIMES, '2026-01-01', '2026-01-01T01:00:00+01:00', '2026-01-01T00:00:00.0005Z');
      default:
        if (name === 'id' || name === 'parentId') return fc.constantFrom(...ids);
        if (name === 'workspaceId') return fc.constantFrom(...WORKSPACES, 'ws_');
        if (name === 'sourceEventId') return fc.constantFrom(...EVENTS);
        if (name === 'lastError') return fc.constantFrom(...ERRORS);
        return fc.constantFrom(...STRINGS);
    }
  };
  switch (operator) {
    case 'isNull':
      return fc.boolean();
    case 'in':
    case 'notIn':
      return fc.array(scalar(), { minLength: 1, maxLength: 3 });
    case 'contains':
      if (field.type === 'json') return fc.constantFrom({ region: 'eu' }, { tags: ['b'] }, { nested: { k: 1 } }, { n: null }, {}, { a: 1 });
      return fc.constantFrom('%', '_', '\\', 'a', 'A', '_1', 'ws', 'é', '', 'out');
    case 'hasKey':
      return fc.constantFrom('region', 'tags', 'n', 'k', 'zz');
    case 'startsWith':
    case 'endsWith':
      return fc.constantFrom('%', '_', 'a', 'A', 'ws_', 'evt', 'z', 'é', '1', '');
    case 'like':
    case 'ilike':
      return fc.constantFrom('%', 'a%', '%\\_%', '_', '%1', 'A%', 'ws\\_%', '%é%', 'z_', '%OUT%', 'evt\\_%');
    default:
      return scalar();
  }
}

function filterArb(rows: TaskRow[]): fc.Arbitrary<Record<string, unknown>> {
  const condition = fc
    .constantFrom(...Object.keys(spec.fields))
    .chain((name) => fc.constantFrom(...spec.fields[name].operators).chain((operator) => valueArb(name, operator, rows).map((value) => ({ [name]: { [operator]: value } }))));
  const { node } = fc.letrec<{ node: Record<string, unknown> }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 3, depthIdentifier: 'filter' },
      condition,
      fc.tuple(condition, condition).map(([a, b]) => ({ ...a, ...b })),
      fc.array(tie('node'), { maxLength: 2 }).map((items) => ({ AND: items })),
      fc.array(tie('node'), { maxLength: 3 }).map((items) => ({ OR: items })),
      tie('node').map((item) => ({ NOT: item })),
      tie('node').map((item) => ({ parent: item })),
      fc.tuple(fc.constantFrom('some', 'every', 'none'), tie('node')).map(([quantifier, item]) => ({ children: { [quantifier]: item } })),
    ),
  }));
  return node;
}

const orderByArb = fc
  .uniqueArray(fc.constantFrom(...Object.keys(spec.fields).filter((name) => spec.fields[name].sortable)), { maxLength: 3 })
  .chain((names) => fc.tuple(...names.map((name) => fc.constantFrom(...ORDER_DIRECTIONS).map((direction) => ({ [name]: direction })))));

/** `value` with weight `valueWeight` against null's `nullWeight`. */
function sometimes<T>(value: fc.Arbitrary<T>, nullWeight: number, valueWeight = 1): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: nullWeight, arbitrary: fc.constant(null) }, { weight: valueWeight, arbitrary: value });
}

function queryArb(rows: TaskRow[]) {
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

const SHORTCUTS = { status: 'status', resourceType: 'resource_type', workspaceId: 'workspace_id', parentId: 'parent_id', sourceEventId: 'source_event_id' } as const;

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

  async function load(rows: TaskRow[]): Promise<void> {
    await sut.dataSource.query('DELETE FROM cleanup_tasks');
    if (rows.length === 0) return;
    await sut.dataSource.query(
      `INSERT INTO cleanup_tasks (id, parent_id, workspace_id, source_event_id, resource_type, resource_id, metadata, status, attempts, last_error, created_at, completed_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::int[], $10::text[], $11::timestamptz[], $12::timestamptz[])`,
      [
        rows.map((r) => r.id), rows.map((r) => r.parentId), rows.map((r) => r.workspaceId), rows.map((r) => r.sourceEventId),
        rows.map((r) => r.resourceType), rows.map((r) => r.resourceId), rows.map((r) => JSON.stringify(r.metadata)), rows.map((r) => r.status),
        rows.map((r) => r.attempts), rows.map((r) => r.lastError), rows.map((r) => r.createdAt), rows.map((r) => r.completedAt),
      ],
    );
  }

  /** The reference answer: the whole ordered list of ids the query must page through. */
  function expectedIds(rows: TaskRow[], query: Query): string[] {
    const conditions: FilterNode[] = [];
    for (const [field, wire] of Object.entries(SHORTCUTS) as [keyof typeof SHORTCUTS, string][]) {
      const value = query[field];
      if (value !== null) conditions.push(parseEqualityShortcut(spec, field, value, wire));
    }
    if (query.ids) conditions.push(filterNodes.in('id', [...new Set(query.ids)]));
    const scope = query.principal.scope;
    return referenceList(rows, {
      spec,
      filter: query.filter ? parseFilter(query.filter, spec) : undefined,
      conditions,
      scope: scope ? (row) => (scope as readonly string[]).includes(row.workspaceId as string) : undefined,
      orderBy: parseOrderBy(query.orderBy ?? undefined, spec, { defaultOrderBy: CLEANUP_TASK_DEFAULT_ORDER_BY }),
    }).map((row) => row.id as string);
  }

  function params(query: Query): Record<string, unknown> {
    const result: Record<string, unknown> = { limit: String(query.limit) };
    if (query.filter) result.filter = query.filter;
    if (query.orderBy) result.orderBy = query.orderBy;
    for (const [field, wire] of Object.entries(SHORTCUTS) as [keyof typeof SHORTCUTS, string][]) {
      if (query[field] !== null) result[wire] = query[field];
    }
    if (query.ids) result.ids = query.ids.join(',');
    return result;
  }

  /** Checks every page of one query against the expected list; bounded by the list's length. */
  async function checkQuery(rows: TaskRow[], query: Query): Promise<void> {
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
        await load(rows);
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
  }, 120_000);
});
