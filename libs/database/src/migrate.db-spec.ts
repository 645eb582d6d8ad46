import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { STATE_ENV } from '../../../test/support/test-database.config';
import { buildDataSourceOptions } from './data-source-options';
import { databaseSettingsFor } from './database-settings';
import { quoteIdentifier } from './embedded-postgres';
import { runMigrationsExclusively } from './migrate';
import { MIGRATIONS } from './migrations';

describe('runMigrationsExclusively (real PostgreSQL)', () => {
  const name = `cleanup_tasks_test_migrate_${process.pid}`;
  let server: DataSource;
  let url: string;

  beforeAll(async () => {
    server = await new DataSource({ type: 'postgres', url: process.env[STATE_ENV] }).initialize();
    await server.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    await server.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    const target = new URL(process.env[STATE_ENV]!);
    target.pathname = `/${name}`;
    url = target.toString();
  });
  afterAll(async () => {
    await server?.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    await server?.destroy();
  });

  it('lets processes that start together on an empty database apply every migration once, CREATE INDEX CONCURRENTLY ones included', async () => {
    const processes = await Promise.all([1, 2, 3].map(() => new DataSource(buildDataSourceOptions(databaseSettingsFor(url))).initialize()));
    try {
      const applied = await Promise.all(processes.map((dataSource) => runMigrationsExclusively(dataSource)));
      expect(applied.flat().sort()).toEqual(MIGRATIONS.map((migration) => new migration().name).sort());
      const [{ invalid }] = await processes[0].query(`SELECT count(*)::int AS invalid FROM pg_index WHERE NOT indisvalid`);
      expect(invalid).toBe(0);
    } finally {
      await Promise.all(processes.map((dataSource) => dataSource.destroy()));
    }
  });
});
