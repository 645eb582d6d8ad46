/**
 * What the property-based tests of the list and the counts generate: small
 * random task forests (NULLs, ties, trees across workspaces, tricky strings)
 * and random filters over their values, and the principals that query them.
 */
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { CLEANUP_TASK_QUERY_FIELDS } from '@app/cleanup-tasks/cleanup-task.query-fields';
import { RESOURCE_TYPES, TASK_STATUSES } from '@app/cleanup-tasks/cleanup-task.enums';
import { filterNodes, parseEqualityShortcut, type FilterNode } from '@app/query-dsl';
import type { ReferenceRow } from '@app/query-dsl/testing/reference-evaluator';
import { taskId } from './list-helpers';

const spec = CLEANUP_TASK_QUERY_FIELDS;

export const WORKSPACES = ['ws_alpha', 'ws_beta', 'ws_gamma', 'ws_delta'];
export const PRINCIPALS = [
  { name: 'admin', scope: null },
  { name: 'member', scope: ['ws_alpha', 'ws_beta'] },
  { name: 'otherMember', scope: ['ws_gamma'] },
] as const;
const STRINGS = ['a%b', 'a_b', 'a\\b', 'app_1', 'APP_1', 'é', 'É', 'z😀', 'zé', 'Zeta', 'zeta', '', 'x_y%z', 'ws_alpha'];
const ERRORS = ['timeout after 30s', 'Timeout', 'permission denied', 'boom', '100%_done', 'é!'];
export const EVENTS = ['evt_1', 'evt_2', 'EVT_1', 'evt_%'];
const TIMES = ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.001Z', '2026-01-02T00:00:00.000Z', '2025-12-31T23:59:59.999Z'];
const METADATA = [{}, { region: 'eu' }, { region: 'us', tags: ['a', 'b'] }, { n: null }, { nested: { k: 1 } }, { tags: ['b'] }, { a: 1, region: 'eu' }];

/** A task as the property tests generate it: the contract's fields (the reference evaluator's row). */
export interface GeneratedTask extends ReferenceRow {
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
export const datasetArb = fc
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
    const rows: GeneratedTask[] = [];
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

export function valueArb(name: string, operator: string, rows: GeneratedTask[]): fc.Arbitrary<unknown> {
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

export interface FilterArbOptions {
  /** Fields conditions are made on (default: every field). */
  fields?: readonly string[];
  /** Whether `parent`/`children` nodes are made (default: true). */
  relations?: boolean;
}

/** Random filters over `rows`' values: AND/OR/NOT nesting, every operator of the fields, relations. */
export function filterArb(rows: GeneratedTask[], options: FilterArbOptions = {}): fc.Arbitrary<Record<string, unknown>> {
  const fields = options.fields ?? Object.keys(spec.fields);
  const condition = fc
    .constantFrom(...fields)
    .chain((name) => fc.constantFrom(...spec.fields[name].operators).chain((operator) => valueArb(name, operator, rows).map((value) => ({ [name]: { [operator]: value } }))));
  const { node } = fc.letrec<{ node: Record<string, unknown> }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 3, depthIdentifier: 'filter' },
      condition,
      fc.tuple(condition, condition).map(([a, b]) => ({ ...a, ...b })),
      fc.array(tie('node'), { maxLength: 2 }).map((items) => ({ AND: items })),
      fc.array(tie('node'), { maxLength: 3 }).map((items) => ({ OR: items })),
      tie('node').map((item) => ({ NOT: item })),
      ...(options.relations === false
        ? []
        : [
            tie('node').map((item) => ({ parent: item })),
            fc.tuple(fc.constantFrom('some', 'every', 'none'), tie('node')).map(([quantifier, item]) => ({ children: { [quantifier]: item } })),
          ]),
    ),
  }));
  return node;
}

/** `value` with weight `valueWeight` against null's `nullWeight`. */
export function sometimes<T>(value: fc.Arbitrary<T>, nullWeight: number, valueWeight = 1): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: nullWeight, arbitrary: fc.constant(null) }, { weight: valueWeight, arbitrary: value });
}

/** Replaces every task of the database with `rows` (the counters follow through their triggers). */
export async function loadTasks(dataSource: DataSource, rows: GeneratedTask[]): Promise<void> {
  await dataSource.query('DELETE FROM cleanup_tasks');
  if (rows.length === 0) return;
  await dataSource.query(
    `INSERT INTO cleanup_tasks (id, parent_id, workspace_id, source_event_id, resource_type, resource_id, metadata, status, attempts, last_error, created_at, completed_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::int[], $10::text[], $11::timestamptz[], $12::timestamptz[])`,
    [
      rows.map((r) => r.id), rows.map((r) => r.parentId), rows.map((r) => r.workspaceId), rows.map((r) => r.sourceEventId),
      rows.map((r) => r.resourceType), rows.map((r) => r.resourceId), rows.map((r) => JSON.stringify(r.metadata)), rows.map((r) => r.status),
      rows.map((r) => r.attempts), rows.map((r) => r.lastError), rows.map((r) => r.createdAt), rows.map((r) => r.completedAt),
    ],
  );
}

/** The equality shortcuts: field → query parameter. */
export const SHORTCUTS = { status: 'status', resourceType: 'resource_type', workspaceId: 'workspace_id', parentId: 'parent_id', sourceEventId: 'source_event_id' } as const;

/** A generated query's shortcuts and ids as the reference evaluator's conditions (what the service makes of them). */
export function referenceConditions(query: Partial<Record<keyof typeof SHORTCUTS, string | null>> & { ids?: string[] | null }): FilterNode[] {
  const conditions: FilterNode[] = [];
  for (const [field, wire] of Object.entries(SHORTCUTS) as [keyof typeof SHORTCUTS, string][]) {
    const value = query[field];
    if (value !== null && value !== undefined) conditions.push(parseEqualityShortcut(spec, field, value, wire));
  }
  if (query.ids) conditions.push(filterNodes.in('id', [...new Set(query.ids)]));
  return conditions;
}

/** A generated query's shortcuts and ids as query parameters. */
export function shortcutParams(query: Partial<Record<keyof typeof SHORTCUTS, string | null>> & { ids?: string[] | null }): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [field, wire] of Object.entries(SHORTCUTS) as [keyof typeof SHORTCUTS, string][]) {
    const value = query[field];
    if (value !== null && value !== undefined) params[wire] = value;
  }
  if (query.ids) params.ids = query.ids.join(',');
  return params;
}
