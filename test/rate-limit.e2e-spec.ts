import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { databaseSettingsFor, SqlExecutor } from '@app/database';
import type { Options } from 'express-rate-limit';
import { RateLimitHitsRepository } from '../apps/api/src/http/rate-limit-hits.repository';
import { SharedRateLimitStore } from '../apps/api/src/http/shared-rate-limit.store';
import { waitFor } from './support/scheduler';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { createTestApp, createTestDatabase, type TestApp } from './support/test-app';

describe('Shared rate-limit budgets on PostgreSQL [rate_limit_hits]', () => {
  let database: { url: string; drop(): Promise<void> };
  const executors: SqlExecutor[] = [];
  /** A store as one API process has it, with connections of its own. */
  const processStore = () => {
    const db = new SqlExecutor(databaseSettingsFor(database.url));
    executors.push(db);
    const store = new SharedRateLimitStore(new RateLimitHitsRepository(db));
    store.init({ windowMs: 60_000 } as Options);
    return store;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(executors.map((db) => db.onApplicationShutdown()));
    await database?.drop();
  });

  it('adds the counts of processes flushing the same keys at the same time, one row per key and window, and returns the totals', async () => {
    const [first, second] = [processStore(), processStore()];
    const keys = Array.from({ length: 50 }, (_, i) => `ip:192.0.2.${i}`);
    for (let round = 0; round < 10; round++) {
      for (const key of keys) first.increment(key);
      // The other process counts the same keys in the opposite order, twice each.
      for (const key of [...keys].reverse()) {
        second.increment(key);
        second.increment(key);
      }
      await Promise.all([first.flush(), second.flush()]);
    }
    const rows = await executors[0].query<{ client_key: string; hits: number }>('SELECT client_key, hits FROM rate_limit_hits ORDER BY client_key');
    expect(rows.rows).toHaveLength(keys.length);
    // 1 + 2 hits a round, 10 rounds: none lost, none counted twice.
    expect(new Set(rows.rows.map((row) => row.hits))).toEqual(new Set([30]));
    // A store answers from the total its last flush returned (both processes' hits) plus its own since.
    first.increment(keys[0]);
    await first.flush();
    expect(first.increment(keys[0]).totalHits).toBe(32);
  });
});

describe('Rate limiting behind proxies [TRUST_PROXY]', () => {
  const made = `ctk_made_up_${'x'.repeat(40)}`;
  const from = (sut: TestApp, forwardedFor: string) => request(sut.server).get('/api/tokens').auth(made, { type: 'bearer' }).set('X-Forwarded-For', forwardedFor);
  const statuses = async (sut: TestApp, forwardedFor: string[]) => {
    const seen: number[] = [];
    for (const header of forwardedFor) seen.push((await from(sut, header)).status);
    return seen;
  };

  describe('with the proxy trusted (TRUST_PROXY=loopback)', () => {
    let sut: TestApp;
    beforeAll(async () => {
      sut = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: 'loopback' } });
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('gives each client behind it a budget of its own, by the address the proxy appended to X-Forwarded-For', async () => {
      expect(await statuses(sut, ['203.0.113.7', '203.0.113.7', '203.0.113.7'])).toEqual([401, 401, 429]);
      expect(await statuses(sut, ['203.0.113.8', '203.0.113.8'])).toEqual([401, 401]);
      // What the client wrote in front of its own address is not believed: only the trusted proxy's last entry counts.
      expect(await statuses(sut, ['198.51.100.1, 203.0.113.7', '198.51.100.2, 203.0.113.9'])).toEqual([429, 401]);
    });
  });

  describe.each([
    ['unset (the default)', {}],
    ['naming other proxies (TRUST_PROXY=10.0.0.0/8)', { TRUST_PROXY: '10.0.0.0/8' }],
  ])('with TRUST_PROXY %s', (_name, env: Record<string, string>) => {
    let sut: TestApp;
    beforeAll(async () => {
      sut = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '2', ...env } });
    });
    afterAll(async () => {
      await sut?.close();
    });

    it("ignores an untrusted sender's X-Forwarded-For: every claimed address spends the connection's budget", async () => {
      expect(await statuses(sut, ['203.0.113.7', '203.0.113.8', '203.0.113.9'])).toEqual([401, 401, 429]);
    });
  });
});

describe('Rate limiting while PostgreSQL cannot be reached', () => {
  let proxy: TcpProxy;
  let sut: TestApp;

  beforeAll(async () => {
    proxy = await startTcpProxy(process.env.CLEANUP_TASKS_TEST_SERVER_URL!);
    sut = await createTestApp({
      connectVia: (url) => proxy.url(url),
      env: { RATE_LIMIT_PER_MINUTE: '5', AUTH_CACHE_TTL_MS: '60000', DATABASE_CONNECT_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await sut?.close();
    await proxy?.close();
  });

  it('keeps limiting on its own counts (429, never a 500 or a hang), and the shared budget goes on with them once the database is back', async () => {
    const call = () => request(sut.server).get('/api/tokens').auth(sut.tokens.admin, { type: 'bearer' }).timeout(10_000);
    // Wait for the start of a window with room for the test, so that all of it is counted in one.
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 40_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoWindow + 100));
    expect((await call()).status).toBe(200);
    await proxy.cut();
    const during: number[] = [];
    try {
      // Past a flush or two that fail.
      for (let i = 0; i < 6; i++) {
        during.push((await call()).status);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      await proxy.restore();
    }
    // The token's budget of 5: 1 spent before the outage, 4 more during it (503: the token was checked, its statement could not run).
    expect(during).toEqual([503, 503, 503, 503, 429, 429]);
    const row = await waitFor(
      'the counts of the outage to reach the shared row',
      async () => {
        const { rows } = await sut.db.query<{ hits: number }>(`SELECT hits FROM rate_limit_hits WHERE client_key LIKE 'token:%'`);
        return rows[0]?.hits === 7 && rows[0];
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(row).toEqual({ hits: 7 });
    expect((await call()).status).toBe(429);
  });
});
