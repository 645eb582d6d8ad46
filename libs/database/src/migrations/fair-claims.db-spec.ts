import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { createTestDatabase } from '../../../../test/support/test-app';
import { buildDataSourceOptions } from '../data-source-options';
import { databaseSettingsFor } from '../database-settings';
import { FairClaims1764970000000 } from './1764970000000-fair-claims';
import { CheaperStatusChanges1764970100000 } from './1764970100000-cheaper-status-changes';

describe('migrations FairClaims1764970000000 and CheaperStatusChanges1764970100000', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataSource: DataSource;

  /** Definition of each cleanup_tasks index named, with whether it is valid (null when absent). */
  const indexes = async (names: string[]): Promise<Record<string, string | null>> => {
    const rows: { name: string; definition: string; valid: boolean }[] = await dataSource.query(
      `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY($1)`,
      [names],
    );
    return Object.fromEntries(names.map((name) => {
      const row = rows.find((r) => r.name === name);
      return [name, row ? `${row.valid ? '' : 'INVALID '}${row.definition.replace(/^.* USING btree /, '')}` : null];
    }));
  };
  const NAMES = [
    'cleanup_tasks_due_idx',
    'cleanup_tasks_workspace_due_idx',
    'cleanup_tasks_running_idx',
    'cleanup_tasks_lease_idx',
    'cleanup_tasks_status_created_at_idx',
    'cleanup_tasks_resource_type_created_at_idx',
  ];
  const AFTER = {
    cleanup_tasks_due_idx: `(run_at) WITH (deduplicate_items=off) WHERE ((status <> ALL (ARRAY['in_progress'::text, 'completed'::text, 'failed'::text])) AND (attempts_base >= 0))`,
    cleanup_tasks_workspace_due_idx: `(workspace_id, run_at) WITH (deduplicate_items=off) WHERE ((status <> ALL (ARRAY['in_progress'::text, 'completed'::text, 'failed'::text])) AND (attempts >= 0))`,
    cleanup_tasks_running_idx: `(workspace_id, locked_until) WITH (deduplicate_items=off) WHERE ((status <> ALL (ARRAY['pending'::text, 'completed'::text, 'failed'::text])) AND (NOT awaiting_children))`,
    cleanup_tasks_lease_idx: null,
    cleanup_tasks_status_created_at_idx: `(status, created_at, id) WHERE (status = ANY (ARRAY['pending'::text, 'in_progress'::text, 'failed'::text]))`,
    cleanup_tasks_resource_type_created_at_idx: `(resource_type, created_at, id) WHERE (resource_type <> 'delete_element'::text)`,
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFor(database.url))).initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('are applied with the others, outside a transaction (CONCURRENTLY), and can be undone and redone', async () => {
    expect(await indexes(NAMES)).toEqual(AFTER);
    const fair = new FairClaims1764970000000();
    const cheaper = new CheaperStatusChanges1764970100000();
    expect([fair.transaction, cheaper.transaction]).toEqual([false, false]);
    const runner = dataSource.createQueryRunner();
    try {
      await cheaper.down(runner);
      await fair.down(runner);
      expect(await indexes(NAMES)).toEqual({
        cleanup_tasks_due_idx: `(run_at) WHERE (status = 'pending'::text)`,
        cleanup_tasks_workspace_due_idx: null,
        cleanup_tasks_running_idx: null,
        cleanup_tasks_lease_idx: `(locked_until) WHERE ((status = 'in_progress'::text) AND (NOT awaiting_children))`,
        cleanup_tasks_status_created_at_idx: '(status, created_at, id)',
        cleanup_tasks_resource_type_created_at_idx: '(resource_type, created_at, id)',
      });
      expect(await dataSource.query(`SELECT 1 FROM pg_proc WHERE proname = 'cleanup_tasks_free_slots'`)).toEqual([]);
      for (let run = 0; run < 2; run++) {
        await fair.up(runner);
        await cheaper.up(runner);
      }
      expect(await indexes(NAMES)).toEqual(AFTER);
      expect(await dataSource.query(`SELECT cleanup_tasks_free_slots('ws_nobody', 5) AS free`)).toEqual([{ free: 5 }]);
    } finally {
      await runner.release();
    }
  });
});
