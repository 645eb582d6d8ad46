import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * cleanup_tasks (the API resource and the scheduler's queue) and api_tokens.
 *
 * Text columns use COLLATE "C": the contract orders and compares strings by
 * byte order, and a column collated so lets its indexes serve those sorts.
 * Timestamps shown by the API have millisecond precision (timestamptz(3)), so a
 * value read back, put in a cursor and compared again is exactly the stored one.
 */
export class InitialSchema1764403200000 implements MigrationInterface {
  name = 'InitialSchema1764403200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cleanup_tasks (
        id                text COLLATE "C" PRIMARY KEY,
        parent_id         text COLLATE "C" REFERENCES cleanup_tasks (id) ON DELETE CASCADE,
        workspace_id      text COLLATE "C" NOT NULL,
        source_event_id   text COLLATE "C",
        resource_type     text COLLATE "C" NOT NULL,
        resource_id       text COLLATE "C" NOT NULL,
        metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
        status            text COLLATE "C" NOT NULL DEFAULT 'pending',
        attempts          integer NOT NULL DEFAULT 0,
        last_error        text COLLATE "C",
        created_at        timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', now()),
        completed_at      timestamptz(3),
        run_at            timestamptz NOT NULL DEFAULT now(),
        locked_by         text,
        locked_until      timestamptz,
        awaiting_children boolean NOT NULL DEFAULT false,
        attempts_base     integer NOT NULL DEFAULT 0,
        updated_at        timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT cleanup_tasks_id_format CHECK (id ~ '^ct_[0-9A-HJKMNP-TV-Z]{26}$'),
        CONSTRAINT cleanup_tasks_not_own_parent CHECK (parent_id IS DISTINCT FROM id),
        CONSTRAINT cleanup_tasks_resource_type_enum
          CHECK (resource_type IN ('delete_workspace', 'delete_app', 'delete_element', 'delete_database')),
        CONSTRAINT cleanup_tasks_status_enum
          CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
        CONSTRAINT cleanup_tasks_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
        CONSTRAINT cleanup_tasks_attempts_nonnegative CHECK (attempts >= 0 AND attempts_base >= 0),
        CONSTRAINT cleanup_tasks_completed_at_iff_completed
          CHECK ((status = 'completed') = (completed_at IS NOT NULL))
      )`);

    // Idempotent enqueue of roots: one task per (event, resource type, resource).
    await q.query(`
      CREATE UNIQUE INDEX cleanup_tasks_root_event_key
        ON cleanup_tasks (source_event_id, resource_type, resource_id)
        WHERE parent_id IS NULL AND source_event_id IS NOT NULL`);
    // Idempotent spawning of children; its leading parent_id also serves the
    // children look-ups (relation filters, tree CTE, parent completion).
    await q.query(`
      CREATE UNIQUE INDEX cleanup_tasks_child_key
        ON cleanup_tasks (parent_id, resource_type, resource_id)
        WHERE parent_id IS NOT NULL`);
    // List: the default order (createdAt, id), for admins and per workspace for members.
    await q.query(`CREATE INDEX cleanup_tasks_created_at_idx ON cleanup_tasks (created_at, id)`);
    await q.query(`CREATE INDEX cleanup_tasks_workspace_created_at_idx ON cleanup_tasks (workspace_id, created_at, id)`);
    // Scheduler claim: due pending tasks in run_at order.
    await q.query(`CREATE INDEX cleanup_tasks_due_idx ON cleanup_tasks (run_at) WHERE status = 'pending'`);
    // Scheduler sweep: running tasks whose lease has expired.
    await q.query(`
      CREATE INDEX cleanup_tasks_lease_idx ON cleanup_tasks (locked_until)
        WHERE status = 'in_progress' AND NOT awaiting_children`);

    await q.query(`
      CREATE TABLE api_tokens (
        id            text COLLATE "C" PRIMARY KEY,
        name          text NOT NULL,
        role          text COLLATE "C" NOT NULL,
        workspace_ids text[] COLLATE "C" NOT NULL DEFAULT '{}',
        token_hash    text COLLATE "C" NOT NULL,
        token_hint    text NOT NULL,
        created_at    timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', now()),
        last_used_at  timestamptz(3),
        revoked_at    timestamptz(3),
        CONSTRAINT api_tokens_role_enum CHECK (role IN ('admin', 'member')),
        CONSTRAINT api_tokens_name_length CHECK (char_length(name) BETWEEN 1 AND 200)
      )`);
    // Authentication looks tokens up by hash on every request.
    await q.query(`CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_tokens`);
    await q.query(`DROP TABLE cleanup_tasks`);
  }
}
