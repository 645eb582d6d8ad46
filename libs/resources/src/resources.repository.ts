import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { quoteIdentifier } from '@app/database/embedded-postgres';

/** The tables of the reference model, by resource kind (never interpolated from input). */
export const RESOURCE_TABLES = { workspace: 'workspaces', app: 'apps', element: 'elements', database: 'databases' } as const;
export type ResourceKind = keyof typeof RESOURCE_TABLES;

export interface NewApp {
  id: string;
  name: string;
  failDeletes: number;
}

export interface NewElement extends NewApp {
  appId: string;
}

export interface NewDatabase extends NewApp {
  schemaName: string;
  /** Rows put into the schema's `records` table, so that there is real data to drop. */
  rows: number;
}

/** All SQL of the reference resource model: provisioning (seed, tests) and the deletions the handlers make. */
@Injectable()
export class ResourcesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async insertWorkspace(manager: EntityManager, id: string, name: string, failDeletes: number): Promise<void> {
    await manager.query(`INSERT INTO workspaces (id, name, fail_deletes) VALUES ($1, $2, $3)`, [id, name, failDeletes]);
  }

  async insertApps(manager: EntityManager, workspaceId: string, apps: readonly NewApp[]): Promise<void> {
    if (apps.length === 0) return;
    await manager.query(
      `INSERT INTO apps (id, workspace_id, name, fail_deletes)
       SELECT a.id, $1, a.name, a.fail_deletes FROM unnest($2::text[], $3::text[], $4::int[]) AS a(id, name, fail_deletes)`,
      [workspaceId, apps.map((a) => a.id), apps.map((a) => a.name), apps.map((a) => a.failDeletes)],
    );
  }

  async insertElements(manager: EntityManager, workspaceId: string, elements: readonly NewElement[]): Promise<void> {
    if (elements.length === 0) return;
    await manager.query(
      `INSERT INTO elements (id, workspace_id, app_id, name, fail_deletes)
       SELECT e.id, $1, e.app_id, e.name, e.fail_deletes
         FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS e(id, app_id, name, fail_deletes)`,
      [workspaceId, elements.map((e) => e.id), elements.map((e) => e.appId), elements.map((e) => e.name), elements.map((e) => e.failDeletes)],
    );
  }

  /** The row and its schema, with a `records` table of `rows` rows, in the caller's transaction. */
  async createDatabase(manager: EntityManager, workspaceId: string, database: NewDatabase): Promise<void> {
    await manager.query(`INSERT INTO databases (id, workspace_id, name, schema_name, fail_deletes) VALUES ($1, $2, $3, $4, $5)`, [
      database.id,
      workspaceId,
      database.name,
      database.schemaName,
      database.failDeletes,
    ]);
    const schema = quoteIdentifier(database.schemaName);
    await manager.query(`CREATE SCHEMA ${schema}`);
    await manager.query(`CREATE TABLE ${schema}.records (id integer PRIMARY KEY, payload text NOT NULL)`);
    await manager.query(`INSERT INTO ${schema}.records SELECT i, md5(i::text) FROM generate_series(1, $1::int) AS i`, [database.rows]);
  }

  /**
   * Fault injection: true when this deletion must fail (`fail_deletes` ≠ 0),
   * counting a positive value down. Its own statement, committed even though
   * the attempt then fails.
   */
  async consumeInjectedFailure(kind: ResourceKind, id: string): Promise<boolean> {
    const [rows] = (await this.dataSource.query(
      `UPDATE ${RESOURCE_TABLES[kind]}
          SET fail_deletes = CASE WHEN fail_deletes > 0 THEN fail_deletes - 1 ELSE fail_deletes END
        WHERE id = $1 AND fail_deletes <> 0
       RETURNING id`,
      [id],
    )) as [unknown[], number];
    return rows.length > 0;
  }

  /** A workspace's apps and databases (they outlive the workspace row until their own tasks delete them). */
  async findWorkspaceDependents(manager: EntityManager, workspaceId: string): Promise<{ appIds: string[]; databaseIds: string[] }> {
    const apps: { id: string }[] = await manager.query(`SELECT id FROM apps WHERE workspace_id = $1 ORDER BY id`, [workspaceId]);
    const databases: { id: string }[] = await manager.query(`SELECT id FROM databases WHERE workspace_id = $1 ORDER BY id`, [workspaceId]);
    return { appIds: apps.map((a) => a.id), databaseIds: databases.map((d) => d.id) };
  }

  async findAppElements(manager: EntityManager, workspaceId: string, appId: string): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(`SELECT id FROM elements WHERE app_id = $1 AND workspace_id = $2 ORDER BY id`, [appId, workspaceId]);
    return rows.map((row) => row.id);
  }

  async deleteWorkspace(manager: EntityManager, workspaceId: string): Promise<void> {
    await manager.query(`DELETE FROM workspaces WHERE id = $1`, [workspaceId]);
  }

  async deleteApp(manager: EntityManager, workspaceId: string, appId: string): Promise<void> {
    await manager.query(`DELETE FROM apps WHERE id = $1 AND workspace_id = $2`, [appId, workspaceId]);
  }

  async deleteElement(workspaceId: string, elementId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM elements WHERE id = $1 AND workspace_id = $2`, [elementId, workspaceId]);
  }

  /** Locks the database row (so two runs cannot drop concurrently) and returns its schema; null when it is gone. */
  async lockDatabase(manager: EntityManager, workspaceId: string, databaseId: string): Promise<string | null> {
    const rows: { schema_name: string }[] = await manager.query(`SELECT schema_name FROM databases WHERE id = $1 AND workspace_id = $2 FOR UPDATE`, [
      databaseId,
      workspaceId,
    ]);
    return rows[0]?.schema_name ?? null;
  }

  /** Drops the schema with everything in it, and the row that owned it, in the caller's transaction (DDL is transactional). */
  async dropDatabase(manager: EntityManager, databaseId: string, schemaName: string): Promise<void> {
    await manager.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schemaName)} CASCADE`);
    await manager.query(`DELETE FROM databases WHERE id = $1`, [databaseId]);
  }
}
