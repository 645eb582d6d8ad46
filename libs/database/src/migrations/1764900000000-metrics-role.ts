import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tokens may have the `metrics` role: a monitoring system's scraper, which reads `GET /metrics` and nothing else. */
export class MetricsRole1764900000000 implements MigrationInterface {
  name = 'MetricsRole1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_enum`);
    await q.query(`ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_enum CHECK (role IN ('admin', 'member', 'service', 'metrics'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM api_tokens WHERE role = 'metrics'`);
    await q.query(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_enum`);
    await q.query(`ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_enum CHECK (role IN ('admin', 'member', 'service'))`);
  }
}
