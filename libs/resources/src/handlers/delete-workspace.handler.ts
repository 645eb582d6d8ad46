import { type ClaimedTask, CleanupHandler, type CleanupTaskHandler, type HandlerResult, PermanentTaskError } from '@app/scheduler';
import { failIfInjected } from '../injected-failure';
import { ResourcesRepository } from '../resources.repository';

/**
 * Deletes the workspace row and spawns a `delete_app` per app and a
 * `delete_database` per database, found by workspace_id, so that a re-run
 * after the row is gone still finds (and idempotently re-spawns) them.
 */
@CleanupHandler('delete_workspace')
export class DeleteWorkspaceHandler implements CleanupTaskHandler {
  constructor(private readonly resources: ResourcesRepository) {}

  async handle(task: ClaimedTask): Promise<HandlerResult> {
    if (task.resourceId !== task.workspaceId) {
      throw new PermanentTaskError(`delete_workspace must name its own workspace: resourceId ${task.resourceId} ≠ workspaceId ${task.workspaceId}`);
    }
    await failIfInjected(this.resources, 'workspace', task.resourceId);
    const { appIds, databaseIds } = await this.resources.transaction(async (manager) => {
      const dependents = await this.resources.findWorkspaceDependents(manager, task.workspaceId);
      await this.resources.deleteWorkspace(manager, task.workspaceId);
      return dependents;
    });
    return {
      children: [
        ...appIds.map((id) => ({ resourceType: 'delete_app' as const, resourceId: id })),
        ...databaseIds.map((id) => ({ resourceType: 'delete_database' as const, resourceId: id })),
      ],
    };
  }
}
