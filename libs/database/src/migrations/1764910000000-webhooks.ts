import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks: subscriptions, an outbox of events (not cleanup tasks), one
 * delivery per (event, subscription) with its lease and retry schedule, and
 * a log of attempts.
 *
 * Events are written by a row trigger on cleanup_tasks, in the transaction
 * of the status change that causes them, so every path that settles a task
 * (the worker completing or failing it, parent resolution, lease expiry, a
 * retry's later outcome) is covered without the queue's SQL knowing about
 * webhooks, and an event exists exactly when its change committed. The
 * trigger's WHEN clause is evaluated without calling the function: the
 * scheduler's hot path (claims, heartbeats, children completing) pays only
 * that test. Root completions and failures call it; with no subscription it
 * returns after one probe of a small table.
 *
 * The event keeps the task row as it was (`to_jsonb(NEW)`), not its API
 * JSON: deliveries render it with the same SQL as the API
 * (taskContractJson over jsonb_populate_record), so the contract's JSON has
 * one definition and a stored event never disagrees with GET of that state.
 *
 * `cleanup_task.failed` is for a task that failed by itself: the trigger
 * sends it unless a child of the task is failed at that moment. A parent is
 * failed because of a child only after that child failed (in the same
 * transaction or an earlier one), so such a parent always has a failed child
 * then; a task whose own handler failed, or whose lease expired with its
 * budget spent, has none, except in one case: a retried parent whose
 * re-queued child failed again while the parent's own handler was failing
 * for good. That parent is reported by its child's event (and, as a root,
 * by cleanup_task.tree.failed) only.
 */
export class Webhooks1764910000000 implements MigrationInterface {
  name = 'Webhooks1764910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_subscriptions (
        id                         text COLLATE "C" PRIMARY KEY,
        url                        text NOT NULL,
        events                     text[] COLLATE "C" NOT NULL,
        workspace_ids              text[] COLLATE "C",
        secret                     text NOT NULL,
        previous_secret            text,
        previous_secret_expires_at timestamptz(3),
        created_at                 timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', now()),
        claimed_at                 timestamptz,
        CONSTRAINT webhook_subscriptions_id_format CHECK (id ~ '^wh_[0-9A-HJKMNP-TV-Z]{26}$'),
        CONSTRAINT webhook_subscriptions_events_known CHECK (
          cardinality(events) > 0
          AND events <@ ARRAY['cleanup_task.tree.completed', 'cleanup_task.tree.failed', 'cleanup_task.failed']::text[]),
        CONSTRAINT webhook_subscriptions_previous_secret_expires
          CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
      )`);

    // Time-sortable event ids (webhook-id): 48 bits of Unix milliseconds
    // over a random UUID's first six bytes (74 random bits remain).
    await q.query(`
      CREATE FUNCTION webhook_event_id() RETURNS text LANGUAGE sql VOLATILE AS $$
        SELECT 'msg_' || encode(overlay(uuid_send(gen_random_uuid())
                                        PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                                        FROM 1 FOR 6), 'hex')
      $$`);
    await q.query(`
      CREATE TABLE webhook_events (
        id           text COLLATE "C" PRIMARY KEY DEFAULT webhook_event_id(),
        type         text COLLATE "C" NOT NULL,
        workspace_id text COLLATE "C",
        task_row     jsonb,
        data         jsonb,
        created_at   timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT webhook_events_task_row_or_data CHECK ((task_row IS NULL) <> (data IS NULL))
      )`);
    // WebhookDeliveryQueue.purge: events whose deliveries are all gone, oldest first.
    await q.query(`CREATE INDEX webhook_events_created_at_idx ON webhook_events (created_at)`);

    await q.query(`
      CREATE TABLE webhook_deliveries (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id        text COLLATE "C" NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
        subscription_id text COLLATE "C" NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
        status          text COLLATE "C" NOT NULL DEFAULT 'pending',
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_by       text,
        finished_at     timestamptz,
        CONSTRAINT webhook_deliveries_status_enum CHECK (status IN ('pending', 'delivered', 'failed')),
        CONSTRAINT webhook_deliveries_finished_iff_settled CHECK ((status = 'pending') = (finished_at IS NULL))
      )`);
    // One delivery per subscriber of an event; also the look-up of an
    // event's deliveries (cascade, purge).
    await q.query(`CREATE UNIQUE INDEX webhook_deliveries_event_subscription_key ON webhook_deliveries (event_id, subscription_id)`);
    // WebhookDeliveryQueue.claim: a subscription's due deliveries in due
    // order (a leased delivery is due again when its lease ends).
    await q.query(`CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (subscription_id, next_attempt_at, id) WHERE status = 'pending'`);
    // WebhookDeliveryQueue.claim: deliveries a subscription has in flight,
    // read without walking its backlog of retries.
    await q.query(`CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (subscription_id) WHERE locked_by IS NOT NULL`);
    // WebhookDeliveryQueue.purge: settled deliveries by age.
    await q.query(`CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE status <> 'pending'`);

    await q.query(`
      CREATE TABLE webhook_delivery_attempts (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_id     bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        subscription_id text COLLATE "C" NOT NULL,
        event_id        text COLLATE "C" NOT NULL,
        attempt         integer NOT NULL,
        attempted_at    timestamptz(3) NOT NULL,
        duration_ms     integer NOT NULL,
        status_code     integer,
        error           text
      )`);
    // GET /api/webhooks/{id}/deliveries: a subscription's latest attempts.
    await q.query(`CREATE INDEX webhook_delivery_attempts_subscription_idx ON webhook_delivery_attempts (subscription_id, id)`);
    // The cascade from a purged delivery to its attempts.
    await q.query(`CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id)`);

    await q.query(`
      CREATE FUNCTION webhook_outbox_task_settled() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        event_types text[] := '{}';
        event_type  text;
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions) THEN
          RETURN NULL;
        END IF;
        IF NEW.parent_id IS NULL THEN
          event_types := event_types || ('cleanup_task.tree.' || NEW.status);
        END IF;
        -- cleanup_tasks_unfinished_children_idx answers this from the failed children alone.
        IF NEW.status = 'failed' AND NOT EXISTS (SELECT 1 FROM cleanup_tasks WHERE parent_id = NEW.id AND status = 'failed') THEN
          event_types := event_types || 'cleanup_task.failed'::text;
        END IF;
        FOREACH event_type IN ARRAY event_types LOOP
          WITH subscribers AS (
            SELECT s.id FROM webhook_subscriptions AS s
             WHERE event_type = ANY (s.events)
               AND (s.workspace_ids IS NULL OR NEW.workspace_id = ANY (s.workspace_ids))
          ), event AS (
            INSERT INTO webhook_events (type, workspace_id, task_row)
            SELECT event_type, NEW.workspace_id, to_jsonb(NEW)
             WHERE EXISTS (SELECT 1 FROM subscribers)
            RETURNING id
          )
          INSERT INTO webhook_deliveries (event_id, subscription_id)
          SELECT event.id, subscribers.id FROM event CROSS JOIN subscribers;
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER webhook_outbox_task_settled
        AFTER UPDATE OF status ON cleanup_tasks
        FOR EACH ROW
        WHEN (NEW.status IN ('completed', 'failed') AND OLD.status <> NEW.status AND (NEW.parent_id IS NULL OR NEW.status = 'failed'))
        EXECUTE FUNCTION webhook_outbox_task_settled()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER webhook_outbox_task_settled ON cleanup_tasks`);
    await q.query(`DROP FUNCTION webhook_outbox_task_settled()`);
    await q.query(`DROP TABLE webhook_delivery_attempts`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE webhook_events`);
    await q.query(`DROP FUNCTION webhook_event_id()`);
    await q.query(`DROP TABLE webhook_subscriptions`);
  }
}
