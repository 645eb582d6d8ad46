import { describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { filterNodes, parseFilter, parseOrderBy } from '@app/query-dsl';
import { CleanupTask } from './cleanup-task.entity';
import { CLEANUP_TASK_DEFAULT_ORDER_BY, CLEANUP_TASK_QUERY_FIELDS } from './cleanup-task.query-fields';
import { taskContractJson, taskContractTexts } from './task-columns';
import { exportStatement, type TaskExportCriteria } from './task-export.repository';

describe('exportStatement', () => {
  const dataSource = new DataSource({ type: 'postgres', entities: [CleanupTask] });
  const spec = CLEANUP_TASK_QUERY_FIELDS;
  const sut = (criteria: Partial<TaskExportCriteria>, shape: 'json' | 'texts' = 'json') =>
    exportStatement(dataSource, { orderBy: parseOrderBy(undefined, spec, { defaultOrderBy: CLEANUP_TASK_DEFAULT_ORDER_BY }), conditions: [], scope: null, ...criteria }, shape);

  it("selects every matching task in the list's order, without a limit: the JSON text, or one text per field", () => {
    const criteria = { scope: ['ws_a', 'ws_b'], conditions: [filterNodes.eq('status', 'failed')], filter: parseFilter({ attempts: { gte: 2 } }, spec) };
    const where = 'WHERE "t0"."workspace_id" = ANY(CAST($1 AS text[])) AND "t0"."status" = $2 AND "t0"."attempts" >= CAST($3 AS bigint) ';
    const order = 'ORDER BY "t0"."created_at" ASC NULLS LAST, "t0"."id" ASC NULLS LAST';
    expect(sut(criteria)).toEqual([`SELECT ${taskContractJson('t0')} AS "task" FROM "cleanup_tasks" "t0" ${where}${order}`, [['ws_a', 'ws_b'], 'failed', 2]]);
    expect(sut(criteria, 'texts')).toEqual([`SELECT ${taskContractTexts('t0').join(', ')} FROM "cleanup_tasks" "t0" ${where}${order}`, [['ws_a', 'ws_b'], 'failed', 2]]);
  });

  it('orders as asked, NULLS placement explicit, id last; relations as EXISTS under the scope', () => {
    const [query] = sut({
      scope: ['ws_a'],
      orderBy: parseOrderBy([{ completedAt: 'desc' }], spec),
      filter: parseFilter({ children: { some: { status: { eq: 'failed' } } } }, spec),
    });
    expect(query).toContain(
      'WHERE "t0"."workspace_id" = $1 AND EXISTS (SELECT 1 FROM "cleanup_tasks" "t1" WHERE "t1"."parent_id" = "t0"."id" AND "t1"."workspace_id" = $1 AND "t1"."status" = $2) ' +
        'ORDER BY "t0"."completed_at" DESC NULLS FIRST, "t0"."id" ASC NULLS LAST',
    );
    expect(query).not.toMatch(/LIMIT/);
  });

  it('writes each field as its JSON value in text: timestamps as in the JSON, metadata and attempts cast', () => {
    expect(taskContractTexts('t0')).toEqual([
      '"t0"."id" AS "id"', '"t0"."parent_id" AS "parentId"', '"t0"."workspace_id" AS "workspaceId"', '"t0"."source_event_id" AS "sourceEventId"',
      '"t0"."resource_type" AS "resourceType"', '"t0"."resource_id" AS "resourceId"', 'CAST("t0"."metadata" AS text) AS "metadata"', '"t0"."status" AS "status"',
      'CAST("t0"."attempts" AS text) AS "attempts"', '"t0"."last_error" AS "lastError"',
      `to_char("t0"."created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`,
      `to_char("t0"."completed_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "completedAt"`,
    ]);
  });
});
