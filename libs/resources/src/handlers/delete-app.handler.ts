import { type ClaimedTask, CleanupHandler, type CleanupTaskHandler, type HandlerResult } from '@app/scheduler';
import { failIfInjected } from '../injected-failure';
import { ResourcesRepository } from '../resources.repository';

/** Deletes the app row and spawns a `delete_element` per element (found by app_id, so re-runs find them too). */
@CleanupHandler('delete_app')
export class DeleteAppHandler implements CleanupTaskHandler {
  constructor(private readonly resources: ResourcesRepository) {}

  async handle(task: ClaimedTask): Promise<HandlerResult> {
    await failIfInjected(this.resources, 'app', task.resourceId);
    const elementIds = await this.resources.transaction(async (manager) => {
      const ids = await this.resources.findAppElements(manager, task.workspaceId, task.resourceId);
      await this.resources.deleteApp(manager, task.workspaceId, task.resourceId);
      return ids;
    });
    return { children: elementIds.map((id) => ({ resourceType: 'delete_element' as const, resourceId: id })) };
  }
}
