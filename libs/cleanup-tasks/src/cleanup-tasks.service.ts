import { Injectable } from '@nestjs/common';
import { newId, ResourceNotFoundError } from '@app/common';
import type { CleanupTask } from './cleanup-task.entity';
import type { ResourceType } from './cleanup-task.enums';
import { CleanupTasksRepository } from './cleanup-tasks.repository';
import type { WorkspaceScope } from './task-scope';

export interface EnqueueCleanupTask {
  resourceType: ResourceType;
  resourceId: string;
  workspaceId: string;
  sourceEventId?: string | null;
  metadata?: Record<string, unknown>;
}

/**
 * Cleanup tasks for the API and for other modules of the monolith: call
 * `enqueue` when a workspace (or any resource) is deleted.
 */
@Injectable()
export class CleanupTasksService {
  constructor(private readonly repository: CleanupTasksRepository) {}

  async getById(id: string, scope: WorkspaceScope): Promise<CleanupTask> {
    const task = await this.repository.findById(id, scope);
    if (!task) throw new ResourceNotFoundError('Cleanup task', id);
    return task;
  }

  /** Enqueues a root task; idempotent on (sourceEventId, resourceType, resourceId). */
  enqueue(input: EnqueueCleanupTask): Promise<{ task: CleanupTask; created: boolean }> {
    return this.repository.insertRootIdempotent({
      id: newId('ct'),
      resourceType: input.resourceType,
      resourceId: input.resourceId,
      workspaceId: input.workspaceId,
      sourceEventId: input.sourceEventId ?? null,
      metadata: input.metadata ?? {},
    });
  }
}
