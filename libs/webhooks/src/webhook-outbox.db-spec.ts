import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { newId, validateEnvironment } from '@app/common';
import { ADVISORY_LOCKS } from '@app/database/advisory-locks';
import { taskContractJson } from '@app/cleanup-tasks/task-columns';
import { buildDataSourceOptions, databaseSettingsFor, SqlExecutor } from '@app/database';
import { TaskQueueRepository } from '@app/scheduler/task-queue.repository';
import { TaskSettlement } from '@app/scheduler/task-settlement';
import { createTestDatabase, insertTasks } from '../../../test/support/test-app';
import { WebhookDeliveryQueue } from './webhook-delivery-queue.repository';
import type { WebhookEventType } from './webhook-events';
import { WebhookRetentionSweeper } from './webhook-retention.sweeper';
import { WebhookSecretCipher } from './webhook-secret-cipher';
import { WebhookSecretsAtRest } from './webhook-secrets-at-rest';
import { WebhooksRepository } from './webhooks.repository';
import { WebhookSettings } from './webhook-settings';

const WORKER = 'worker-a';
const LEASE_MS = 30_000;
const ALL_EVENTS: WebhookEventType[] = ['cleanup_task.tree.completed', 'cleanup_task.tree.failed', 'cleanup_task.failed'];

describe('Webhook outbox (trigger on cleanup_tasks) and delivery queue (real PostgreSQL)', () => {
  let database: { url: string; drop(): Promise<void> };
  let dataSource: DataSource;
  let db: SqlExecutor;
  let queue: TaskQueueRepository;
  let settlement: TaskSettlement;
  let sut: WebhookDeliveryQueue;

  const subscribe = async (events: WebhookEventType[] = ALL_EVENTS, workspaceIds: string[] | null = null): Promise<string> => {
    const id = newId('wh');
    await dataSource.query(`INSERT INTO webhook_subscriptions (id, url, events, workspace_ids, secret) VALUES ($1, $2, $3, $4, 'whsec_c2VjcmV0')`, [
      id,
      `http://127.0.0.1:9/${id}`,
      events,
      workspaceIds,
    ]);
    return id;
  };
  const events = async (): Promise<{ type: string; task_id: string; subscriptions: string[] }[]> =>
    dataSource.query(`
      SELECT e.type, e.task_row->>'id' AS task_id, array_agg(d.subscription_id ORDER BY d.subscription_id) AS subscriptions
        FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id
       GROUP BY e.id ORDER BY e.created_at, e.id`);
  const eventTypes = async () => (await events()).map((event) => `${event.type} ${event.task_id}`).sort();
  const contractJsonOf = async (id: string): Promise<string> => (await dataSource.query(`SELECT ${taskContractJson('t')} AS json FROM cleanup_tasks t WHERE id = $1`, [id]))[0].json;
  const lease = (id: string, { attempts = 0, leaseSeconds = 60 } = {}) =>
    dataSource.query(`UPDATE cleanup_tasks SET status = 'in_progress', locked_by = $2, locked_until = now() + $3 * interval '1 second', attempts = $4 WHERE id = $1`, [
      id,
      WORKER,
      leaseSeconds,
      attempts,
    ]);
  const addDeliveries = (subscription: string, count: number, dueSecondsAgo = 60) =>
    dataSource.query(
      `WITH e AS (INSERT INTO webhook_events (type, data) SELECT 'webhook.ping', '{}'::jsonb FROM generate_series(1, $2) RETURNING id)
       INSERT INTO webhook_deliveries (event_id, subscription_id, next_attempt_at) SELECT id, $1, now() - $3 * interval '1 second' FROM e`,
      [subscription, count, dueSecondsAgo],
    );
  const bySubscription = async (ids: string[]): Promise<Record<string, number>> => {
    const rows: { subscription_id: string; n: number }[] = await dataSource.query(
      `SELECT subscription_id, count(*)::int AS n FROM webhook_deliveries WHERE id = ANY($1) GROUP BY 1`,
      [ids],
    );
    return Object.fromEntries(rows.map((row) => [row.subscription_id, row.n]));
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFor(database.url))).initialize();
    db = new SqlExecutor(databaseSettingsFor(database.url, { poolSize: 12 }));
    queue = new TaskQueueRepository(db);
    settlement = new TaskSettlement(queue);
    sut = new WebhookDeliveryQueue(db);
  });
  afterAll(async () => {
    await db?.onApplicationShutdown();
    await dataSource?.destroy();
    await database?.drop();
  });
  beforeEach(async () => {
    await dataSource.query('DELETE FROM cleanup_tasks');
    await dataSource.query('DELETE FROM webhook_subscriptions');
    await dataSource.query('DELETE FROM webhook_events');
  });

  describe('the outbox trigger', () => {
    it('records nothing while no webhook is subscribed', async () => {
      const [root] = await insertTasks(dataSource, [{ status: 'in_progress' }]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'failed', last_error = 'x' WHERE id = $1`, [root]);
      expect(await dataSource.query(`SELECT * FROM webhook_events`)).toEqual([]);
    });

    it('records a root reaching completed for the subscriptions of that event, in the same transaction as the change', async () => {
      const [all, treesOnly] = [await subscribe(), await subscribe(['cleanup_task.tree.completed'])];
      await subscribe(['cleanup_task.failed']);
      const [root] = await insertTasks(dataSource, [{ status: 'in_progress' }]);
      const complete = `UPDATE cleanup_tasks SET status = 'completed', completed_at = now() WHERE id = $1`;

      const client = await db.connect();
      try {
        await client.query('BEGIN');
        await client.query(complete, [root]);
        expect(await client.query(`SELECT count(*)::int AS n FROM webhook_events`)).toMatchObject({ rows: [{ n: 1 }] });
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      expect(await events()).toEqual([]);

      await dataSource.query(complete, [root]);
      expect(await events()).toEqual([{ type: 'cleanup_task.tree.completed', task_id: root, subscriptions: [all, treesOnly].sort() }]);
    });

    it('keeps to the workspaces a subscription names', async () => {
      const [alpha, any] = [await subscribe(ALL_EVENTS, ['ws_alpha']), await subscribe()];
      const [inAlpha, inBeta] = await insertTasks(dataSource, [{ workspaceId: 'ws_alpha', status: 'in_progress' }, { workspaceId: 'ws_beta', status: 'in_progress' }]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'completed', completed_at = now() WHERE id = ANY($1)`, [[inAlpha, inBeta]]);
      const recorded = await events();
      expect(recorded.find((event) => event.task_id === inAlpha)!.subscriptions).toEqual([alpha, any].sort());
      expect(recorded.find((event) => event.task_id === inBeta)!.subscriptions).toEqual([any]);
    });

    it('records nothing for children completing, tasks starting or going back to pending', async () => {
      await subscribe();
      const [root] = await insertTasks(dataSource, [{ status: 'in_progress' }]);
      const [child] = await insertTasks(dataSource, [{ parentId: root, resourceType: 'delete_app', status: 'in_progress' }]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'completed', completed_at = now() WHERE id = $1`, [child]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'pending' WHERE id = $1`, [root]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'in_progress' WHERE id = $1`, [root]);
      expect(await events()).toEqual([]);
    });

    it('sends cleanup_task.failed for the task that failed by itself, not for the ancestors that fail because of it (worker path)', async () => {
      await subscribe();
      const [root] = await insertTasks(dataSource, [{ workspaceId: 'ws_tree' }]);
      const [app] = await insertTasks(dataSource, [{ parentId: root, workspaceId: 'ws_tree', resourceType: 'delete_app' }]);
      const [element] = await insertTasks(dataSource, [
        { parentId: app, workspaceId: 'ws_tree', resourceType: 'delete_element' },
        { parentId: app, workspaceId: 'ws_tree', resourceType: 'delete_element', status: 'completed' },
      ]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'in_progress', awaiting_children = true WHERE id = ANY($1)`, [[root, app]]);
      await lease(element);

      expect(await settlement.failFinally(WORKER, { id: element, parentId: app }, 'disk on fire')).toBe('failed');
      expect((await dataSource.query(`SELECT status FROM cleanup_tasks WHERE id = ANY($1)`, [[root, app]])).map((row: { status: string }) => row.status)).toEqual(['failed', 'failed']);
      expect(await eventTypes()).toEqual([`cleanup_task.failed ${element}`, `cleanup_task.tree.failed ${root}`].sort());
    });

    it('treats a parent whose handler finished after a child had failed (settle path) as failed because of the child', async () => {
      await subscribe();
      const [parent] = await insertTasks(dataSource, [{}]);
      await insertTasks(dataSource, [{ parentId: parent, resourceType: 'delete_app', status: 'failed', lastError: 'boom' }]);
      await lease(parent);
      expect(await settlement.settle(WORKER, { id: parent, parentId: null }, [])).toBe('failed');
      expect(await eventTypes()).toEqual([`cleanup_task.tree.failed ${parent}`]);
    });

    it('sends both events for a root that fails by itself, and cleanup_task.failed for a lease that expired with its budget spent', async () => {
      await subscribe();
      const [root, crashed] = await insertTasks(dataSource, [{}, { resourceType: 'delete_app' }]);
      await lease(root);
      expect(await settlement.failFinally(WORKER, { id: root, parentId: null }, 'permanent: not allowed')).toBe('failed');
      await dataSource.query(`UPDATE cleanup_tasks SET parent_id = $2 WHERE id = $1`, [crashed, root]);
      await lease(crashed, { attempts: 5, leaseSeconds: -1 });
      expect(await queue.expireLease(crashed, 5)).toMatchObject({ status: 'failed' });
      expect(await eventTypes()).toEqual([`cleanup_task.failed ${crashed}`, `cleanup_task.failed ${root}`, `cleanup_task.tree.failed ${root}`].sort());
    });

    it('keeps the task as it was: the delivered data is the contract JSON of that moment, whatever happens to the task later', async () => {
      await subscribe();
      const [root] = await insertTasks(dataSource, [{ metadata: { b: 1, a: { nested: [1, 'x', null] } }, sourceEventId: 'evt_1' }]);
      await lease(root);
      await settlement.failFinally(WORKER, { id: root, parentId: null }, 'quota "exceeded"');
      const thenJson = await contractJsonOf(root);
      expect(JSON.parse(thenJson)).toMatchObject({ status: 'failed', lastError: 'quota "exceeded"', attempts: 0 });

      expect(await queue.requeueFailedSubtree(root)).toMatchObject({ requeued: 1 });
      await dataSource.query(`UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second'`);
      const claimed = await sut.claim(WORKER, 10, 5, LEASE_MS);
      const loaded = await sut.load(WORKER, claimed);
      expect(loaded).toHaveLength(2);
      for (const delivery of loaded) {
        const body = JSON.parse(delivery.body) as { type: string; timestamp: string; data: unknown };
        expect(Object.keys(body)).toEqual(['type', 'timestamp', 'data']);
        expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(delivery.body.endsWith(`,"data":${thenJson}}`)).toBe(true);
      }
      expect(JSON.parse(await contractJsonOf(root))).toMatchObject({ status: 'pending' });
    });
  });

  describe('claiming deliveries', () => {
    it('serves every subscription in one claim, at most `perSubscription` each, oldest due first within one', async () => {
      const [flooded, quiet, other] = [await subscribe(), await subscribe(), await subscribe()];
      await addDeliveries(flooded, 500, 600);
      await addDeliveries(quiet, 2, 1);
      await addDeliveries(other, 1, 1);
      const claimed = await sut.claim(WORKER, 10, 5, LEASE_MS);
      expect(await bySubscription(claimed)).toEqual({ [flooded]: 5, [quiet]: 2, [other]: 1 });
      // The flooded subscription has 5 in flight: nothing more for it until one ends.
      expect(await sut.claim(WORKER, 10, 5, LEASE_MS)).toEqual([]);
    });

    it('never has more than `perSubscription` in flight for one subscription, however many processes claim at once', async () => {
      const flooded = await subscribe();
      await addDeliveries(flooded, 300);
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => sut.claim(`w${i}`, 10, 4, LEASE_MS)));
      expect(claims.flat()).toHaveLength(4);
      expect(new Set(claims.flat()).size).toBe(4);
    });

    it('takes turns between subscriptions when slots are scarce (round robin)', async () => {
      const subscriptions = [await subscribe(), await subscribe(), await subscribe()];
      for (const subscription of subscriptions) await addDeliveries(subscription, 20);
      const served: string[] = [];
      for (let i = 0; i < 6; i++) {
        const [id] = await sut.claim(WORKER, 1, 5, LEASE_MS);
        served.push(Object.keys(await bySubscription([id]))[0]);
        await dataSource.query(`UPDATE webhook_deliveries SET status = 'delivered', finished_at = now(), locked_by = NULL WHERE id = $1`, [id]);
      }
      expect(new Set(served.slice(0, 3)).size).toBe(3);
      expect(served.slice(3)).toEqual(served.slice(0, 3));
    });

    it("gets another subscription's first event out at once behind a backlog of 20,000 events, reading two index probes per subscription", async () => {
      const [flooded, quiet] = [await subscribe(['cleanup_task.failed']), await subscribe()];
      await addDeliveries(flooded, 20_000, 3600);
      await dataSource.query('ANALYZE webhook_deliveries');
      const [root] = await insertTasks(dataSource, [{ status: 'in_progress' }]);
      await dataSource.query(`UPDATE cleanup_tasks SET status = 'completed', completed_at = now() WHERE id = $1`, [root]);
      await dataSource.query(`UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 millisecond' WHERE subscription_id = $1`, [quiet]);

      const claimed = await sut.claim(WORKER, 10, 5, LEASE_MS);
      expect(await bySubscription(claimed)).toEqual({ [flooded]: 5, [quiet]: 1 });
      const [plan] = await dataSource.query(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT d.id FROM webhook_deliveries AS d
          WHERE d.subscription_id = $1 AND d.status = 'pending' AND d.next_attempt_at <= now() ORDER BY d.next_attempt_at, d.id LIMIT 5`,
        [flooded],
      );
      const text = JSON.stringify(plan);
      expect(text).toContain('webhook_deliveries_due_idx');
      expect(text).not.toContain('Seq Scan');
    });
  });

  describe('recording attempts', () => {
    const attemptOf = (delivery: { id: string; subscriptionId: string; eventId: string; attempt: number }, ok: boolean) => ({
      deliveryId: delivery.id,
      subscriptionId: delivery.subscriptionId,
      eventId: delivery.eventId,
      attempt: delivery.attempt,
      attemptedAt: new Date(),
      durationMs: 12,
      statusCode: ok ? 200 : 500,
      error: ok ? null : 'answered 500',
      ok,
    });

    it('retries after the delay, gives up after the last attempt, and logs every attempt', async () => {
      const subscription = await subscribe();
      await addDeliveries(subscription, 1);
      const claimOne = async () => (await sut.load(WORKER, await sut.claim(WORKER, 1, 5, LEASE_MS)))[0];

      const first = await claimOne();
      expect(first.attempt).toBe(1);
      expect(await sut.record(WORKER, attemptOf(first, false), 2, 60_000)).toBe('pending');
      expect(await sut.claim(WORKER, 1, 5, LEASE_MS)).toEqual([]);
      const next = await sut.nextDueInMs();
      expect(next).toBeGreaterThan(55_000);

      await dataSource.query(`UPDATE webhook_deliveries SET next_attempt_at = now()`);
      const second = await claimOne();
      expect(second).toMatchObject({ attempt: 2, eventId: first.eventId });
      expect(await sut.record('someone-else', attemptOf(second, true), 2, 0)).toBe('lease_lost');
      expect(await sut.record(WORKER, attemptOf(second, false), 2, 0)).toBe('failed');
      const log: { attempt: number; status_code: number }[] = await dataSource.query(`SELECT attempt, status_code FROM webhook_delivery_attempts ORDER BY id`);
      expect(log.map((row) => row.attempt)).toEqual([1, 2, 2]);
    });

    it('records nothing, and does not fail, for a delivery whose webhook was deleted during the attempt', async () => {
      const subscription = await subscribe();
      await addDeliveries(subscription, 1);
      const [claimed] = await sut.load(WORKER, await sut.claim(WORKER, 1, 5, LEASE_MS));
      await dataSource.query(`DELETE FROM webhook_subscriptions WHERE id = $1`, [subscription]);
      expect(await sut.record(WORKER, attemptOf(claimed, true), 10, 0)).toBe('lease_lost');
      expect(await dataSource.query(`SELECT * FROM webhook_delivery_attempts`)).toEqual([]);
    });

    it('signs with a rotated-out secret only while its overlap lasts', async () => {
      const subscription = await subscribe();
      await dataSource.query(`UPDATE webhook_subscriptions SET previous_secret = 'whsec_b2xk', previous_secret_expires_at = now() + interval '1 hour'`);
      await addDeliveries(subscription, 2);
      const [during] = await sut.load(WORKER, await sut.claim(WORKER, 1, 5, LEASE_MS));
      expect(during.storedSecrets).toEqual(['whsec_c2VjcmV0', 'whsec_b2xk']);
      await dataSource.query(`UPDATE webhook_subscriptions SET previous_secret_expires_at = now() - interval '1 second'`);
      const [after] = await sut.load(WORKER, await sut.claim(WORKER, 1, 5, LEASE_MS));
      expect(after.storedSecrets).toEqual(['whsec_c2VjcmV0']);
    });
  });

  describe('secrets at rest', () => {
    it('seals, at start-up with WEBHOOK_SECRETS_KEY, the secrets stored in the clear before it was set, current and previous', async () => {
      const subscription = await subscribe();
      await dataSource.query(`UPDATE webhook_subscriptions SET previous_secret = 'whsec_b2xk', previous_secret_expires_at = now() + interval '1 hour'`);
      const cipher = new WebhookSecretCipher('a-key-of-at-least-thirty-two-characters');
      await new WebhookSecretsAtRest(cipher, new WebhooksRepository(db)).onApplicationBootstrap();
      const [row] = await dataSource.query(`SELECT secret, previous_secret FROM webhook_subscriptions WHERE id = $1`, [subscription]);
      expect([row.secret, row.previous_secret].every((stored: string) => stored.startsWith('enc:v1:'))).toBe(true);
      expect([cipher.open(row.secret, subscription), cipher.open(row.previous_secret, subscription)]).toEqual(['whsec_c2VjcmV0', 'whsec_b2xk']);
      await new WebhookSecretsAtRest(cipher, new WebhooksRepository(db)).onApplicationBootstrap();
      expect((await dataSource.query(`SELECT secret FROM webhook_subscriptions WHERE id = $1`, [subscription]))[0].secret).toBe(row.secret);
    });
  });

  describe('retention', () => {
    it('purges settled deliveries older than the cutoff with their attempts, and the events nothing refers to any more', async () => {
      const subscription = await subscribe();
      await addDeliveries(subscription, 4);
      const deliveries: { id: string; event_id: string }[] = await dataSource.query(`SELECT id, event_id FROM webhook_deliveries ORDER BY id`);
      const [old, oldFailed, recent, pending] = deliveries;
      await dataSource.query(`UPDATE webhook_deliveries SET status = 'delivered', finished_at = now() - interval '8 days' WHERE id = $1`, [old.id]);
      await dataSource.query(`UPDATE webhook_deliveries SET status = 'failed', finished_at = now() - interval '8 days' WHERE id = $1`, [oldFailed.id]);
      await dataSource.query(`UPDATE webhook_deliveries SET status = 'delivered', finished_at = now() - interval '1 day' WHERE id = $1`, [recent.id]);
      await dataSource.query(`UPDATE webhook_events SET created_at = now() - interval '9 days'`);
      await dataSource.query(
        `INSERT INTO webhook_delivery_attempts (delivery_id, subscription_id, event_id, attempt, attempted_at, duration_ms) SELECT id, subscription_id, event_id, 1, now(), 1 FROM webhook_deliveries`,
      );

      expect(await sut.purge(new Date(Date.now() - 7 * 86_400_000), 1000)).toEqual({ deliveries: 2, events: 2 });
      expect((await dataSource.query(`SELECT id FROM webhook_deliveries ORDER BY id`)).map((row: { id: string }) => row.id)).toEqual([recent.id, pending.id]);
      expect((await dataSource.query(`SELECT id FROM webhook_events ORDER BY id`)).map((row: { id: string }) => row.id)).toEqual([recent.event_id, pending.event_id].sort());
      expect((await dataSource.query(`SELECT delivery_id FROM webhook_delivery_attempts ORDER BY delivery_id`)).map((row: { delivery_id: string }) => row.delivery_id)).toEqual([recent.id, pending.id]);
    });

    it('sweeps with WEBHOOK_RETENTION_DAYS, in one process at a time (advisory lock)', async () => {
      const sweeper = new WebhookRetentionSweeper(WebhookSettings.from(validateEnvironment({ WEBHOOK_RETENTION_DAYS: '2' })), sut);
      const subscription = await subscribe();
      await addDeliveries(subscription, 2);
      await dataSource.query(`UPDATE webhook_deliveries SET status = 'delivered', finished_at = now() - interval '3 days'`);
      await dataSource.query(`UPDATE webhook_events SET created_at = now() - interval '3 days'`);

      const holder = await db.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.webhookRetention]);
        expect(await sweeper.sweep()).toEqual({ skipped: true, deliveries: 0, events: 0 });
        await holder.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.webhookRetention]);
      } finally {
        holder.release();
      }
      expect(await sweeper.sweep(new Date(Date.now() - 2 * 86_400_000))).toEqual({ skipped: false, deliveries: 0, events: 0 });
      expect(await sweeper.sweep()).toEqual({ skipped: false, deliveries: 2, events: 2 });
    });
  });
});
