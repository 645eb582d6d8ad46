import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The reference resource model the shipped handlers clean up: workspaces →
 * apps → elements, and workspaces → databases, where a database row owns a
 * real PostgreSQL schema (`schema_name`) that `delete_database` drops.
 *
 * No foreign keys between these tables, on purpose: a cleanup handler deletes
 * its own row at once and leaves the dependents to its child tasks, which find
 * them by `workspace_id` / `app_id`. A cascade would delete `databases` rows
 * before their schemas were dropped, and RESTRICT would force a second run of
 * every parent after its children.
 *
 * Every row carries its `workspace_id`, and every deletion is scoped by the
 * task's workspace: a cleanup of one workspace never touches another's rows.
 *
 * `fail_deletes` is fault injection for demos and tests: the next N deletions
 * of the row fail (each failure counts one down); a negative value fails every
 * deletion. 0, the default, never fails.
 */
export class ReferenceResources1764576000000 implements MigrationInterface {
  name = 'ReferenceResources1764576000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE workspaces (
        id            text COLLATE "C" PRIMARY KEY,
        name          text NOT NULL,
        fail_deletes  integer NOT NULL DEFAULT 0,
        created_at    timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
    await q.query(`
      CREATE TABLE apps (
        id            text COLLATE "C" PRIMARY KEY,
        workspace_id  text COLLATE "C" NOT NULL,
        name          text NOT NULL,
        fail_deletes  integer NOT NULL DEFAULT 0,
        created_at    timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
    // delete_workspace lists a workspace's apps.
    await q.query(`CREATE INDEX apps_workspace_id_idx ON apps (workspace_id)`);
    await q.query(`
      CREATE TABLE elements (
        id            text COLLATE "C" PRIMARY KEY,
        workspace_id  text COLLATE "C" NOT NULL,
        app_id        text COLLATE "C" NOT NULL,
        name          text NOT NULL,
        fail_deletes  integer NOT NULL DEFAULT 0,
        created_at    timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
    // delete_app lists an app's elements.
    await q.query(`CREATE INDEX elements_app_id_idx ON elements (app_id)`);
    await q.query(`
      CREATE TABLE databases (
        id            text COLLATE "C" PRIMARY KEY,
        workspace_id  text COLLATE "C" NOT NULL,
        name          text NOT NULL,
        schema_name   text COLLATE "C" NOT NULL,
        fail_deletes  integer NOT NULL DEFAULT 0,
        created_at    timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT databases_schema_name_format CHECK (schema_name ~ '^wsdb_[a-z0-9_]{1,58}$')
      )`);
    // One row owns one schema.
    await q.query(`CREATE UNIQUE INDEX databases_schema_name_key ON databases (schema_name)`);
    // delete_workspace lists a workspace's databases.
    await q.query(`CREATE INDEX databases_workspace_id_idx ON databases (workspace_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE databases`);
    await q.query(`DROP TABLE elements`);
    await q.query(`DROP TABLE apps`);
    await q.query(`DROP TABLE workspaces`);
  }
}
