import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFor } from '@app/database';
import { RATE_LIMIT_FLUSH_INTERVAL_MS } from '../apps/api/src/http/shared-rate-limit.store';
import { API_ENTRY, startApi, stopApis, type ApiProcess } from './faults/support/processes';
import { assertBuildIsFresh, waitFor } from './support/scheduler';
import { createTestDatabase } from './support/test-app';

const ADMIN = `ctk_rate_limit_processes_${'a'.repeat(32)}`;
const LIMIT = 10;
/** Between two requests (alternating between the processes): 2.5 requests a second. */
const SPACING_MS = 400;

/**
 * Two processes of the built API on one database, with one client's
 * requests alternating between them: one budget, not one per process.
 */
describe('Rate limits across API processes', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: DataSource;
  let apis: ApiProcess[];

  beforeAll(async () => {
    assertBuildIsFresh(API_ENTRY, ['apps/api/src', 'libs']);
    database = await createTestDatabase();
    db = await new DataSource(buildDataSourceOptions(databaseSettingsFor(database.url))).initialize();
    const env = { DATABASE_URL: database.url, SCHEDULER_ENABLED: 'false', BOOTSTRAP_ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_MINUTE: String(LIMIT), DATABASE_POOL_SIZE: '4' };
    apis = await Promise.all([startApi(env), startApi(env)]);
  });
  afterAll(async () => {
    await stopApis();
    await db?.destroy();
    await database?.drop();
  });

  it('spends one budget for requests served by either process: 429 from both once the shared limit (plus the documented overshoot) is spent', async () => {
    // All of it in one window (windows are clock minutes): start early in one.
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 45_000) await sleep(60_000 - intoWindow + 100);

    const answers: { process: number; status: number }[] = [];
    for (let i = 0; i < 4 * LIMIT && answers.slice(-4).filter((answer) => answer.status === 429).length < 4; i++) {
      const target = i % 2;
      const response = await fetch(`${apis[target].base}/api/tokens`, { headers: { authorization: `Bearer ${ADMIN}` } });
      answers.push({ process: target, status: response.status });
      await sleep(SPACING_MS);
    }

    const admitted = answers.filter((answer) => answer.status === 200).length;
    // README "Rate limits": beyond the limit a client gets at most what it sends in about two flush
    // intervals (here 2.5 requests a second × 2 × RATE_LIMIT_FLUSH_INTERVAL_MS), plus the flushes' own time; allow 1 s for
    // that on a busy machine. Two separate budgets would have let 2 × LIMIT through.
    const overshootBound = Math.ceil((2 * RATE_LIMIT_FLUSH_INTERVAL_MS + 1000) / SPACING_MS);
    expect(admitted).toBeGreaterThanOrEqual(LIMIT);
    expect(admitted).toBeLessThanOrEqual(LIMIT + overshootBound);
    expect(LIMIT + overshootBound).toBeLessThan(2 * LIMIT);
    // Then both refuse (the loop ends after four 429s in a row, alternating between them).
    expect(answers.slice(-4).map((answer) => answer.status)).toEqual([429, 429, 429, 429]);
    expect(new Set(answers.slice(-4).map((answer) => answer.process))).toEqual(new Set([0, 1]));

    // Every request was counted once, against the token, in one row both processes add to.
    const rows = await waitFor(
      'both processes to flush their counts',
      async () => {
        const found: { client_key: string; hits: number }[] = await db.query(`SELECT client_key, hits FROM rate_limit_hits WHERE hits > 0`);
        return found.length === 1 && found[0].hits === answers.length && found;
      },
      { timeoutMs: 5000, intervalMs: 100 },
    );
    expect(rows[0].client_key).toMatch(/^token:[0-9a-f]{64}$/);
  });
});
