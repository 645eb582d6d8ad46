import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SchedulerRegistry } from '@nestjs/schedule';
import { COUNTS_COMPACTION_JOB } from '@app/cleanup-tasks/task-counts.compactor';
import { RETENTION_FIRST_SWEEP_JOB, RETENTION_SWEEP_JOB, STALE_LEASE_SWEEP_JOB } from '@app/scheduler';
import { WEBHOOK_RETENTION_FIRST_SWEEP_JOB, WEBHOOK_RETENTION_SWEEP_JOB } from '@app/webhooks/webhook-retention.sweeper';
import { RATE_LIMIT_FLUSH_JOB, RATE_LIMIT_PURGE_JOB } from '../apps/api/src/http/shared-rate-limit.store';
import { waitFor } from './support/scheduler';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';

describe('Periodic jobs of the app (@nestjs/schedule)', () => {
  describe('with the scheduler and retention on', () => {
    let sut: TestApp;
    beforeAll(async () => {
      sut = await createTestApp({ env: { SCHEDULER_ENABLED: 'true', RETENTION_ENABLED: 'true' } });
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('registers the counters compaction, the stale-lease sweep, the task and webhook retention and the rate-limit timers', () => {
      const timers = sut.app.get(SchedulerRegistry);
      expect(timers.getIntervals().sort()).toEqual(
        [COUNTS_COMPACTION_JOB, RETENTION_SWEEP_JOB, STALE_LEASE_SWEEP_JOB, WEBHOOK_RETENTION_SWEEP_JOB, RATE_LIMIT_FLUSH_JOB, RATE_LIMIT_PURGE_JOB].sort(),
      );
      expect(timers.getTimeouts().sort()).toEqual([RETENTION_FIRST_SWEEP_JOB, WEBHOOK_RETENTION_FIRST_SWEEP_JOB].sort());
    });

    it('folds the counters deltas on its own timer', async () => {
      await insertTasks(sut.dataSource, [{ status: 'completed' }, { status: 'failed' }]);
      const deltas = async () => Number((await sut.dataSource.query('SELECT count(*) AS n FROM cleanup_task_count_deltas'))[0].n);
      await waitFor('the compaction to fold the deltas', async () => (await deltas()) === 0, { timeoutMs: 10_000 });
      const counted = await sut.dataSource.query(`SELECT status, sum(n)::int AS n FROM cleanup_task_counts GROUP BY status ORDER BY status`);
      expect(counted).toEqual([
        { status: 'completed', n: 1 },
        { status: 'failed', n: 1 },
      ]);
    });
  });

  describe('an API-only process (SCHEDULER_ENABLED=false)', () => {
    let sut: TestApp;
    beforeAll(async () => {
      sut = await createTestApp();
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('still compacts the counters and shares the rate-limit budgets, and runs no scheduler sweeps', () => {
      expect(sut.app.get(SchedulerRegistry).getIntervals().sort()).toEqual([COUNTS_COMPACTION_JOB, RATE_LIMIT_FLUSH_JOB, RATE_LIMIT_PURGE_JOB].sort());
      expect(sut.app.get(SchedulerRegistry).getTimeouts()).toEqual([]);
    });
  });
});
