import { describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { CleanupTask } from './cleanup-task.entity';
import { TASK_CONTRACT_COLUMNS, taskContractJson } from './task-columns';
import { taskTreeStatement } from './task-tree.repository';

describe('taskTreeStatement', () => {
  const sut = (rootId: string) => taskTreeStatement(new DataSource({ type: 'postgres', entities: [CleanupTask] }), rootId);
  const columns = (alias: string) => TASK_CONTRACT_COLUMNS.map((column) => `"${alias}"."${column}"`).join(', ');

  it('walks down from the root in a recursive CTE that never re-enters the root, root first, then by depth, createdAt, id', () => {
    const [query, parameters] = sut('ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV');
    expect(query).toBe(
      `WITH RECURSIVE "tree" AS (((SELECT ${columns('task')}, 0 AS "depth" FROM "cleanup_tasks" "task" WHERE "task"."id" = $1) UNION ALL ` +
        `(SELECT ${columns('child')}, "tree"."depth" + 1 AS "depth" FROM "cleanup_tasks" "child" INNER JOIN "tree" "tree" ON "child"."parent_id" = "tree"."id" WHERE "child"."id" <> $1))) ` +
        `SELECT ${taskContractJson('tree')} AS "task" FROM "tree" "tree" ORDER BY "tree"."depth" ASC, "tree"."created_at" ASC, "tree"."id" ASC`,
    );
    expect(parameters).toEqual(['ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV']);
  });

  it('never puts the id into the SQL text', () => {
    const [query, parameters] = sut(`x'); DROP TABLE cleanup_tasks; --`);
    expect(query).not.toContain('DROP');
    expect(parameters).toEqual([`x'); DROP TABLE cleanup_tasks; --`]);
  });
});
