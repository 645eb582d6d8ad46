import type { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { TokensService } from '@app/auth';
import { validateEnvironment, newId } from '@app/common';
import { quoteIdentifier, SqlExecutor } from '@app/database';
import type { CleanupTask } from '@app/cleanup-tasks';
import { createApp } from '../../apps/api/src/create-app';
import { STATE_ENV, TEMPLATE_DATABASE } from './test-database.config';

export interface TestTokens {
  /** Admin token. */
  admin: string;
  /** Member of workspaces `ws_alpha` and `ws_beta`. */
  member: string;
  /** Member of `ws_gamma` only. */
  otherMember: string;
  /** A revoked admin token. */
  revoked: string;
  /** A service token (enqueues, reads all). */
  service: string;
  /** A metrics token (reads /metrics, nothing else). */
  metrics: string;
}

export interface TestApp {
  app: NestExpressApplication;
  /** The HTTP server, for supertest's `request(...)`. */
  server: ReturnType<NestExpressApplication['getHttpServer']>;
  dataSource: DataSource;
  /** The app's own SqlExecutor. */
  db: SqlExecutor;
  /** The test database itself (the app may reach it through `connectVia`). */
  databaseUrl: string;
  tokens: TestTokens;
  close(): Promise<void>;
}

let databaseCounter = 0;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A database of its own for one test file, cloned from the migrated template
 * (fast, isolated); `empty` (no tables: the app's start-up migrates it).
 */
export async function createTestDatabase({ empty = false } = {}): Promise<TestDatabase> {
  const serverUrl = process.env[STATE_ENV];
  if (!serverUrl) throw new Error(`${STATE_ENV} is not set: run the e2e tests through jest (global setup starts PostgreSQL)`);
  const name = `cleanup_tasks_test_${process.pid}_${++databaseCounter}_${Date.now().toString(36)}`;
  const admin = new DataSource({ type: 'postgres', url: serverUrl });
  await admin.initialize();
  try {
    await admin.query(`CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(empty ? 'template0' : TEMPLATE_DATABASE)}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = new DataSource({ type: 'postgres', url: serverUrl });
      await dropper.initialize();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
      } finally {
        await dropper.destroy();
      }
    },
  };
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** The database (dropped on close); default a fresh clone of the template. */
  database?: TestDatabase;
  /** Rewrites the URL the application connects with (a proxy a test can cut, a pooler). */
  connectVia?: (databaseUrl: string) => string;
}

/**
 * The real application on a fresh database, with ready-made tokens. The
 * scheduler is off unless asked for, so that rows stay as a test writes them.
 * `connectVia` rewrites the URL the application connects with (a proxy a
 * test can cut); `databaseUrl` stays the database's own.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const config = validateEnvironment({ LOG_LEVEL: 'silent', SCHEDULER_ENABLED: 'false', RATE_LIMIT_PER_MINUTE: '100000', ...options.env });
  const app = await createApp({ config, databaseUrl: options.connectVia?.(database.url) ?? database.url });
  await app.init();
  const tokensService = app.get(TokensService);
  const make = async (role: 'admin' | 'member' | 'service' | 'metrics', workspaceIds?: string[]) =>
    (await tokensService.create({ name: `test ${role}`, role, workspaceIds })).secret;
  const revoked = await tokensService.create({ name: 'revoked admin', role: 'admin' });
  await tokensService.revoke(revoked.token.id);
  const tokens: TestTokens = {
    admin: await make('admin'),
    member: await make('member', ['ws_alpha', 'ws_beta']),
    otherMember: await make('member', ['ws_gamma']),
    revoked: revoked.secret,
    service: await make('service'),
    metrics: await make('metrics'),
  };
  return {
    app,
    server: app.getHttpServer(),
    dataSource: app.get(DataSource),
    db: app.get(SqlExecutor),
    databaseUrl: database.url,
    tokens,
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}

export type TaskRow = Partial<Omit<CleanupTask, 'createdAt' | 'completedAt'>> & {
  createdAt?: Date | string;
  completedAt?: Date | string | null;
};

/** Inserts tasks as given (defaults fill the rest) and returns their ids, in order. */
export async function insertTasks(dataSource: DataSource, rows: TaskRow[]): Promise<string[]> {
  const ids: string[] = [];
  for (const row of rows) {
    const id = row.id ?? newId('ct');
    const status = row.status ?? 'pending';
    await dataSource.query(
      `INSERT INTO cleanup_tasks (id, parent_id, workspace_id, source_event_id, resource_type, resource_id, metadata,
                                  status, attempts, last_error, created_at, completed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11::timestamptz, date_trunc('milliseconds', now())), $12)`,
      [
        id,
        row.parentId ?? null,
        row.workspaceId ?? 'ws_alpha',
        row.sourceEventId ?? null,
        row.resourceType ?? 'delete_workspace',
        row.resourceId ?? `res_${id.slice(-8)}`,
        JSON.stringify(row.metadata ?? {}),
        status,
        row.attempts ?? 0,
        row.lastError ?? null,
        row.createdAt ?? null,
        row.completedAt !== undefined ? row.completedAt : status === 'completed' ? new Date() : null,
      ],
    );
    ids.push(id);
  }
  return ids;
}
