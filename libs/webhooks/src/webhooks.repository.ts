import { Injectable } from '@nestjs/common';
import { SqlExecutor } from '@app/database/sql-executor';
import { PING_EVENT_TYPE, type WebhookEventType } from './webhook-events';

export interface WebhookSubscription {
  id: string;
  url: string;
  events: WebhookEventType[];
  /** null: every workspace. */
  workspaceIds: string[] | null;
  createdAt: Date;
  /** While a rotated-out secret still signs (24 h after a rotation), until when. */
  previousSecretExpiresAt: Date | null;
}

export interface NewWebhookSubscription {
  id: string;
  url: string;
  events: readonly WebhookEventType[];
  workspaceIds: readonly string[] | null;
  /** The secret as stored (sealed when WEBHOOK_SECRETS_KEY is set). */
  storedSecret: string;
}

export interface DeliveryAttempt {
  eventId: string;
  eventType: string;
  attempt: number;
  attemptedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  deliveryStatus: 'pending' | 'delivered' | 'failed';
}

export interface StoredSecrets {
  id: string;
  secret: string;
  previousSecret: string | null;
}

interface SubscriptionRow {
  id: string;
  url: string;
  events: WebhookEventType[];
  workspace_ids: string[] | null;
  created_at: Date;
  previous_secret_expires_at: Date | null;
}

const SUBSCRIPTION_COLUMNS = `id, url, events, workspace_ids, created_at,
  CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END AS previous_secret_expires_at`;

/** Webhook subscriptions and their deliveries log, for the admin API. */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly db: SqlExecutor) {}

  async insert(subscription: NewWebhookSubscription): Promise<WebhookSubscription> {
    const { rows } = await this.db.query<SubscriptionRow>(
      `INSERT INTO webhook_subscriptions (id, url, events, workspace_ids, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [subscription.id, subscription.url, subscription.events, subscription.workspaceIds, subscription.storedSecret],
    );
    return toSubscription(rows[0]);
  }

  /** Every subscription, oldest first. */
  async list(): Promise<WebhookSubscription[]> {
    const { rows } = await this.db.query<SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions ORDER BY created_at, id`);
    return rows.map(toSubscription);
  }

  async exists(id: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM webhook_subscriptions WHERE id = $1`, [id]);
    return rows.length > 0;
  }

  /** Deletes the subscription with its pending deliveries and log (cascade); false when there is none. */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.query(`DELETE FROM webhook_subscriptions WHERE id = $1`, [id]);
    return result.rowCount === 1;
  }

  /**
   * A new current secret; the current one becomes the previous one and keeps
   * signing until `overlapMs` from now (a previous one still in its overlap
   * is dropped). Null when there is no such subscription.
   */
  async rotate(id: string, storedSecret: string, overlapMs: number): Promise<WebhookSubscription | null> {
    const { rows } = await this.db.query<SubscriptionRow>(
      `UPDATE webhook_subscriptions
          SET previous_secret = secret, previous_secret_expires_at = now() + $3 * interval '1 millisecond', secret = $2
        WHERE id = $1
       RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [id, storedSecret, overlapMs],
    );
    return rows[0] ? toSubscription(rows[0]) : null;
  }

  /** Puts a `webhook.ping` event in the outbox for this subscription only; its id, or null when there is no such subscription. */
  async enqueuePing(id: string): Promise<string | null> {
    const { rows } = await this.db.query<{ event_id: string }>(
      `WITH event AS (
         INSERT INTO webhook_events (type, data)
         SELECT $2, jsonb_build_object('webhookId', s.id) FROM webhook_subscriptions AS s WHERE s.id = $1
         RETURNING id
       )
       INSERT INTO webhook_deliveries (event_id, subscription_id)
       SELECT event.id, $1 FROM event
       RETURNING event_id`,
      [id, PING_EVENT_TYPE],
    );
    return rows[0]?.event_id ?? null;
  }

  /** The subscription's latest delivery attempts, newest first (webhook_delivery_attempts_subscription_idx). */
  async attempts(id: string, limit: number): Promise<DeliveryAttempt[]> {
    const { rows } = await this.db.query<{
      event_id: string;
      type: string;
      attempt: number;
      attempted_at: Date;
      duration_ms: number;
      status_code: number | null;
      error: string | null;
      status: DeliveryAttempt['deliveryStatus'];
    }>(
      `SELECT a.event_id, e.type, a.attempt, a.attempted_at, a.duration_ms, a.status_code, a.error, d.status
         FROM webhook_delivery_attempts AS a
         JOIN webhook_deliveries AS d ON d.id = a.delivery_id
         JOIN webhook_events AS e ON e.id = a.event_id
        WHERE a.subscription_id = $1
        ORDER BY a.id DESC
        LIMIT $2`,
      [id, limit],
    );
    return rows.map((row) => ({
      eventId: row.event_id,
      eventType: row.type,
      attempt: row.attempt,
      attemptedAt: row.attempted_at,
      durationMs: row.duration_ms,
      statusCode: row.status_code,
      error: row.error,
      deliveryStatus: row.status,
    }));
  }

  /** Subscriptions with a secret stored unsealed (from before WEBHOOK_SECRETS_KEY was set). */
  async findUnsealedSecrets(sealedPrefix: string): Promise<StoredSecrets[]> {
    const { rows } = await this.db.query<{ id: string; secret: string; previous_secret: string | null }>(
      `SELECT id, secret, previous_secret FROM webhook_subscriptions
        WHERE NOT starts_with(secret, $1) OR NOT starts_with(previous_secret, $1)`,
      [sealedPrefix],
    );
    return rows.map((row) => ({ id: row.id, secret: row.secret, previousSecret: row.previous_secret }));
  }

  /** Replaces stored secrets, unless a rotation changed them meanwhile. */
  async replaceSecrets(before: StoredSecrets, after: StoredSecrets): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE webhook_subscriptions SET secret = $4, previous_secret = $5
        WHERE id = $1 AND secret = $2 AND previous_secret IS NOT DISTINCT FROM $3`,
      [before.id, before.secret, before.previousSecret, after.secret, after.previousSecret],
    );
    return result.rowCount === 1;
  }
}

function toSubscription(row: SubscriptionRow): WebhookSubscription {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    workspaceIds: row.workspace_ids,
    createdAt: row.created_at,
    previousSecretExpiresAt: row.previous_secret_expires_at,
  };
}
