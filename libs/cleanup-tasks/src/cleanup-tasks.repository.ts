import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { CleanupTask } from './cleanup-task.entity';
import type { ResourceType } from './cleanup-task.enums';
import type { WorkspaceScope } from './task-scope';

export interface NewRootTask {
  id: string;
  resourceType: ResourceType;
  resourceId: string;
  workspaceId: string;
  sourceEventId: string | null;
  metadata: Record<string, unknown>;
}

/** The API's SQL on `cleanup_tasks` (the scheduler keeps its queue SQL in its own repository). */
@Injectable()
export class CleanupTasksRepository {
  private readonly tasks: Repository<CleanupTask>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.tasks = dataSource.getRepository(CleanupTask);
  }

  /** The task if it exists and lies inside the scope. */
  findById(id: string, scope: WorkspaceScope): Promise<CleanupTask | null> {
    const query = this.tasks.createQueryBuilder('t').where('t.id = :id', { id });
    if (scope !== null) query.andWhere('t.workspace_id = ANY(:scope)', { scope: [...scope] });
    return query.getOne();
  }

  /**
   * Inserts a root task unless one with the same (sourceEventId, resourceType,
   * resourceId) exists; either way returns the stored task and whether it is new.
   * ON CONFLICT makes concurrent deliveries of one event safe.
   */
  async insertRootIdempotent(task: NewRootTask): Promise<{ task: CleanupTask; created: boolean }> {
    const rows: { id: string }[] = await this.dataSource.query(
      `INSERT INTO cleanup_tasks (id, workspace_id, source_event_id, resource_type, resource_id, metadata)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (source_event_id, resource_type, resource_id) WHERE parent_id IS NULL AND source_event_id IS NOT NULL
       DO NOTHING
       RETURNING id`,
      [task.id, task.workspaceId, task.sourceEventId, task.resourceType, task.resourceId, JSON.stringify(task.metadata)],
    );
    if (rows.length > 0) {
      return { task: await this.tasks.findOneByOrFail({ id: rows[0].id }), created: true };
    }
    const existing = await this.tasks
      .createQueryBuilder('t')
      .where('t.parent_id IS NULL AND t.source_event_id = :sourceEventId AND t.resource_type = :resourceType AND t.resource_id = :resourceId', task)
      .getOneOrFail();
    return { task: existing, created: false };
  }
}
