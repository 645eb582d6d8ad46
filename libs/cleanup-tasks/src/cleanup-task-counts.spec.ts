import { describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { filterNodes, parseFilter } from '@app/query-dsl';
import { CleanupTask } from './cleanup-task.entity';
import { CLEANUP_TASK_QUERY_FIELDS } from './cleanup-task.query-fields';
import { countsStatement, type TaskCountsCriteria } from './cleanup-tasks.repository';

describe('countsStatement', () => {
  const dataSource = new DataSource({ type: 'postgres', entities: [CleanupTask] });
  const filter = (json: unknown) => parseFilter(json, CLEANUP_TASK_QUERY_FIELDS);
  const sut = (criteria: Partial<TaskCountsCriteria>) => countsStatement(dataSource, { conditions: [], scope: null, groupBy: ['status'], maxGroups: 1000, ...criteria });

  it('sums the counters and their deltas under the same WHERE when scope, shortcuts and filter read only counted fields', () => {
    const statement = sut({
      groupBy: ['status', 'resourceType'],
      scope: ['ws_a'],
      conditions: [filterNodes.eq('resourceType', 'delete_app')],
      filter: filter({ OR: [{ status: { eq: 'failed' } }, { workspaceId: { startsWith: 'ws_' } }] }),
    });
    const side = (table: string) =>
      `(SELECT "c"."status", "c"."resource_type", "c"."n" AS "n" FROM "${table}" "c" WHERE "c"."workspace_id" = $1 AND "c"."resource_type" = $2 ` +
      `AND ("c"."status" = $3 OR "c"."workspace_id" LIKE $4))`;
    expect(statement).toEqual({
      query:
        'SELECT "x"."status" AS "status", "x"."resource_type" AS "resource_type", sum("x"."n") AS "n" ' +
        `FROM (${side('cleanup_task_counts')} UNION ALL ${side('cleanup_task_count_deltas')}) "x" ` +
        'GROUP BY "x"."status", "x"."resource_type" HAVING sum("x"."n") > 0 ORDER BY "x"."status" COLLATE "C" ASC, "x"."resource_type" COLLATE "C" ASC LIMIT 1001',
      parameters: ['ws_a', 'delete_app', 'failed', 'ws\\_%'],
      countedBy: 'counters',
    });
  });

  it('groups the matching rows when anything else is read (another field, a relation, ids), at most maxGroups + 1 groups', () => {
    const statement = sut({ groupBy: ['workspaceId'], scope: ['ws_a', 'ws_b'], filter: filter({ attempts: { gt: 1 } }), maxGroups: 5 });
    expect(statement).toEqual({
      query:
        'SELECT "t0"."workspace_id" AS "workspace_id", count(*) AS "n" FROM "cleanup_tasks" "t0" ' +
        'WHERE "t0"."workspace_id" = ANY(CAST($1 AS text[])) AND "t0"."attempts" > CAST($2 AS bigint) ' +
        'GROUP BY "t0"."workspace_id" ORDER BY "t0"."workspace_id" COLLATE "C" ASC LIMIT 6',
      parameters: [['ws_a', 'ws_b'], 1],
      countedBy: 'rows',
    });
    expect(sut({ filter: filter({ children: { some: { status: { eq: 'failed' } } } }) }).countedBy).toBe('rows');
    expect(sut({ conditions: [filterNodes.in('id', ['ct_1'])] }).countedBy).toBe('rows');
    expect(sut({ conditions: [filterNodes.eq('parentId', 'ct_1')] }).countedBy).toBe('rows');
    expect(sut({ filter: filter({ NOT: { status: { in: ['failed'] } } }), scope: [] }).countedBy).toBe('counters');
  });

  it('never puts a value into the SQL text', () => {
    const drop = `x'); DROP TABLE cleanup_tasks; --`;
    const statement = sut({ scope: [drop], filter: filter({ lastError: { eq: drop } }) });
    expect(statement.query).not.toContain('DROP');
    expect(statement.parameters).toEqual([drop, drop]);
  });
});
