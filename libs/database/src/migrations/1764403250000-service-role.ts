import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tokens may have the `service` role: producers that enqueue work and read all tasks. */
export class ServiceRole1764403250000 implements MigrationInterface {
  name = 'ServiceRole1764403250000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_enum`);
    await q.query(`ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_enum CHECK (role IN ('admin', 'member', 'service'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM api_tokens WHERE role = 'service'`);
    await q.query(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_enum`);
    await q.query(`ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_enum CHECK (role IN ('admin', 'member'))`);
  }
}
