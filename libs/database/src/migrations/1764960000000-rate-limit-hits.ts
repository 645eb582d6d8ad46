import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `rate_limit_hits`: the API's request budgets, shared by all its processes.
 * One row per client key and fixed window (a minute): each process counts
 * in memory and adds its counts to these rows at most twice a second in
 * one statement, so a client's row is written once per flush per process,
 * never once per request.
 *
 * UNLOGGED: the counts live for a minute or two, so they are not worth WAL
 * (nor replication); after a crash PostgreSQL empties the table and the
 * budgets of the current minute start again, which is all that is lost.
 *
 * The primary key leads with the window: the flush's upsert finds its rows
 * by (window_start, client_key), and the purge removes whole past windows
 * as one range of it.
 */
export class RateLimitHits1764960000000 implements MigrationInterface {
  name = 'RateLimitHits1764960000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE rate_limit_hits (
        window_start timestamptz NOT NULL,
        client_key   text COLLATE "C" NOT NULL,
        hits         integer NOT NULL,
        PRIMARY KEY (window_start, client_key)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limit_hits`);
  }
}
