import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ValidationFailedError } from '@app/common';
import { CursorCodec, StatementCache, cursorValuesOf } from '@app/query-dsl';
import { CLEANUP_TASK_QUERY_FIELDS } from './cleanup-task.query-fields';
import { DataSource } from 'typeorm';
import { CleanupTask } from './cleanup-task.entity';
import { buildListTemplate, listStatement, type TaskListCriteria, type TaskListOptions, type TaskListTemplate } from './cleanup-tasks.repository';
import { prepareTaskList } from './cleanup-tasks.service';
import { parseListQuery } from './dto/list-cleanup-tasks.query';

const codec = new CursorCodec('unit-test-cursor-secret-0123456789');
const prepare = (raw: Record<string, string>, scope: readonly string[] | null = null) => prepareTaskList(parseListQuery(raw), scope, codec);
const ROW = { id: 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV', createdAt: new Date('2026-01-02T03:04:05.678Z'), attempts: 2, status: 'failed' };

function errorsOf(run: () => unknown) {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationFailedError) return error.errors;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('prepareTaskList', () => {
  it('turns shortcuts and ids into conditions and keeps the default order', () => {
    const sut = prepare({ status: 'failed', workspace_id: 'ws_a', ids: `${ROW.id}` }, ['ws_a']);
    expect(sut.criteria).toMatchObject({
      orderBy: [{ field: 'createdAt' }, { field: 'id' }],
      conditions: [
        { kind: 'condition', field: 'status', operator: 'eq', value: 'failed' },
        { kind: 'condition', field: 'workspaceId', operator: 'eq', value: 'ws_a' },
        { kind: 'condition', field: 'id', operator: 'in', value: [ROW.id] },
      ],
      scope: ['ws_a'],
      limit: 100,
    });
  });

  it('reports filter, orderBy and shortcut problems together', () => {
    expect(errorsOf(() => prepare({ filter: '{"attempts":{"gt":"x"}}', orderBy: '[{"metadata":"asc"}]', workspace_id: 'a\u0000b' }))).toEqual([
      { path: 'orderBy[0].metadata', message: 'field is not sortable' },
      { path: 'filter.attempts.gt', message: 'expected integer' },
      { path: 'workspace_id', message: expect.stringContaining('NUL') },
    ]);
  });

  it('binds cursors to orderBy, filter (not its key order), shortcuts and ids — not to limit', () => {
    const base = prepare({ filter: '{"status":{"eq":"failed"},"attempts":{"gt":1}}' });
    const cursor = codec.encode(cursorValuesOf(ROW, base.criteria.orderBy, CLEANUP_TASK_QUERY_FIELDS), base.fingerprint);
    expect(prepare({ filter: '{"attempts":{"gt":1},"status":{"eq":"failed"}}', limit: '5', after: cursor }).criteria.after).toEqual([ROW.createdAt.toISOString(), ROW.id]);
    expect(prepare({ filter: '{"status":{"eq":"failed"},"attempts":{"gt":1}}', before: cursor }).criteria.before).toBeDefined();
    const foreign = { path: 'after', message: 'cursor does not belong to this query' };
    expect(errorsOf(() => prepare({ filter: '{"status":{"eq":"failed"}}', after: cursor }))).toEqual([foreign]);
    expect(errorsOf(() => prepare({ filter: '{"status":{"eq":"failed"},"attempts":{"gt":1}}', status: 'failed', after: cursor }))).toEqual([foreign]);
    expect(errorsOf(() => prepare({ filter: '{"status":{"eq":"failed"},"attempts":{"gt":1}}', ids: ROW.id, after: cursor }))).toEqual([foreign]);
    expect(errorsOf(() => prepare({ filter: '{"status":{"eq":"failed"},"attempts":{"gt":1}}', orderBy: '[{"createdAt":"desc"}]', after: cursor }))).toEqual([
      foreign,
    ]);
  });

  it('treats an empty filter as no filter, and ids as a set', () => {
    expect(prepare({ filter: '{}' }).fingerprint).toBe(prepare({}).fingerprint);
    const id2 = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TW';
    expect(prepare({ ids: `${ROW.id},${id2}` }).fingerprint).toBe(prepare({ ids: `${id2},${ROW.id},${id2}` }).fingerprint);
  });

  it('rejects malformed and tampered cursors, naming after and before', () => {
    const { fingerprint, criteria } = prepare({});
    const good = codec.encode(cursorValuesOf(ROW, criteria.orderBy, CLEANUP_TASK_QUERY_FIELDS), fingerprint);
    const tampered = `${good.slice(0, -2)}${good.endsWith('A') ? 'B' : 'A'}${good.slice(-1)}`;
    expect(errorsOf(() => prepare({ after: 'nope', before: tampered }))).toEqual([
      { path: 'after', message: 'malformed cursor' },
      { path: 'before', message: 'malformed cursor' },
    ]);
  });
});

describe('listStatement (TypeORM QueryBuilder)', () => {
  const dataSource = new DataSource({ type: 'postgres', entities: [CleanupTask] });
  const sut = (criteria: TaskListCriteria, options?: TaskListOptions) => listStatement(dataSource, criteria, options);
  const cursor = (criteria: TaskListCriteria, fingerprint: string, row: Record<string, unknown> = ROW, path: 'after' | 'before' = 'after') =>
    codec.decode(codec.encode(cursorValuesOf(row, criteria.orderBy, CLEANUP_TASK_QUERY_FIELDS), fingerprint), { orderBy: criteria.orderBy, spec: CLEANUP_TASK_QUERY_FIELDS, fingerprint, path });

  it('counts from the counters when only workspace, resource type and status are constrained, with the same predicate', () => {
    const statement = sut(prepare({ status: 'failed', filter: '{"OR":[{"resourceType":{"eq":"delete_app"}},{"NOT":{"workspaceId":{"in":["ws_b"]}}}]}' }, ['ws_a', 'ws_b']).criteria);
    const predicate = '"c"."workspace_id" = ANY(CAST($1 AS text[])) AND "c"."status" = $2 AND ("c"."resource_type" = $3 OR NOT("c"."workspace_id" = ANY(CAST($4 AS text[]))))';
    expect(statement.countedBy).toBe('counters');
    expect(statement.query).toContain(
      `CAST((SELECT coalesce(sum("x"."n"), 0) AS "total" FROM ((SELECT "c"."n" AS "n" FROM "cleanup_task_counts" "c" WHERE ${predicate}) ` +
        `UNION ALL (SELECT "c"."n" AS "n" FROM "cleanup_task_count_deltas" "c" WHERE ${predicate})) "x") AS bigint) AS "total"`,
    );
    // The page reads the same parameters.
    expect(statement.query).toContain('WHERE "t0"."workspace_id" = ANY(CAST($1 AS text[])) AND "t0"."status" = $2 AND ("t0"."resource_type" = $3 OR NOT("t0"."workspace_id" = ANY(CAST($4 AS text[]))))');
    expect(statement.parameters.slice(0, 4)).toEqual([['ws_a', 'ws_b'], 'failed', 'delete_app', ['ws_b']]);
  });

  it('counts the rows when anything else is constrained (ids, other fields, relations)', () => {
    const cases: Record<string, string>[] = [{ ids: ROW.id }, { parent_id: ROW.id }, { filter: '{"attempts":{"gt":1}}' }, { filter: '{"children":{"some":{"status":{"eq":"failed"}}}}' }];
    for (const raw of cases) {
      const statement = sut(prepare(raw).criteria);
      expect({ raw, countedBy: statement.countedBy }).toEqual({ raw, countedBy: 'rows' });
      expect(statement.query).toContain('CAST((SELECT count(*) AS "total" FROM "cleanup_tasks" "t0" WHERE');
    }
  });

  it('is one statement: total and probes first, then the page, skipped when the total is 0', () => {
    const { criteria, fingerprint } = prepare({ limit: '10' });
    const statement = sut({ ...criteria, after: cursor(criteria, fingerprint) }, { enumerateBelow: 77 });
    expect(statement.query).toMatch(
      /^WITH info AS MATERIALIZED \(SELECT CAST\(\(SELECT coalesce\(sum\("x"\."n"\), 0\) .*\) AS bigint\) AS "total", COALESCE\(\(SELECT TRUE FROM "cleanup_tasks" "t0" WHERE .* LIMIT 1\), FALSE\) AS "has_previous", CAST\(NULL AS boolean\) AS "has_next" FROM \(SELECT 1 AS dummy_column\) "dummy_table"\) /,
    );
    expect(statement.query).toContain(
      'FROM ("info" LEFT JOIN LATERAL (SELECT "t0"."id", "t0"."parent_id", "t0"."workspace_id", "t0"."source_event_id", "t0"."resource_type", "t0"."resource_id", "t0"."metadata", ' +
        '"t0"."status", "t0"."attempts", "t0"."last_error", "t0"."created_at", "t0"."completed_at" FROM "cleanup_tasks" "t0" ' +
        'WHERE ("t0"."created_at", "t0"."id") > (CAST($1 AS timestamptz), $2) AND "info"."total" > 0 ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 11) AS "p" ON TRUE) list',
    );
    expect(statement.query).not.toContain('UNION ALL (SELECT * FROM');
    expect(statement.query).toMatch(/\) list ORDER BY "list"\."created_at" ASC NULLS LAST, "list"\."id" ASC NULLS LAST$/);
    // The cursor's values are bound once, for the page and the probe.
    expect(statement.parameters).toEqual([ROW.createdAt.toISOString(), ROW.id]);
  });

  it('with relation traversal, enumerates the matches once (capped) and lets their number choose the plan', () => {
    const { criteria, fingerprint } = prepare({ limit: '10', filter: '{"children":{"some":{"status":{"eq":"failed"}}}}' });
    const statement = sut({ ...criteria, after: cursor(criteria, fingerprint) }, { enumerateBelow: 77 });
    expect(statement.query).toMatch(
      /^WITH matches AS MATERIALIZED \(SELECT "t0"."created_at", "t0"."id" FROM "cleanup_tasks" "t0" WHERE EXISTS \(.*\) LIMIT 78\), info AS MATERIALIZED \(SELECT CASE WHEN "m"."n" <= 77 THEN "m"."n" ELSE CAST\(\(SELECT count\(\*\) AS "total" FROM .*\) AS bigint\) END AS "total", /,
    );
    expect(statement.query).toContain(
      'CASE WHEN "m"."n" <= 77 THEN EXISTS (SELECT 1 FROM "matches" "t0" WHERE ("t0"."created_at", "t0"."id") <= (CAST($2 AS timestamptz), $3)) ELSE COALESCE((SELECT TRUE FROM',
    );
    expect(statement.query).toContain(' END AS "has_previous", CAST(NULL AS boolean) AS "has_next" FROM (SELECT count(*) AS "n" FROM "matches" "matches") "m")');
    expect(statement.query).toContain('AND "info"."total" > 77 ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 11) UNION ALL');
    expect(statement.query).toContain(
      '(SELECT "t0"."id" AS "id" FROM "matches" "t0" WHERE ("t0"."created_at", "t0"."id") > (CAST($2 AS timestamptz), $3) AND "info"."total" BETWEEN 1 AND 77 ' +
        'ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 11) "k" INNER JOIN "cleanup_tasks" "t0" ON "t0"."id" = "k"."id")',
    );
    expect(statement.parameters).toEqual(['failed', ROW.createdAt.toISOString(), ROW.id]);
  });

  it('pages a member of a few workspaces one workspace at a time, then merges (each an ordered index range)', () => {
    const statement = sut(prepare({ limit: '5' }, ['ws_a', 'ws_b', 'ws_a']).criteria);
    expect(statement.query).toContain(
      'LEFT JOIN LATERAL (SELECT * FROM ((SELECT "t0"."id", ' +
        '"t0"."parent_id", "t0"."workspace_id", "t0"."source_event_id", "t0"."resource_type", "t0"."resource_id", "t0"."metadata", "t0"."status", "t0"."attempts", "t0"."last_error", "t0"."created_at", "t0"."completed_at" ' +
        'FROM "cleanup_tasks" "t0" WHERE "t0"."workspace_id" = ANY(CAST($1 AS text[])) AND "t0"."workspace_id" = $2 AND "info"."total" > 0 ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST LIMIT 6) UNION ALL',
    );
    expect(statement.query).toContain('AND "t0"."workspace_id" = $3 AND "info"."total" > 0');
    expect(statement.query).toContain(')) "u" ORDER BY "u"."created_at" ASC NULLS LAST, "u"."id" ASC NULLS LAST LIMIT 6) AS "p" ON TRUE');
    // The scope is a set: bound without its repetition.
    expect(statement.parameters).toEqual([['ws_a', 'ws_b'], 'ws_a', 'ws_b']);
    expect(sut(prepare({}, Array.from({ length: 9 }, (_, i) => `ws_${i}`)).criteria).query).not.toContain(') "u" ORDER BY');
  });

  it('fetches backward pages in reversed order, both direction and NULLS', () => {
    const { criteria, fingerprint } = prepare({ orderBy: '[{"completedAt":"desc_nulls_last"}]' });
    const statement = sut({ ...criteria, before: cursor(criteria, fingerprint, { ...ROW, completedAt: null }, 'before') });
    expect(statement.page.direction).toBe('backward');
    expect(statement.query).toContain('ORDER BY "t0"."completed_at" ASC NULLS FIRST, "t0"."id" DESC NULLS FIRST LIMIT 101) AS "p" ON TRUE)');
    expect(statement.query).toMatch(/ORDER BY "list"."completed_at" ASC NULLS FIRST, "list"."id" DESC NULLS FIRST$/);
  });

  it('never puts a value into the SQL text', () => {
    const hostile = `x'); DROP TABLE cleanup_tasks; --`;
    const statement = sut(prepare({ workspace_id: hostile, filter: JSON.stringify({ lastError: { contains: hostile }, metadata: { contains: { [hostile]: hostile } } }) }, [hostile]).criteria);
    expect(statement.query).not.toContain('DROP');
    expect(statement.parameters).toEqual(expect.arrayContaining([hostile, `%${hostile.replace('_', '\\_')}%`, JSON.stringify({ [hostile]: hostile })]));
  });

  it('gives the same statement for the same request', () => {
    const raw = { filter: '{"OR":[{"parent":{"status":{"eq":"failed"}}},{"lastError":{"startsWith":"timeout"}}]}', orderBy: '[{"attempts":"desc"}]' };
    const [a, b] = [sut(prepare(raw, ['ws_a']).criteria), sut(prepare(raw, ['ws_a']).criteria)];
    expect([a.query, a.parameters]).toEqual([b.query, b.parameters]);
  });
});

describe('listStatement per request shape (StatementCache)', () => {
  const dataSource = new DataSource({ type: 'postgres', entities: [CleanupTask] });
  const options: TaskListOptions = { enumerateBelow: 50 };
  /** The statement built from the request itself, values and all: what a cached shape must reproduce. */
  const direct = (criteria: TaskListCriteria) => {
    const built = buildListTemplate(dataSource, criteria, options);
    return { query: built.query, parameters: built.bind([]), page: built.page, countedBy: built.countedBy };
  };

  it('builds a shape once and binds each request of it', () => {
    const cache = new StatementCache<TaskListTemplate>(10);
    const request = (resourceId: string, scope: string[]) => prepare({ filter: JSON.stringify({ resourceId: { startsWith: resourceId } }), limit: '5' }, scope).criteria;
    const first = listStatement(dataSource, request('app_1', ['ws_a', 'ws_b']), options, cache);
    const second = listStatement(dataSource, request('x%y', ['ws_c', 'ws_d']), options, cache);
    expect(cache.stats).toEqual({ hits: 1, misses: 1 });
    expect(second.query).toBe(first.query);
    expect(second.parameters).toEqual([['ws_c', 'ws_d'], 'x\\%y%', 'ws_c', 'ws_d']);
    expect(second).toEqual(direct(request('x%y', ['ws_c', 'ws_d'])));
    // Another shape: one workspace instead of two.
    listStatement(dataSource, request('app_1', ['ws_a']), options, cache);
    expect(cache.stats).toEqual({ hits: 1, misses: 2 });
  });

  // Small value domains, so that shapes recur with other values: a cached
  // statement must equal the one built from the request itself, whatever
  // came before it (a key that conflated two shapes would fail here).
  const text = fc.constantFrom('app_1', 'a%b', 'x_y', 'é', '');
  const condition = fc.oneof(
    fc.tuple(fc.constantFrom('eq', 'neq'), fc.constantFrom('failed', 'pending')).map(([op, value]) => ({ status: { [op]: value } })),
    fc.constantFrom('in', 'notIn').chain((op) => fc.subarray(['failed', 'pending', 'completed'], { minLength: 1 }).map((list) => ({ status: { [op]: list } }))),
    fc.tuple(fc.constantFrom('eq', 'startsWith', 'endsWith', 'contains', 'like', 'ilike'), text).map(([op, value]) => ({ resourceId: { [op]: value } })),
    fc.tuple(fc.constantFrom('gt', 'lte', 'eq'), fc.integer({ min: 0, max: 3 })).map(([op, value]) => ({ attempts: { [op]: value } })),
    fc.tuple(fc.constantFrom('gte', 'lt'), fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00Z')).map(([op, value]) => ({ createdAt: { [op]: value } })),
    fc.tuple(fc.constantFrom('lastError', 'completedAt', 'sourceEventId'), fc.boolean()).map(([field, value]) => ({ [field]: { isNull: value } })),
    fc.tuple(fc.constantFrom('contains', 'startsWith'), text).map(([op, value]) => ({ lastError: { [op]: value } })),
    fc.constantFrom({ region: 'eu' }, { region: 'us' }, { tags: ['a'] }).map((value) => ({ metadata: { contains: value } })),
    fc.constantFrom('region', 'tags').map((key) => ({ metadata: { hasKey: key } })),
  );
  const filter: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ node: Record<string, unknown> }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      condition,
      fc.array(tie('node'), { maxLength: 3 }).map((items) => ({ AND: items })),
      fc.array(tie('node'), { maxLength: 3 }).map((items) => ({ OR: items })),
      tie('node').map((item) => ({ NOT: item })),
      tie('node').map((item) => ({ parent: item })),
      fc.tuple(fc.constantFrom('some', 'every', 'none'), tie('node')).map(([quantifier, item]) => ({ children: { [quantifier]: item } })),
    ),
  })).node;
  const orderBy = fc.constantFrom(undefined, '[{"createdAt":"desc"}]', '[{"completedAt":"asc_nulls_first"},{"attempts":"desc"}]', '[{"resourceId":"asc"}]');
  const scope = fc.constantFrom(null, ['ws_a'], ['ws_b'], ['ws_a', 'ws_b'], ['ws_b', 'ws_a', 'ws_b'], Array.from({ length: 9 }, (_, i) => `ws_${i}`));
  const cursorRow = fc.record({
    id: fc.constantFrom(ROW.id, 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TW'),
    createdAt: fc.constantFrom(ROW.createdAt, new Date('2026-03-01T00:00:00.000Z')),
    completedAt: fc.constantFrom(null, new Date('2026-03-02T00:00:00.000Z')),
    attempts: fc.integer({ min: 0, max: 2 }),
    resourceId: text,
  });
  const request = fc.record({
    filter: fc.option(filter, { nil: undefined }),
    orderBy,
    status: fc.option(fc.constantFrom('failed', 'pending'), { nil: undefined }),
    limit: fc.constantFrom('1', '10'),
    scope,
    after: fc.option(cursorRow, { nil: undefined }),
    before: fc.option(cursorRow, { nil: undefined }),
  });

  it('gives every request the statement built from it, cached shape or not', () => {
    const cache = new StatementCache<TaskListTemplate>(1000);
    fc.assert(
      fc.property(request, (raw) => {
        const query: Record<string, string> = { limit: raw.limit };
        if (raw.filter) query.filter = JSON.stringify(raw.filter);
        if (raw.orderBy) query.orderBy = raw.orderBy;
        if (raw.status) query.status = raw.status;
        let criteria: TaskListCriteria;
        try {
          criteria = prepare(query, raw.scope).criteria;
        } catch (error) {
          if (error instanceof ValidationFailedError) return; // e.g. a filter nested too deep
          throw error;
        }
        const positioned = {
          ...criteria,
          // A scope is a set: the shape binds it without repetitions, which match nothing more.
          scope: criteria.scope && [...new Set(criteria.scope)],
          after: raw.after && cursorValuesOf(raw.after, criteria.orderBy, CLEANUP_TASK_QUERY_FIELDS),
          before: raw.before && cursorValuesOf(raw.before, criteria.orderBy, CLEANUP_TASK_QUERY_FIELDS),
        };
        expect(listStatement(dataSource, positioned, options, cache)).toEqual(direct(positioned));
      }),
      { numRuns: 1500, seed: 20261202 },
    );
    // The shapes recurred with other values (else this tested only builds).
    expect(cache.stats.hits).toBeGreaterThan(100);
  });
});
