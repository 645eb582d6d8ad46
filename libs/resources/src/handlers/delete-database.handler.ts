import { type ClaimedTask, CleanupHandler, type CleanupTaskHandler } from '@app/scheduler';
import { failIfInjected } from '../injected-failure';
import { ResourcesRepository } from '../resources.repository';

/** Drops the database's PostgreSQL schema (CASCADE) and deletes its row, in one transaction; a database already gone is success. */
@CleanupHandler('delete_database')
export class DeleteDatabaseHandler implements CleanupTaskHandler {
  constructor(private readonly resources: ResourcesRepository) {}

  async handle(task: ClaimedTask): Promise<void> {
    await failIfInjected(this.resources, 'database', task.resourceId);
    await this.resources.transaction(async (manager) => {
      const schemaName = await this.resources.lockDatabase(manager, task.workspaceId, task.resourceId);
      if (schemaName !== null) await this.resources.dropDatabase(manager, task.resourceId, schemaName);
    });
  }
}
