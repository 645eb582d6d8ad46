import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { TokensService } from '@app/auth';
import { CleanupTasksService } from '@app/cleanup-tasks';
import { AppConfig, ConfigValidationError, createLogger, validateEnvironment } from '@app/common';
import { attachOrStartEmbeddedPostgres, type EmbeddedPostgresHandle } from '@app/database';
import { ResourcesService, type ProvisionedWorkspace, type WorkspaceBlueprint } from '@app/resources';
import { AppModule } from './app.module';

/**
 * `npm run seed:demo`: realistic demo data in the database `npm start` uses
 * (DATABASE_URL, or the embedded PostgreSQL — the running server's when
 * `npm start` is up). Workspaces with apps, elements and databases (real
 * schemas), and cleanup trees in every status, made by the real scheduler.
 *
 * No scheduler running on the database (the server is stopped, or runs with
 * SCHEDULER_ENABLED=false): the seed runs its own, in three phases:
 * 1. short backoff: two workspaces cleaned up (completed), one whose element
 *    fails SCHEDULER_MAX_ATTEMPTS times (`fail_deletes`) → failed tree; a
 *    retry then succeeds;
 * 2. long backoff: one whose database fails once → in_progress tree, its
 *    database task pending until the backoff ends (the API finishes it);
 * 3. scheduler off: one enqueued → pending (the API runs it on start).
 *
 * A scheduler running (`npm start`, a worker): the seed enqueues the same
 * trees and leaves every one to it — two scheduler configurations racing
 * for the same tasks would make the outcome depend on who claims first. It
 * waits for the first three trees to settle; the others it leaves running.
 *
 * Either way one workspace is left alone, to enqueue by hand, and a member
 * token is printed.
 */

const RUN = Math.random().toString(36).slice(2, 6);

const settled = ['completed', 'failed'];

/** The demo workspaces; `failTimes`: how often Initech's "Cover sheet" element fails (the scheduler's attempt budget). */
const BLUEPRINTS = (failTimes: number) =>
  ({
    acme: {
      name: `Acme Corp ${RUN}`,
      apps: [
        { name: 'CRM', elements: ['Contacts table', 'Deals board', 'Pipeline chart', 'Import form'].map((name) => ({ name })) },
        { name: 'Billing', elements: ['Invoice form', 'Payments table', 'Dunning workflow'].map((name) => ({ name })) },
        { name: 'Support Desk', elements: 5 },
      ],
      databases: [{ name: 'crm-prod', rows: 2500 }, { name: 'billing-prod', rows: 800 }],
    },
    globex: {
      name: `Globex ${RUN}`,
      apps: [{ name: 'Analytics', elements: 6 }, { name: 'Status Page', elements: 2 }],
      databases: [{ name: 'analytics-warehouse', rows: 10_000 }],
    },
    initech: {
      name: `Initech ${RUN}`,
      apps: [
        { name: 'TPS Reports', elements: [{ name: 'Cover sheet', failDeletes: failTimes }, { name: 'Report grid' }, { name: 'Approval flow' }] },
        { name: 'Intranet', elements: 3 },
      ],
      databases: [{ name: 'reports-db', rows: 300 }],
    },
    umbrella: {
      name: `Umbrella ${RUN}`,
      apps: [{ name: 'Lab Notebook', elements: 4 }],
      databases: [{ name: 'samples-db', rows: 1200, failDeletes: 1 }, { name: 'audit-db', rows: 50 }],
    },
    stark: {
      name: `Stark Industries ${RUN}`,
      apps: [{ name: 'Armory', elements: 8 }, { name: 'Suit Telemetry', elements: 4 }],
      databases: [{ name: 'telemetry-db', rows: 5000 }],
    },
    hooli: { name: `Hooli ${RUN}`, apps: [{ name: 'Nucleus', elements: 3 }], databases: [{ name: 'nucleus-db', rows: 100 }] },
  }) satisfies Record<string, WorkspaceBlueprint>;

async function main(): Promise<void> {
  const baseConfig = validateEnvironment(process.env);
  let embedded: (EmbeddedPostgresHandle & { attached: boolean }) | undefined;
  if (!baseConfig.DATABASE_URL) {
    embedded = await attachOrStartEmbeddedPostgres({ dataDir: baseConfig.EMBEDDED_POSTGRES_DIR, port: baseConfig.EMBEDDED_POSTGRES_PORT, database: 'cleanup_tasks' });
    out(
      embedded.attached
        ? `Using the embedded PostgreSQL of the running server (data in ${baseConfig.EMBEDDED_POSTGRES_DIR}).`
        : `Started the embedded PostgreSQL (data in ${baseConfig.EMBEDDED_POSTGRES_DIR}, port ${baseConfig.EMBEDDED_POSTGRES_PORT}).`,
    );
  }
  const databaseUrl = baseConfig.DATABASE_URL ?? embedded!.url;
  try {
    if (await schedulerRunsOn(databaseUrl)) {
      await seedForRunningScheduler(databaseUrl, baseConfig.SCHEDULER_MAX_ATTEMPTS);
    } else {
      await seed(databaseUrl, baseConfig.SCHEDULER_MAX_ATTEMPTS);
    }
  } finally {
    await embedded?.stop();
  }
}

/**
 * Whether a scheduler process is connected to this database: each keeps a
 * LISTEN connection named `<application name>:listener` (DueTaskListener).
 * application_name is visible in pg_stat_activity to every role.
 */
async function schedulerRunsOn(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'cleanup-tasks%:listener'`,
    );
    return rows[0].n > 0;
  } finally {
    await client.end();
  }
}

async function seed(databaseUrl: string, maxAttempts: number): Promise<void> {
  const lines: string[] = [];
  const memberWorkspaces: string[] = [];
  const blueprints = BLUEPRINTS(maxAttempts);

  // 1. Trees that end completed or failed, with a short backoff.
  await withApp(databaseUrl, { SCHEDULER_ENABLED: 'true', SCHEDULER_BACKOFF_BASE_MS: '50', SCHEDULER_MAX_ATTEMPTS: String(maxAttempts) }, async (app) => {
    const acme = await provision(app, blueprints.acme);
    const globex = await provision(app, blueprints.globex);
    const initech = await provision(app, blueprints.initech);
    const roots = [await enqueue(app, acme, 'account_closed'), await enqueue(app, globex, 'trial_expired'), await enqueue(app, initech, 'gdpr_erasure')];
    await waitUntil(app, 'the first trees to finish', async (db) => {
      const rows: { status: string }[] = await db.query(`SELECT status FROM cleanup_tasks WHERE id = ANY($1)`, [roots]);
      return rows.every((row) => settled.includes(row.status));
    });
    lines.push(await describeTree(app, 'Acme Corp', roots[0]), await describeTree(app, 'Globex', roots[1]), await describeTree(app, 'Initech', roots[2]));
    lines.push(...(await coverSheetHint(app, initech, roots[2])));
    memberWorkspaces.push(acme.id, globex.id, initech.id);
  });

  // 2. A tree caught half-way: its database fails once and waits out a long backoff.
  await withApp(databaseUrl, { SCHEDULER_ENABLED: 'true', SCHEDULER_BACKOFF_BASE_MS: '600000', SCHEDULER_MAX_ATTEMPTS: String(maxAttempts) }, async (app) => {
    const umbrella = await provision(app, blueprints.umbrella);
    const root = await enqueue(app, umbrella, 'account_closed');
    await waitUntil(app, 'the Umbrella tree to wait on its database', async (db) => {
      const rows: { status: string; attempts: number }[] = await db.query(
        `SELECT status, attempts FROM cleanup_tasks WHERE parent_id = $1 OR parent_id IN (SELECT id FROM cleanup_tasks WHERE parent_id = $1)`,
        [root],
      );
      return rows.length === 7 && rows.filter((row) => row.status === 'pending' && row.attempts === 1).length === 1 && rows.filter((row) => row.status === 'completed').length === 6;
    });
    lines.push(await describeTree(app, 'Umbrella', root));
    lines.push(`      its "samples-db" database failed once and retries after a 5–10 minute backoff (the API's scheduler does it)`);
    memberWorkspaces.push(umbrella.id);
  });

  // 3. Scheduler off: a tree that stays pending until the API starts; one workspace left to delete by hand.
  await withApp(databaseUrl, { SCHEDULER_ENABLED: 'false' }, async (app) => {
    const stark = await provision(app, blueprints.stark);
    const hooli = await provision(app, blueprints.hooli);
    const root = await enqueue(app, stark, 'merged');
    lines.push(`${await describeTree(app, 'Stark Industries', root)}   (runs when the API starts)`);
    lines.push(...leftAlone(hooli));
    memberWorkspaces.push(stark.id, hooli.id);
    await finish(app, lines, memberWorkspaces, 'Then `npm start` and open http://127.0.0.1:3000/api/docs.');
  });
}

/** A scheduler already runs on the database: enqueue everything and let it work (see the file's comment). */
async function seedForRunningScheduler(databaseUrl: string, maxAttempts: number): Promise<void> {
  out('A scheduler is running on this database (npm start, or a worker): it runs the seeded trees. Waiting for the first three to settle…');
  const blueprints = BLUEPRINTS(maxAttempts);
  await withApp(databaseUrl, { SCHEDULER_ENABLED: 'false' }, async (app) => {
    const [acme, globex, initech, umbrella, stark, hooli] = [
      await provision(app, blueprints.acme),
      await provision(app, blueprints.globex),
      await provision(app, blueprints.initech),
      await provision(app, blueprints.umbrella),
      await provision(app, blueprints.stark),
      await provision(app, blueprints.hooli),
    ];
    const roots = [await enqueue(app, acme, 'account_closed'), await enqueue(app, globex, 'trial_expired'), await enqueue(app, initech, 'gdpr_erasure')];
    const umbrellaRoot = await enqueue(app, umbrella, 'account_closed');
    const starkRoot = await enqueue(app, stark, 'merged');
    await waitUntil(app, 'the running scheduler to settle the first trees', async (db) => {
      const rows: { status: string }[] = await db.query(`SELECT status FROM cleanup_tasks WHERE id = ANY($1)`, [roots]);
      return rows.every((row) => settled.includes(row.status));
    }, 180_000);
    const lines = [await describeTree(app, 'Acme Corp', roots[0]), await describeTree(app, 'Globex', roots[1]), await describeTree(app, 'Initech', roots[2])];
    lines.push(...(await coverSheetHint(app, initech, roots[2])));
    lines.push(await describeTree(app, 'Umbrella', umbrellaRoot));
    lines.push(`      its "samples-db" database fails once; the running scheduler retries it after its backoff and completes the tree`);
    lines.push(`${await describeTree(app, 'Stark Industries', starkRoot)}   (run by the running scheduler)`);
    lines.push(...leftAlone(hooli));
    await finish(app, lines, [acme.id, globex.id, initech.id, umbrella.id, stark.id, hooli.id], 'Open http://127.0.0.1:3000/api/docs.');
  });
}

/** What became of Initech's failing element, and how to retry. */
async function coverSheetHint(app: INestApplicationContext, initech: ProvisionedWorkspace, rootId: string): Promise<string[]> {
  const rows: { fail_deletes: number }[] = await app.get(DataSource).query(`SELECT fail_deletes FROM elements WHERE workspace_id = $1 AND name = 'Cover sheet'`, [initech.id]);
  if (rows.length === 0) return [`      its "Cover sheet" element failed and was deleted on a later attempt`];
  const left = rows[0].fail_deletes;
  return [
    left === 0
      ? `      its "Cover sheet" element failed every attempt (fail_deletes); the flag is used up now, so a retry succeeds:`
      : `      its "Cover sheet" element failed every attempt (fail_deletes); it fails ${left} more time(s), then a retry succeeds:`,
    `      curl -X POST localhost:3000/api/cleanup-tasks/${rootId}/retry -H "Authorization: Bearer $ADMIN"`,
  ];
}

function leftAlone(hooli: ProvisionedWorkspace): string[] {
  return [
    `  not deleted: Hooli ${hooli.id}: 1 app, 3 elements, 1 database (schema ${hooli.schemaNames[0]}); enqueue its cleanup yourself:`,
    `      curl -X POST localhost:3000/api/cleanup-tasks -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"resourceType":"delete_workspace","resourceId":"${hooli.id}","workspaceId":"${hooli.id}","sourceEventId":"evt_demo_${RUN}_hooli"}'`,
  ];
}

async function finish(app: INestApplicationContext, lines: string[], memberWorkspaces: string[], next: string): Promise<void> {
  const { secret } = await app.get(TokensService).create({ name: `demo member ${RUN}`, role: 'member', workspaceIds: memberWorkspaces });
  out('', 'Demo data seeded. Cleanup trees:', ...lines, '');
  out(`Member token for these ${memberWorkspaces.length} workspaces, shown this once:`, `  ${secret}`);
  out(`Admin: the token the first \`npm start\` printed (or BOOTSTRAP_ADMIN_TOKEN). ${next}`);
}

/** Runs `work` in an application context with the scheduler settings given, then shuts it down gracefully. */
async function withApp<T>(databaseUrl: string, env: Record<string, string>, work: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  const config: AppConfig = validateEnvironment({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', SCHEDULER_POLL_INTERVAL_MS: '500', ...env });
  const app = await NestFactory.createApplicationContext(AppModule.register({ config, databaseUrl }), { logger: createLogger(config.LOG_LEVEL), abortOnError: false });
  try {
    await app.init();
    return await work(app);
  } finally {
    await app.close();
  }
}

function provision(app: INestApplicationContext, blueprint: WorkspaceBlueprint): Promise<ProvisionedWorkspace> {
  return app.get(ResourcesService).provisionWorkspace(blueprint);
}

async function enqueue(app: INestApplicationContext, workspace: ProvisionedWorkspace, reason: string): Promise<string> {
  const { task } = await app.get(CleanupTasksService).enqueue({
    resourceType: 'delete_workspace',
    resourceId: workspace.id,
    workspaceId: workspace.id,
    sourceEventId: `evt_demo_${RUN}_${workspace.id.slice(-6).toLowerCase()}`,
    metadata: { requestedBy: 'ops@example.test', reason },
  });
  return task.id;
}

async function waitUntil(app: INestApplicationContext, what: string, done: (db: DataSource) => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const db = app.get(DataSource);
  const deadline = Date.now() + timeoutMs;
  while (!(await done(db))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function describeTree(app: INestApplicationContext, name: string, rootId: string): Promise<string> {
  const rows: { status: string; n: number }[] = await app.get(DataSource).query(
    `WITH RECURSIVE tree AS (SELECT id, status FROM cleanup_tasks WHERE id = $1
                             UNION ALL SELECT c.id, c.status FROM cleanup_tasks c JOIN tree ON c.parent_id = tree.id)
     SELECT status, count(*)::int AS n FROM tree GROUP BY status ORDER BY status`,
    [rootId],
  );
  const [root]: { status: string }[] = await app.get(DataSource).query(`SELECT status FROM cleanup_tasks WHERE id = $1`, [rootId]);
  const counts = rows.map((row) => `${row.n} ${row.status}`).join(', ');
  return `  ${root.status.padEnd(11)} ${name}: root ${rootId} (${counts})`;
}

function out(...lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigValidationError ? error.message : `Seeding failed: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`, () => process.exit(1));
});
