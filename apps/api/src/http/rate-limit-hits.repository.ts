import { Injectable } from '@nestjs/common';
import { SqlExecutor } from '@app/database/sql-executor';

/**
 * The connections of the shared budgets: a pool of one beside the main pool,
 * so that a flush never queues behind requests or the scheduler for a main
 * connection (it waits at most a second for its own, then the next flush
 * tries again), and a statement timeout so that a stuck flush cannot hold
 * it for long. Meanwhile requests are answered from the counts in memory.
 */
const RATE_LIMIT_POOL = { name: 'rate-limit', shape: { max: 1, statementTimeoutMs: 2000, waitMs: 1000 } } as const;

/** The SQL of the shared rate-limit budgets (table `rate_limit_hits`). */
@Injectable()
export class RateLimitHitsRepository {
  constructor(private readonly db: SqlExecutor) {}

  /**
   * Adds each key's hits (a delta; a request moved to another key takes one
   * back) to its row of the window, in one statement, and returns every
   * given key's total across all processes. `keys` must be distinct; sorted,
   * so that processes flushing the same keys lock their rows in the same
   * order and never deadlock.
   */
  async addHits(windowStart: Date, keys: readonly string[], hits: readonly number[]): Promise<Map<string, number>> {
    const { rows } = await this.db.sidePool(RATE_LIMIT_POOL.name, RATE_LIMIT_POOL.shape).query<{ client_key: string; hits: number }>(
      `INSERT INTO rate_limit_hits AS t (window_start, client_key, hits)
       SELECT $1, d.client_key, d.hits FROM unnest($2::text[], $3::int[]) AS d(client_key, hits)
       ON CONFLICT (window_start, client_key) DO UPDATE SET hits = t.hits + excluded.hits
       RETURNING client_key, hits`,
      [windowStart, keys, hits],
    );
    return new Map(rows.map((row) => [row.client_key, row.hits]));
  }

  /** Deletes the windows that started before `windowStart`; returns how many rows went. */
  async purgeBefore(windowStart: Date): Promise<number> {
    const { rowCount } = await this.db.sidePool(RATE_LIMIT_POOL.name, RATE_LIMIT_POOL.shape).query('DELETE FROM rate_limit_hits WHERE window_start < $1', [windowStart]);
    return rowCount ?? 0;
  }
}
