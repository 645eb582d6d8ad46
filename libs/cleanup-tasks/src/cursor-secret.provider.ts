import type { Provider } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '@app/common';
import { SqlExecutor } from '@app/database/sql-executor';
import { CursorCodec } from '@app/query-dsl';

/** The row of `service_secrets` holding the generated cursor key. */
export const CURSOR_SECRET_NAME = 'cursor_hmac_v1';

/**
 * The key list cursors are signed with: `CURSOR_SECRET` when configured
 * (several processes behind one load balancer must share it), else a random
 * 256-bit key generated once and kept in `service_secrets`, so cursors stay
 * valid across restarts and between processes on the same database without
 * any configuration. `ON CONFLICT DO NOTHING`, then a read, makes concurrent
 * first starts agree on one key.
 */
export async function loadCursorSecret(config: AppConfig, db: SqlExecutor): Promise<string> {
  if (config.CURSOR_SECRET) return config.CURSOR_SECRET;
  // Two statements: the SELECT must run in a snapshot taken after the INSERT
  // (which may have waited for a concurrent first start to commit its key).
  await db.query(`INSERT INTO service_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
    CURSOR_SECRET_NAME,
    randomBytes(32).toString('base64url'),
  ]);
  const { rows } = await db.query<{ secret: string }>(`SELECT secret FROM service_secrets WHERE name = $1`, [CURSOR_SECRET_NAME]);
  if (rows.length === 0) throw new Error('could not create or read the cursor secret');
  return rows[0].secret;
}

export const cursorCodecProvider: Provider = {
  provide: CursorCodec,
  inject: [AppConfig, SqlExecutor],
  useFactory: async (config: AppConfig, db: SqlExecutor) => new CursorCodec(await loadCursorSecret(config, db)),
};
