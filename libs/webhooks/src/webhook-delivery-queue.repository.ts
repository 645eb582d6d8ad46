import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { taskContractJson } from '@app/cleanup-tasks/task-columns';
import { sqlStateOf } from '@app/common';
import { SqlExecutor, type Queryable } from '@app/database/sql-executor';

/** A claimed delivery with what sending it takes. */
export interface ClaimedDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  /** This attempt's number (1-based). */
  attempt: number;
  url: string;
  /** The request body: `{"type","timestamp","data"}`, the same bytes on every attempt. */
  body: string;
  /** Stored (possibly sealed) secrets to sign with: the current one, then a rotated-out one still in its overlap. */
  storedSecrets: string[];
}

export interface AttemptRecord {
  deliveryId: string;
  subscriptionId: string;
  eventId: string;
  attempt: number;
  attemptedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  ok: boolean;
}

/** foreign_key_violation: the attempt's delivery is gone (its webhook was deleted meanwhile). */
const FOREIGN_KEY_VIOLATION = '23503';

export interface PurgeResult {
  deliveries: number;
  events: number;
}

interface LoadedRow {
  id: string;
  subscription_id: string;
  event_id: string;
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  type: string;
  timestamp: string;
  data: string;
}

/**
 * The outbox's delivery side, by hand, one method per statement (or one
 * short transaction). Deliveries are leased like tasks: a claim sets
 * `locked_by` and pushes `next_attempt_at` to the lease's end, so a delivery
 * whose process died is simply due again then (no sweeper); every outcome is
 * guarded by `locked_by = $worker`.
 */
@Injectable()
export class WebhookDeliveryQueue {
  constructor(private readonly db: SqlExecutor) {}

  /**
   * Claims up to `slots` due deliveries for `workerId`, fairly across
   * subscriptions. One short transaction:
   *
   * 1. Lock up to `slots` subscriptions that have due deliveries and are
   *    not at their limit, least recently served first (`claimed_at`:
   *    round robin), FOR NO KEY UPDATE SKIP LOCKED. Two claimers never
   *    serve one subscription at once, and the lock does not conflict with
   *    the FOR KEY SHARE that the outbox trigger's inserts take, so task
   *    settlement never waits on a claim.
   * 2. In a new statement (READ COMMITTED: a snapshot taken after the locks,
   *    so every claim committed on these subscriptions is seen), take from
   *    each subscription its oldest due deliveries, never more than
   *    `perSubscription` in flight counting every process's leases, and
   *    deal the free slots out in turns: every subscription's first
   *    delivery, then every second one, … So a subscription with 100,000
   *    due events, or a receiver that takes 10 s to answer, holds at most
   *    `perSubscription` slots, and the others share the rest. Each
   *    subscription costs two index probes (its leases, its first due
   *    rows), however large its backlog.
   * 3. Mark these subscriptions served, so that the next claim starts with
   *    the others.
   */
  claim(workerId: string, slots: number, perSubscription: number, leaseMs: number): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const { rows: subscriptions } = await tx.query<{ id: string }>(
        `SELECT s.id FROM webhook_subscriptions AS s
          WHERE EXISTS (SELECT 1 FROM webhook_deliveries AS d
                         WHERE d.subscription_id = s.id AND d.status = 'pending' AND d.next_attempt_at <= now())
            AND (SELECT count(*) FROM webhook_deliveries AS f
                  WHERE f.subscription_id = s.id AND f.locked_by IS NOT NULL AND f.next_attempt_at > now()) < $2
          ORDER BY s.claimed_at NULLS FIRST, s.id
          LIMIT $1
          FOR NO KEY UPDATE OF s SKIP LOCKED`,
        [slots, perSubscription],
      );
      if (subscriptions.length === 0) return [];
      const ids = subscriptions.map((row) => row.id);
      const { rows } = await tx.query<{ id: string }>(
        `WITH served AS (
           SELECT s.id, s.ord,
                  $3::int - (SELECT count(*) FROM webhook_deliveries AS f
                              WHERE f.subscription_id = s.id AND f.locked_by IS NOT NULL AND f.next_attempt_at > now())::int AS quota
             FROM unnest($2::text[]) WITH ORDINALITY AS s(id, ord)
         ), candidates AS (
           SELECT d.id, served.ord, row_number() OVER (PARTITION BY served.ord ORDER BY d.next_attempt_at, d.id) AS turn
             FROM served
            CROSS JOIN LATERAL (
              SELECT d.id, d.next_attempt_at FROM webhook_deliveries AS d
               WHERE d.subscription_id = served.id AND d.status = 'pending' AND d.next_attempt_at <= now()
               ORDER BY d.next_attempt_at, d.id
               LIMIT GREATEST(served.quota, 0)
               FOR UPDATE OF d SKIP LOCKED
            ) AS d
         ), picked AS (
           SELECT id FROM candidates ORDER BY turn, ord LIMIT $4
         )
         UPDATE webhook_deliveries AS d
            SET locked_by = $1, next_attempt_at = now() + $5 * interval '1 millisecond', attempts = d.attempts + 1
           FROM picked
          WHERE d.id = picked.id
         RETURNING d.id`,
        [workerId, ids, perSubscription, slots, leaseMs],
      );
      await tx.query(`UPDATE webhook_subscriptions SET claimed_at = clock_timestamp() WHERE id = ANY($1)`, [ids]);
      return rows.map((row) => row.id);
    });
  }

  /**
   * What sending these claimed deliveries takes: the target, the secrets,
   * and the body. A task event's `data` is rendered from the row the
   * trigger kept, by the same SQL as GET /api/cleanup-tasks/{id}
   * (taskContractJson), so it is that endpoint's JSON of the task as it was.
   */
  async load(workerId: string, ids: readonly string[]): Promise<ClaimedDelivery[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<LoadedRow>(
      `SELECT d.id, d.subscription_id, d.event_id, d.attempts, s.url, s.secret,
              CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret END AS previous_secret,
              e.type, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS timestamp,
              COALESCE(${taskContractJson('t')}, e.data::text) AS data
         FROM webhook_deliveries AS d
         JOIN webhook_subscriptions AS s ON s.id = d.subscription_id
         JOIN webhook_events AS e ON e.id = d.event_id
         LEFT JOIN LATERAL jsonb_populate_record(NULL::cleanup_tasks, e.task_row) AS t ON true
        WHERE d.id = ANY($2) AND d.locked_by = $1
        ORDER BY d.id`,
      [workerId, ids],
    );
    return rows.map((row) => ({
      id: row.id,
      subscriptionId: row.subscription_id,
      eventId: row.event_id,
      attempt: row.attempts,
      url: row.url,
      body: `{"type":${JSON.stringify(row.type)},"timestamp":${JSON.stringify(row.timestamp)},"data":${row.data}}`,
      storedSecrets: row.previous_secret === null ? [row.secret] : [row.secret, row.previous_secret],
    }));
  }

  /**
   * Records an attempt in the log and settles the delivery: delivered on a
   * 2xx, given up after `maxAttempts`, else due again after `retryDelayMs`.
   * The log row is written even when the lease was lost meanwhile (the
   * attempt did happen); the delivery is changed only by its holder. A
   * delivery deleted with its webhook meanwhile records nothing.
   */
  async record(workerId: string, attempt: AttemptRecord, maxAttempts: number, retryDelayMs: number): Promise<'delivered' | 'failed' | 'pending' | 'lease_lost'> {
    try {
      return await this.recordOrThrow(workerId, attempt, maxAttempts, retryDelayMs);
    } catch (error) {
      if (sqlStateOf(error) === FOREIGN_KEY_VIOLATION) return 'lease_lost';
      throw error;
    }
  }

  private async recordOrThrow(workerId: string, attempt: AttemptRecord, maxAttempts: number, retryDelayMs: number): Promise<'delivered' | 'failed' | 'pending' | 'lease_lost'> {
    const { rows } = await this.db.query<{ status: 'delivered' | 'failed' | 'pending' }>(
      `WITH logged AS (
         INSERT INTO webhook_delivery_attempts (delivery_id, subscription_id, event_id, attempt, attempted_at, duration_ms, status_code, error)
         VALUES ($2, $3, $4, $5, $6, $7, $8, $9)
       )
       UPDATE webhook_deliveries AS d
          SET status = CASE WHEN $10 THEN 'delivered' WHEN d.attempts >= $11 THEN 'failed' ELSE 'pending' END,
              finished_at = CASE WHEN $10 OR d.attempts >= $11 THEN now() END,
              next_attempt_at = CASE WHEN $10 OR d.attempts >= $11 THEN d.next_attempt_at ELSE now() + $12 * interval '1 millisecond' END,
              locked_by = NULL
        WHERE d.id = $2 AND d.locked_by = $1 AND d.status = 'pending'
       RETURNING d.status`,
      [
        workerId,
        attempt.deliveryId,
        attempt.subscriptionId,
        attempt.eventId,
        attempt.attempt,
        attempt.attemptedAt,
        attempt.durationMs,
        attempt.statusCode,
        attempt.error === null ? null : attempt.error.slice(0, 1000),
        attempt.ok,
        maxAttempts,
        retryDelayMs,
      ],
    );
    return rows[0]?.status ?? 'lease_lost';
  }

  /**
   * Shutdown: hands deliveries still in flight back, due at once; the
   * interrupted attempt does not count (the receiver may still get the
   * message twice: delivery is at least once).
   */
  async release(workerId: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.db.query(
      `UPDATE webhook_deliveries SET locked_by = NULL, next_attempt_at = now(), attempts = greatest(attempts - 1, 0)
        WHERE id = ANY($2) AND locked_by = $1 AND status = 'pending'`,
      [workerId, ids],
    );
    return result.rowCount ?? 0;
  }

  /**
   * Milliseconds until the next delivery that is not due yet becomes due (a
   * retry's backoff ends, a dead process's lease runs out), or null. One
   * probe of webhook_deliveries_due_idx per subscription.
   */
  async nextDueInMs(): Promise<number | null> {
    const { rows } = await this.db.query<{ ms: number | null }>(
      `SELECT (EXTRACT(EPOCH FROM (min(n.next_attempt_at) - now())) * 1000)::float8 AS ms
         FROM webhook_subscriptions AS s
        CROSS JOIN LATERAL (
          SELECT d.next_attempt_at FROM webhook_deliveries AS d
           WHERE d.subscription_id = s.id AND d.status = 'pending' AND d.next_attempt_at > now()
           ORDER BY d.next_attempt_at
           LIMIT 1
        ) AS n`,
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? null : Math.max(0, ms);
  }

  /**
   * Retention: deletes up to `limit` deliveries settled (delivered or given
   * up) before `cutoff`, with their attempts, then up to `limit` events
   * created before `cutoff` that no delivery refers to any more. Returns how
   * many of each went; the caller repeats while a batch was full.
   */
  async purge(cutoff: Date, limit: number, db: Queryable = this.db): Promise<PurgeResult> {
    const deliveries = await db.query(
      `DELETE FROM webhook_deliveries
        WHERE id IN (SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1 ORDER BY finished_at LIMIT $2)`,
      [cutoff, limit],
    );
    const events = await db.query(
      `DELETE FROM webhook_events
        WHERE id IN (SELECT e.id FROM webhook_events AS e
                      WHERE e.created_at < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.event_id = e.id)
                      ORDER BY e.created_at
                      LIMIT $2)`,
      [cutoff, limit],
    );
    return { deliveries: deliveries.rowCount ?? 0, events: events.rowCount ?? 0 };
  }

  /** Runs `work` holding a session advisory lock if no other session holds it. */
  withTryAdvisoryLock<T>(key: number, work: (client: PoolClient) => Promise<T>): Promise<{ acquired: boolean; result?: T }> {
    return this.db.withTryAdvisoryLock(key, work);
  }
}
