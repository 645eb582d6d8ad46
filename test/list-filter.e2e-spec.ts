import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { insertTasks, createTestApp, type TestApp } from './support/test-app';
import { list, listPage, taskId, walkBackward, walkForward } from './support/list-helpers';

/**
 * Eight tasks, two trees and a loner, chosen so that every operator of every
 * field type separates them; R8 is a child of an alpha task living in
 * ws_gamma (outside the member token's scope), to show that relation
 * traversal never sees out-of-scope tasks. Ids are in label order and
 * createdAt never decreases with it, so the default order is R1…R8.
 */
const R = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`R${i + 1}`, taskId(i + 1)])) as Record<string, string>;
const T1 = '2026-01-01T00:00:00.000Z';
const T2 = '2026-01-02T00:00:00.000Z';
const T3 = '2026-01-03T00:00:00.000Z';
const T4 = '2026-01-04T12:00:00.000Z';
const T5 = '2026-01-05T00:00:00.000Z';
const ROWS = [
  { id: R.R1, workspaceId: 'ws_alpha', resourceType: 'delete_workspace', resourceId: 'ws_alpha', sourceEventId: 'evt_1', status: 'completed', attempts: 1, createdAt: T1, completedAt: '2026-01-01T01:00:00.000Z', metadata: { region: 'eu', tags: ['a', 'b'] } },
  { id: R.R2, parentId: R.R1, workspaceId: 'ws_alpha', resourceType: 'delete_app', resourceId: 'app_%1', sourceEventId: 'evt_1', status: 'failed', attempts: 5, lastError: 'Timeout after 30s', createdAt: T2, metadata: { region: 'us', size: 3 } },
  { id: R.R3, parentId: R.R1, workspaceId: 'ws_alpha', resourceType: 'delete_database', resourceId: 'db_1', sourceEventId: 'evt_1', status: 'pending', attempts: 0, createdAt: T2, metadata: {} },
  { id: R.R4, parentId: R.R2, workspaceId: 'ws_alpha', resourceType: 'delete_element', resourceId: 'el_a_b', sourceEventId: 'evt_1', status: 'failed', attempts: 3, lastError: 'permission denied', createdAt: T3, metadata: { region: 'eu' } },
  { id: R.R5, workspaceId: 'ws_beta', resourceType: 'delete_workspace', resourceId: 'ws_beta', status: 'in_progress', attempts: 2, lastError: 'connection reset', createdAt: T3, metadata: { nested: { k: 1 } } },
  { id: R.R6, workspaceId: 'ws_gamma', resourceType: 'delete_workspace', resourceId: 'ws_gamma', sourceEventId: 'evt_2', status: 'completed', attempts: 1, createdAt: T4, completedAt: T5, metadata: { region: 'eu' } },
  { id: R.R7, parentId: R.R6, workspaceId: 'ws_gamma', resourceType: 'delete_app', resourceId: 'app_x', sourceEventId: 'evt_2', status: 'completed', attempts: 2, lastError: 'timeout after 10s', createdAt: T5, completedAt: '2026-01-05T06:00:00.000Z', metadata: {} },
  { id: R.R8, parentId: R.R1, workspaceId: 'ws_gamma', resourceType: 'delete_app', resourceId: 'APP_Y', sourceEventId: 'evt_1', status: 'failed', attempts: 1, lastError: 'boom', createdAt: T5, metadata: { region: 'EU' } },
] as const;
const ALL = Object.keys(R);
const labels = (ids: string[]) => ids.map((id) => ALL.find((label) => R[label] === id) ?? id);
const except = (...excluded: string[]) => ALL.filter((label) => !excluded.includes(label));

// [operator case, filter, expected labels for an admin]. Strings compare by byte order ('APP_Y' < 'app_%1' < 'app_x').
const OPERATOR_CASES: [string, Record<string, unknown>, string[]][] = [
  // string, non-null (resourceId; also id, workspaceId)
  ['string eq', { resourceId: { eq: 'db_1' } }, ['R3']],
  ['string neq', { resourceId: { neq: 'db_1' } }, except('R3')],
  ['string in', { resourceId: { in: ['db_1', 'app_x', 'nope'] } }, ['R3', 'R7']],
  ['string notIn', { resourceId: { notIn: ['db_1', 'app_x'] } }, except('R3', 'R7')],
  ['string lt (byte order)', { resourceId: { lt: 'app_x' } }, ['R2', 'R8']],
  ['string lte', { resourceId: { lte: 'app_x' } }, ['R2', 'R7', 'R8']],
  ['string gt', { resourceId: { gt: 'ws_beta' } }, ['R6']],
  ['string gte', { resourceId: { gte: 'ws_beta' } }, ['R5', 'R6']],
  ['string isNull true', { resourceId: { isNull: true } }, []],
  ['string isNull false', { resourceId: { isNull: false } }, ALL],
  ['string contains is literal (%)', { resourceId: { contains: '%' } }, ['R2']],
  ['string contains is literal (_)', { resourceId: { contains: 'p_%' } }, ['R2']],
  ['string startsWith is case-sensitive', { resourceId: { startsWith: 'app_' } }, ['R2', 'R7']],
  ['string endsWith is literal', { resourceId: { endsWith: '_1' } }, ['R3']],
  ['string like', { resourceId: { like: 'ws\\_%' } }, ['R1', 'R5', 'R6']],
  ['string ilike', { resourceId: { ilike: 'APP%' } }, ['R2', 'R7', 'R8']],
  ['id eq', { id: { eq: R.R4 } }, ['R4']],
  ['id in', { id: { in: [R.R4, R.R1, taskId(99)] } }, ['R1', 'R4']],
  ['id gt', { id: { gt: R.R6 } }, ['R7', 'R8']],
  ['workspaceId eq', { workspaceId: { eq: 'ws_beta' } }, ['R5']],
  ['workspaceId startsWith', { workspaceId: { startsWith: 'ws_g' } }, ['R6', 'R7', 'R8']],
  // string, nullable (lastError; also parentId, sourceEventId)
  ['nullable string eq', { lastError: { eq: 'boom' } }, ['R8']],
  ['nullable string neq is true for NULL', { lastError: { neq: 'boom' } }, except('R8')],
  ['nullable string in', { lastError: { in: ['boom', 'permission denied'] } }, ['R4', 'R8']],
  ['nullable string notIn is true for NULL', { lastError: { notIn: ['boom'] } }, except('R8')],
  ['nullable string lt', { lastError: { lt: 'boom' } }, ['R2']],
  ['nullable string lte', { lastError: { lte: 'boom' } }, ['R2', 'R8']],
  ['nullable string gt', { lastError: { gt: 'permission denied' } }, ['R7']],
  ['nullable string gte', { lastError: { gte: 'permission denied' } }, ['R4', 'R7']],
  ['nullable string isNull true', { lastError: { isNull: true } }, ['R1', 'R3', 'R6']],
  ['nullable string isNull false', { lastError: { isNull: false } }, ['R2', 'R4', 'R5', 'R7', 'R8']],
  ['nullable string contains', { lastError: { contains: 'imeout' } }, ['R2', 'R7']],
  ['nullable string startsWith', { lastError: { startsWith: 'timeout' } }, ['R7']],
  ['nullable string endsWith', { lastError: { endsWith: 's' } }, ['R2', 'R7']],
  ['nullable string like', { lastError: { like: '%out%' } }, ['R2', 'R7']],
  ['nullable string ilike', { lastError: { ilike: 'TIMEOUT%' } }, ['R2', 'R7']],
  ['parentId eq', { parentId: { eq: R.R1 } }, ['R2', 'R3', 'R8']],
  ['parentId isNull', { parentId: { isNull: true } }, ['R1', 'R5', 'R6']],
  ['sourceEventId neq is true for NULL', { sourceEventId: { neq: 'evt_1' } }, ['R5', 'R6', 'R7']],
  ['sourceEventId in', { sourceEventId: { in: ['evt_2'] } }, ['R6', 'R7']],
  // enums
  ['enum eq', { status: { eq: 'failed' } }, ['R2', 'R4', 'R8']],
  ['enum neq', { status: { neq: 'completed' } }, ['R2', 'R3', 'R4', 'R5', 'R8']],
  ['enum in', { status: { in: ['pending', 'in_progress'] } }, ['R3', 'R5']],
  ['enum notIn', { status: { notIn: ['completed', 'failed'] } }, ['R3', 'R5']],
  ['enum isNull true', { status: { isNull: true } }, []],
  ['enum isNull false', { status: { isNull: false } }, ALL],
  ['resourceType eq', { resourceType: { eq: 'delete_app' } }, ['R2', 'R7', 'R8']],
  ['resourceType notIn', { resourceType: { notIn: ['delete_app', 'delete_workspace'] } }, ['R3', 'R4']],
  // integer
  ['integer eq', { attempts: { eq: 1 } }, ['R1', 'R6', 'R8']],
  ['integer neq', { attempts: { neq: 1 } }, ['R2', 'R3', 'R4', 'R5', 'R7']],
  ['integer in', { attempts: { in: [0, 5] } }, ['R2', 'R3']],
  ['integer notIn', { attempts: { notIn: [1, 2] } }, ['R2', 'R3', 'R4']],
  ['integer lt', { attempts: { lt: 2 } }, ['R1', 'R3', 'R6', 'R8']],
  ['integer lte', { attempts: { lte: 2 } }, ['R1', 'R3', 'R5', 'R6', 'R7', 'R8']],
  ['integer gt', { attempts: { gt: 2 } }, ['R2', 'R4']],
  ['integer gte', { attempts: { gte: 3 } }, ['R2', 'R4']],
  ['integer beyond int4 compares, never overflows', { attempts: { lt: 9007199254740991 } }, ALL],
  ['integer isNull', { attempts: { isNull: true } }, []],
  // timestamp, non-null
  ['timestamp eq', { createdAt: { eq: T2 } }, ['R2', 'R3']],
  ['timestamp eq, a date alone is UTC midnight', { createdAt: { eq: '2026-01-02' } }, ['R2', 'R3']],
  ['timestamp eq, an offset is normalised', { createdAt: { eq: '2026-01-02T01:00:00+01:00' } }, ['R2', 'R3']],
  ['timestamp eq, other ISO 8601 offsets and no seconds', { createdAt: { in: ['2026-01-02T01:00+0100', '2026-01-01T22:00-02', '2026-01-02t00:00z'] } }, ['R2', 'R3']],
  ['timestamp neq', { createdAt: { neq: T2 } }, except('R2', 'R3')],
  ['timestamp in', { createdAt: { in: [T1, T4] } }, ['R1', 'R6']],
  ['timestamp notIn', { createdAt: { notIn: [T1] } }, except('R1')],
  ['timestamp lt', { createdAt: { lt: T2 } }, ['R1']],
  ['timestamp lte', { createdAt: { lte: T2 } }, ['R1', 'R2', 'R3']],
  ['timestamp gt', { createdAt: { gt: '2026-01-04' } }, ['R6', 'R7', 'R8']],
  ['timestamp gte', { createdAt: { gte: T5 } }, ['R7', 'R8']],
  ['timestamp isNull', { createdAt: { isNull: false } }, ALL],
  // timestamp, nullable
  ['nullable timestamp eq', { completedAt: { eq: '2026-01-05' } }, ['R6']],
  ['nullable timestamp neq is true for NULL', { completedAt: { neq: '2026-01-05' } }, except('R6')],
  ['nullable timestamp in', { completedAt: { in: ['2026-01-01T01:00:00Z', '2026-01-05T06:00:00.000Z'] } }, ['R1', 'R7']],
  ['nullable timestamp notIn is true for NULL', { completedAt: { notIn: ['2026-01-01T01:00:00Z'] } }, except('R1')],
  ['nullable timestamp lt', { completedAt: { lt: '2026-01-05' } }, ['R1']],
  ['nullable timestamp lte', { completedAt: { lte: '2026-01-05' } }, ['R1', 'R6']],
  ['nullable timestamp gt', { completedAt: { gt: '2026-01-05' } }, ['R7']],
  ['nullable timestamp gte', { completedAt: { gte: '2026-01-05' } }, ['R6', 'R7']],
  ['nullable timestamp isNull true', { completedAt: { isNull: true } }, ['R2', 'R3', 'R4', 'R5', 'R8']],
  ['nullable timestamp isNull false', { completedAt: { isNull: false } }, ['R1', 'R6', 'R7']],
  // json
  ['json contains', { metadata: { contains: { region: 'eu' } } }, ['R1', 'R4', 'R6']],
  ['json contains an array element', { metadata: { contains: { tags: ['b'] } } }, ['R1']],
  ['json contains a nested object', { metadata: { contains: { nested: { k: 1 } } } }, ['R5']],
  ['json contains {} (every object)', { metadata: { contains: {} } }, ALL],
  ['json hasKey', { metadata: { hasKey: 'region' } }, ['R1', 'R2', 'R4', 'R6', 'R8']],
  ['json hasKey is top-level only', { metadata: { hasKey: 'k' } }, []],
  ['json isNull (never: {} when empty)', { metadata: { isNull: true } }, []],
  // logic
  ['several operators on a field are ANDed', { attempts: { gte: 1, lt: 3 } }, ['R1', 'R5', 'R6', 'R7', 'R8']],
  ['keys of one object are ANDed', { status: { eq: 'failed' }, attempts: { lt: 5 } }, ['R4', 'R8']],
  ['AND', { AND: [{ status: { eq: 'failed' } }, { workspaceId: { eq: 'ws_alpha' } }] }, ['R2', 'R4']],
  ['OR', { OR: [{ status: { eq: 'pending' } }, { attempts: { gte: 5 } }] }, ['R2', 'R3']],
  ['NOT', { NOT: { lastError: { contains: 'out' } } }, except('R2', 'R7')],
  ['AND [] is true', { AND: [] }, ALL],
  ['OR [] is false', { OR: [] }, []],
  ['{} matches everything', {}, ALL],
  // relations
  ['parent', { parent: { status: { eq: 'completed' } } }, ['R2', 'R3', 'R7', 'R8']],
  ['parent of a type', { parent: { resourceType: { eq: 'delete_app' } } }, ['R4']],
  ['parent exists', { parent: {} }, ['R2', 'R3', 'R4', 'R7', 'R8']],
  ['children.some', { children: { some: { status: { eq: 'failed' } } } }, ['R1', 'R2']],
  ['children.every is vacuously true without children', { children: { every: { status: { eq: 'failed' } } } }, ['R2', 'R3', 'R4', 'R5', 'R7', 'R8']],
  ['children.none', { children: { none: { status: { eq: 'failed' } } } }, ['R3', 'R4', 'R5', 'R6', 'R7', 'R8']],
  ['children.some nested', { children: { some: { children: { some: { status: { eq: 'failed' } } } } } }, ['R1']],
  ['children.some.parent round trip', { children: { some: { parent: { resourceId: { eq: 'ws_gamma' } } } } }, ['R6']],
];

describe('List [GET /api/cleanup-tasks] filters, orders and scopes', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
    await insertTasks(sut.dataSource, ROWS.map((row) => ({ ...row, metadata: row.metadata as Record<string, unknown> })));
  });
  afterAll(async () => {
    await sut.close();
  });

  it('answers a page with the contract shape, in the default order (createdAt, then id), limit 100', async () => {
    const response = await list(sut, sut.tokens.admin);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(response.body).sort()).toEqual(['data', 'pageInfo']);
    expect(labels(response.body.data.map((task: { id: string }) => task.id))).toEqual(ALL);
    expect(response.body.pageInfo).toEqual({ total: 8, hasNextPage: false, hasPreviousPage: false, startCursor: expect.any(String), endCursor: expect.any(String) });
    expect(response.body.data[1]).toEqual({
      id: R.R2, parentId: R.R1, workspaceId: 'ws_alpha', sourceEventId: 'evt_1', resourceType: 'delete_app', resourceId: 'app_%1',
      metadata: { region: 'us', size: 3 }, status: 'failed', attempts: 5, lastError: 'Timeout after 30s', createdAt: T2, completedAt: null,
    });
    expect(response.body.data[0].completedAt).toBe('2026-01-01T01:00:00.000Z');
  });

  it('is documented in OpenAPI: every parameter, filter and orderBy as JSON with schemas and runnable examples', async () => {
    const { body: document } = await request(sut.server).get('/api/docs-json');
    const operation = document.paths['/api/cleanup-tasks'].get;
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name)).toEqual([
      'limit', 'after', 'before', 'ids', 'filter', 'orderBy', 'status', 'resource_type', 'workspace_id', 'parent_id', 'source_event_id',
    ]);
    const filter = operation.parameters.find((parameter: { name: string }) => parameter.name === 'filter');
    expect(filter).toMatchObject({ in: 'query', required: false, content: { 'application/json': { schema: { $ref: '#/components/schemas/CleanupTaskFilter' } } } });
    expect(filter.schema).toBeUndefined();
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '401', '403', '414', '429', '503', '504']);
    expect(document.components.schemas.CleanupTaskFilter.properties.children).toEqual({ $ref: '#/components/schemas/CleanupTaskChildrenFilter' });
    // Every documented example runs: 200 for an admin.
    for (const [name, example] of Object.entries(filter.examples as Record<string, { value: unknown }>)) {
      const response = await list(sut, sut.tokens.admin, { filter: example.value });
      expect({ name, status: response.status }).toEqual({ name, status: 200 });
    }
    const orderBy = operation.parameters.find((parameter: { name: string }) => parameter.name === 'orderBy');
    for (const [name, example] of Object.entries(orderBy.examples as Record<string, { value: unknown }>)) {
      const response = await list(sut, sut.tokens.admin, { orderBy: example.value });
      expect({ name, status: response.status }).toEqual({ name, status: 200 });
    }
  });

  it('answers an empty page with null cursors', async () => {
    const page = await listPage(sut, sut.tokens.admin, { filter: { OR: [] } });
    expect(page).toEqual({ data: [], pageInfo: { total: 0, hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
  });

  it.each(OPERATOR_CASES)('filters: %s (and NOT is its exact complement)', async (_name, filter, expected) => {
    const page = await listPage(sut, sut.tokens.admin, { filter });
    expect(labels(page.data.map((task) => task.id as string))).toEqual(expected);
    expect(page.pageInfo.total).toBe(expected.length);
    const complement = await listPage(sut, sut.tokens.admin, { filter: { NOT: filter } });
    expect(labels(complement.data.map((task) => task.id as string))).toEqual(except(...expected));
  });

  it.each([
    ['asc', ['R1', 'R6', 'R7', 'R2', 'R3', 'R4', 'R5', 'R8']],
    ['asc_nulls_last', ['R1', 'R6', 'R7', 'R2', 'R3', 'R4', 'R5', 'R8']],
    ['asc_nulls_first', ['R2', 'R3', 'R4', 'R5', 'R8', 'R1', 'R6', 'R7']],
    ['desc', ['R2', 'R3', 'R4', 'R5', 'R8', 'R7', 'R6', 'R1']],
    ['desc_nulls_first', ['R2', 'R3', 'R4', 'R5', 'R8', 'R7', 'R6', 'R1']],
    ['desc_nulls_last', ['R7', 'R6', 'R1', 'R2', 'R3', 'R4', 'R5', 'R8']],
  ])('orders a nullable field %s, and pages it both ways with exact neighbours', async (direction, expected) => {
    const orderBy = [{ completedAt: direction }];
    expect(labels((await listPage(sut, sut.tokens.admin, { orderBy })).data.map((task) => task.id as string))).toEqual(expected);
    const forward = await walkForward(sut, sut.tokens.admin, { orderBy, limit: '3' });
    expect(labels(forward.ids)).toEqual(expected);
    expect(forward.pages.map((page) => [page.pageInfo.hasPreviousPage, page.pageInfo.hasNextPage, page.pageInfo.total])).toEqual([
      [false, true, 8],
      [true, true, 8],
      [true, false, 8],
    ]);
    const last = forward.pages[forward.pages.length - 1];
    const backward = await walkBackward(sut, sut.tokens.admin, { orderBy, limit: '3' }, last.pageInfo.startCursor!);
    expect(labels([...backward.ids, ...last.data.map((task) => task.id as string)])).toEqual(expected);
    expect(backward.pages.map((page) => [page.data.length, page.pageInfo.hasPreviousPage, page.pageInfo.hasNextPage])).toEqual([
      [3, true, true],
      [3, false, true],
    ]);
  });

  it.each([
    ['lastError asc (byte order, NULLs last)', [{ lastError: 'asc' }], ['R2', 'R8', 'R5', 'R4', 'R7', 'R1', 'R3', 'R6']],
    ['several keys, mixed directions', [{ status: 'asc' }, { attempts: 'desc' }], ['R7', 'R1', 'R6', 'R2', 'R4', 'R8', 'R5', 'R3']],
    ['id desc (no tie-breaker added)', [{ id: 'desc' }], [...ALL].reverse()],
    ['createdAt desc, ties by id asc', [{ createdAt: 'desc' }], ['R7', 'R8', 'R6', 'R4', 'R5', 'R2', 'R3', 'R1']],
    ['resourceType desc (by text)', [{ resourceType: 'desc' }, { attempts: 'asc' }], ['R1', 'R6', 'R5', 'R4', 'R3', 'R8', 'R7', 'R2']],
    ['an empty orderBy is the default', [], ALL],
  ])('orders by %s', async (_name, orderBy, expected) => {
    expect(labels((await listPage(sut, sut.tokens.admin, { orderBy })).data.map((task) => task.id as string))).toEqual(expected);
    expect(labels((await walkForward(sut, sut.tokens.admin, { orderBy, limit: '2' })).ids)).toEqual(expected);
  });

  it('shows a member only the tasks of its workspaces, with their total', async () => {
    const page = await listPage(sut, sut.tokens.member);
    expect(labels(page.data.map((task) => task.id as string))).toEqual(['R1', 'R2', 'R3', 'R4', 'R5']);
    expect(page.pageInfo.total).toBe(5);
    const other = await listPage(sut, sut.tokens.otherMember, { status: 'failed' });
    expect(labels(other.data.map((task) => task.id as string))).toEqual(['R8']);
    expect(other.pageInfo.total).toBe(1);
  });

  it.each([
    ['children.some cannot see an out-of-scope child', sut_ => sut_.tokens.member, { children: { some: { resourceId: { eq: 'APP_Y' } } } }, []],
    ['children.some sees it for an admin', sut_ => sut_.tokens.admin, { children: { some: { resourceId: { eq: 'APP_Y' } } } }, ['R1']],
    ['children.every ignores out-of-scope children', sut_ => sut_.tokens.member, { children: { every: { workspaceId: { eq: 'ws_alpha' } } } }, ['R1', 'R2', 'R3', 'R4', 'R5']],
    ['children.every counts them for an admin', sut_ => sut_.tokens.admin, { children: { every: { workspaceId: { eq: 'ws_alpha' } } } }, ['R2', 'R3', 'R4', 'R5', 'R7', 'R8']],
    ['parent cannot see an out-of-scope parent', sut_ => sut_.tokens.otherMember, { parent: {} }, ['R7']],
    ['children.none treats an out-of-scope child as absent', sut_ => sut_.tokens.member, { children: { none: { workspaceId: { eq: 'ws_gamma' } } } }, ['R1', 'R2', 'R3', 'R4', 'R5']],
  ] as [string, (app: TestApp) => string, Record<string, unknown>, string[]][])('scopes relation traversal: %s', async (_name, token, filter, expected) => {
    const page = await listPage(sut, token(sut), { filter });
    expect(labels(page.data.map((task) => task.id as string))).toEqual(expected);
    expect(page.pageInfo.total).toBe(expected.length);
  });

  it.each([
    ['status', { status: 'failed' }, ['R2', 'R4', 'R8']],
    ['resource_type', { resource_type: 'delete_workspace' }, ['R1', 'R5', 'R6']],
    ['workspace_id', { workspace_id: 'ws_gamma' }, ['R6', 'R7', 'R8']],
    ['parent_id', { parent_id: R.R1 }, ['R2', 'R3', 'R8']],
    ['source_event_id', { source_event_id: 'evt_2' }, ['R6', 'R7']],
    ['all shortcuts ANDed with each other and the filter', { status: 'failed', resource_type: 'delete_app', workspace_id: 'ws_alpha', source_event_id: 'evt_1', parent_id: R.R1, filter: { attempts: { gt: 1 } } }, ['R2']],
    ['a shortcut value that matches nothing', { workspace_id: "ws_nope' OR '1'='1" }, []],
  ])('narrows by the %s shortcut', async (_name, params, expected) => {
    const page = await listPage(sut, sut.tokens.admin, params);
    expect(labels(page.data.map((task) => task.id as string))).toEqual(expected);
    expect(page.pageInfo.total).toBe(expected.length);
  });

  it('narrows by ids within the caller scope: unknown and out-of-scope ids are simply absent', async () => {
    const ids = [R.R7, R.R2, taskId(99), R.R5].join(',');
    const admin = await listPage(sut, sut.tokens.admin, { ids });
    expect(labels(admin.data.map((task) => task.id as string))).toEqual(['R2', 'R5', 'R7']);
    expect(admin.pageInfo.total).toBe(3);
    const member = await listPage(sut, sut.tokens.member, { ids, filter: { attempts: { gte: 2 } } });
    expect(labels(member.data.map((task) => task.id as string))).toEqual(['R2', 'R5']);
    expect(member.pageInfo.total).toBe(2);
  });

  it('counts totals from the counters or the rows alike', async () => {
    // Counter-served (scope + workspace/status/resourceType only) and row-counted (anything else) agree.
    const counted = await listPage(sut, sut.tokens.member, { status: 'failed', filter: { resourceType: { in: ['delete_app', 'delete_element'] } } });
    const rows = await listPage(sut, sut.tokens.member, { status: 'failed', filter: { resourceType: { in: ['delete_app', 'delete_element'] }, attempts: { gte: 0 } } });
    expect([counted.pageInfo.total, rows.pageInfo.total]).toEqual([2, 2]);
    expect((await listPage(sut, sut.tokens.otherMember, { filter: { NOT: { workspaceId: { eq: 'ws_gamma' } } } })).pageInfo.total).toBe(0);
  });
});
