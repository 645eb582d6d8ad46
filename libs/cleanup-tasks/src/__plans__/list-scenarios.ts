import type { CursorValue } from '@app/query-dsl';

/**
 * The eight `bench:list` scenarios (bench/list/run.mjs, "scenarios") with
 * fixed inputs, so that a statement built for one of them is always the same
 * text with the same parameters. Values the benchmark reads from its data set
 * are fixed here to what bench/list/seed-tasks.sql generates whatever its
 * scale: the deletion event of ws_0040 (`'evt_' || md5('ws_0040' || 1)`) and
 * the first app of its tree (root 53: `'app_' || md5('53:1')`). The deep page
 * starts after a fixed row in the middle of the data set's 90 days.
 *
 * `<file>.sql` beside this file is the statement the list built for the
 * scenario before it was built with TypeORM's QueryBuilder (commit 830afc1):
 * the plan-shape test compares the plans of both.
 */
export interface ListPlanScenario {
  /** Snapshot file name, without `.sql`. */
  file: string;
  name: string;
  /** The request's query parameters. */
  params: Record<string, string>;
  /** A member token's workspaces; none for an admin. */
  scope?: readonly string[];
  /** The decoded `after` cursor (createdAt, id). */
  after?: readonly CursorValue[];
}

export const WS_0040_EVENT = 'evt_5a097b9421d0';
export const WS_0040_APP = 'app_a93ebb52847a19e7';

export const LIST_PLAN_SCENARIOS: readonly ListPlanScenario[] = [
  {
    file: 'selective-failed-elements',
    name: 'selective: failed elements, newest first',
    params: { filter: JSON.stringify({ status: { eq: 'failed' }, resourceType: { eq: 'delete_element' } }), orderBy: JSON.stringify([{ createdAt: 'desc' }]), limit: '50' },
  },
  {
    file: 'selective-event-tree-unfinished',
    name: 'selective: one event tree, unfinished, newest first',
    params: { source_event_id: WS_0040_EVENT, filter: JSON.stringify({ status: { neq: 'completed' } }), orderBy: JSON.stringify([{ createdAt: 'desc' }]), limit: '50' },
  },
  {
    file: 'selective-resource-id',
    name: 'selective: one resource id',
    params: { filter: JSON.stringify({ resourceId: { eq: WS_0040_APP } }) },
  },
  { file: 'unfiltered-page-1', name: 'unfiltered page 1 + total', params: { limit: '100' } },
  {
    file: 'unfiltered-deep-page',
    name: 'unfiltered page 5,000 + total',
    params: { limit: '100' },
    after: ['2026-09-15T12:00:00.000Z', 'ct_01K58MVZG00000000000000000'],
  },
  { file: 'children-some-failed', name: 'children.some failed', params: { filter: JSON.stringify({ children: { some: { status: { eq: 'failed' } } } }), limit: '100' } },
  { file: 'member-two-workspaces', name: 'member (2 workspaces), page 1', params: { limit: '100' }, scope: ['ws_0100', 'ws_0200'] },
  { file: 'member-two-largest-workspaces', name: 'member (2 largest workspaces), page 1', params: { limit: '100' }, scope: ['ws_0001', 'ws_0002'] },
];
