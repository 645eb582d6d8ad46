import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFor } from '@app/database';
import { PROBE_RUNS_DDL } from './probe-worker/probe.handlers';
import { assertWorkerBuildIsFresh, stopWorkers } from './scheduler';
import { createTestDatabase } from './test-app';

/**
 * The common set-up of a suite of worker processes: the probe worker's build
 * checked, a database of the suite's own with the probe journal
 * (scheduler_probe_runs), emptied before each test; after the suite the
 * workers stopped and the database dropped. Call it at the top of a
 * `describe`; read `url` and `db` inside the tests.
 */
export function useProbeDatabase(): { readonly url: string; readonly db: DataSource } {
  let database: { url: string; drop(): Promise<void> } | undefined;
  let db: DataSource | undefined;
  beforeAll(async () => {
    assertWorkerBuildIsFresh();
    database = await createTestDatabase();
    db = await new DataSource(buildDataSourceOptions(databaseSettingsFor(database.url))).initialize();
    await db.query(PROBE_RUNS_DDL);
  });
  afterAll(async () => {
    await stopWorkers();
    await db?.destroy();
    await database?.drop();
  });
  beforeEach(async () => {
    await db!.query('TRUNCATE cleanup_tasks, scheduler_probe_runs');
  });
  return {
    get url() {
      return database!.url;
    },
    get db() {
      return db!;
    },
  };
}
