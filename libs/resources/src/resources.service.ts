import { Injectable } from '@nestjs/common';
import { newId } from '@app/common';
import { ResourcesRepository, type NewApp, type NewDatabase, type NewElement } from './resources.repository';

export interface ElementBlueprint {
  name: string;
  failDeletes?: number;
}

export interface AppBlueprint {
  name: string;
  failDeletes?: number;
  /** A count of plain elements, or each element spelled out. */
  elements?: number | ElementBlueprint[];
}

export interface DatabaseBlueprint {
  name: string;
  failDeletes?: number;
  /** Rows in the schema's `records` table (default 10). */
  rows?: number;
}

export interface WorkspaceBlueprint {
  name: string;
  failDeletes?: number;
  apps?: AppBlueprint[];
  databases?: DatabaseBlueprint[];
}

export interface ProvisionedWorkspace {
  id: string;
  appIds: string[];
  elementIds: string[];
  databaseIds: string[];
  /** The PostgreSQL schemas the databases own. */
  schemaNames: string[];
}

/**
 * Creates reference resources (for the demo seed and tests); the handlers
 * delete them. `failDeletes` injects failures: see the migration
 * ReferenceResources1764576000000.
 */
@Injectable()
export class ResourcesService {
  constructor(private readonly repository: ResourcesRepository) {}

  /** A workspace with its apps, elements and databases (real schemas), in one transaction. */
  provisionWorkspace(blueprint: WorkspaceBlueprint): Promise<ProvisionedWorkspace> {
    const workspaceId = newId('ws');
    const apps: NewApp[] = [];
    const elements: NewElement[] = [];
    for (const app of blueprint.apps ?? []) {
      const appId = newId('app');
      apps.push({ id: appId, name: app.name, failDeletes: app.failDeletes ?? 0 });
      const specs: ElementBlueprint[] =
        typeof app.elements === 'number' ? Array.from({ length: app.elements }, (_, i) => ({ name: `${app.name} element ${i + 1}` })) : (app.elements ?? []);
      for (const element of specs) {
        elements.push({ id: newId('el'), appId, name: element.name, failDeletes: element.failDeletes ?? 0 });
      }
    }
    const databases: NewDatabase[] = (blueprint.databases ?? []).map((database) => {
      const id = newId('db');
      return { id, name: database.name, failDeletes: database.failDeletes ?? 0, rows: database.rows ?? 10, schemaName: `wsdb_${id.slice(3).toLowerCase()}` };
    });
    return this.repository.transaction(async (manager) => {
      await this.repository.insertWorkspace(manager, workspaceId, blueprint.name, blueprint.failDeletes ?? 0);
      await this.repository.insertApps(manager, workspaceId, apps);
      await this.repository.insertElements(manager, workspaceId, elements);
      for (const database of databases) await this.repository.createDatabase(manager, workspaceId, database);
      return {
        id: workspaceId,
        appIds: apps.map((a) => a.id),
        elementIds: elements.map((e) => e.id),
        databaseIds: databases.map((d) => d.id),
        schemaNames: databases.map((d) => d.schemaName),
      };
    });
  }
}
