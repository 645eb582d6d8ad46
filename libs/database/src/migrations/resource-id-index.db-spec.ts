import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { createTestDatabase, insertTasks } from '../../../../test/support/test-app';
import { buildDataSourceOptions } from '../data-source-options';
import { databaseSettingsFor } from '../database-settings';
import { ResourceIdIndex1764806400000 } from './1764806400000-resource-id-index';

describe('migration ResourceIdIndex1764806400000', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataSource: DataSource;
  const indexState = async (): Promise<{ valid: boolean } | undefined> =>
    (
      await dataSource.query(
        `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'cleanup_tasks_resource_id_idx'`,
      )
    )[0];

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = new DataSource(buildDataSourceOptions(databaseSettingsFor(database.url)));
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('is applied with the others, outside a transaction (CONCURRENTLY), and can be undone and redone', async () => {
    expect(await indexState()).toEqual({ valid: true });
    const migration = new ResourceIdIndex1764806400000();
    expect(migration.transaction).toBe(false);
    const runner = dataSource.createQueryRunner();
    try {
      await migration.down(runner);
      expect(await indexState()).toBeUndefined();
      await migration.up(runner);
      await migration.up(runner);
      expect(await indexState()).toEqual({ valid: true });
    } finally {
      await runner.release();
    }
  });

  it('serves look-ups by resource id and prefixes of it', async () => {
    await insertTasks(dataSource, [{ resourceId: 'app_123' }, { resourceId: 'app_124' }, { resourceId: 'db_1' }]);
    const plan = async (where: string) => {
      const runner = dataSource.createQueryRunner();
      try {
        await runner.startTransaction();
        await runner.query('SET LOCAL enable_seqscan = off');
        const rows: { 'QUERY PLAN': string }[] = await runner.query(`EXPLAIN SELECT id FROM cleanup_tasks WHERE ${where}`);
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
    };
    expect(await plan(`resource_id = 'app_123'`)).toContain('cleanup_tasks_resource_id_idx');
    expect(await plan(`resource_id LIKE 'app\\_%'`)).toContain('cleanup_tasks_resource_id_idx');
  });
});
