import { type ClaimedTask, CleanupHandler, type CleanupTaskHandler } from '@app/scheduler';
import { failIfInjected } from '../injected-failure';
import { ResourcesRepository } from '../resources.repository';

/** Deletes the element row; an element already gone is success. */
@CleanupHandler('delete_element')
export class DeleteElementHandler implements CleanupTaskHandler {
  constructor(private readonly resources: ResourcesRepository) {}

  async handle(task: ClaimedTask): Promise<void> {
    await failIfInjected(this.resources, 'element', task.resourceId);
    await this.resources.deleteElement(task.workspaceId, task.resourceId);
  }
}
