import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { newId } from '@app/common';
import type { ResourceType, TaskStatus } from '@app/cleanup-tasks/cleanup-task.enums';
import { SqlExecutor, type Queryable } from '@app/database/sql-executor';
import type { ChildTask, ClaimedTask } from './cleanup-handler';

export type { Queryable } from '@app/database/sql-executor';

export interface TaskRef {
  id: string;
  parentId: string | null;
}

export interface LockedTask extends TaskRef {
  status: TaskStatus;
  awaitingChildren: boolean;
}

/** The children of one task, as far as deciding its fate needs them. */
export interface ChildSummary {
  /** A child is pending or in progress: the parent waits. */
  hasOpen: boolean;
  failedCount: number;
  /** The first failed child (createdAt, id), to name in the parent's lastError. */
  firstFailed: { id: string; resourceType: ResourceType; resourceId: string; lastError: string | null } | null;
}

interface ClaimRow {
  id: string;
  parent_id: string | null;
  workspace_id: string;
  source_event_id: string | null;
  resource_type: ResourceType;
  resource_id: string;
  metadata: Record<string, unknown>;
  attempts: number;
  attempts_base: number;
  run_at: Date;
  trace_parent: string | null;
}

/** The due queue's backlog, for the metrics: see readyQueueStats. */
export interface ReadyQueueStats {
  /** Pending tasks due now, counted up to the cap. */
  ready: number;
  /** How long the earliest-due of them has been due (0 when none): the queue's lag. */
  oldestAgeSeconds: number;
}

/** What a fair claim takes and where it starts (TaskQueueRepository.claimDueTasksFairly). */
export interface FairClaimOptions {
  /** Most tasks to claim. */
  limit: number;
  leaseMs: number;
  /** Most running tasks per workspace, across all processes (SCHEDULER_WORKSPACE_CONCURRENCY). */
  cap: number;
  /** The walk starts after this workspace_id ('' : from the first). */
  cursor: string;
  /** Most workspaces the walk visits in one statement. */
  maxVisits: number;
}

export interface FairClaimResult {
  tasks: ClaimedTask[];
  /** The last workspace the walk visited (null: none after the cursor has pending tasks). */
  lastVisited: string | null;
  /** The walk went past the last workspace with pending tasks. */
  reachedEnd: boolean;
  /** A workspace was skipped because another claim held its claim lock. */
  contended: boolean;
}

interface FairClaimSummaryRow {
  last_visited: string | null;
  visits: number;
  gathered: number;
  contended: boolean;
}

/**
 * The queue's conditions, each the predicate of one partial index
 * (migration FairClaims1764970000000), so that its statements can use that
 * index and no other: PostgreSQL costs indexes by its statistics, and a
 * queue with a long history is usually analyzed while almost nothing is
 * pending or running. Then a scan of every pending task looked as cheap as
 * the intended range, and it was chosen — the list's `(status, created_at,
 * id)` for `status = 'pending'`, or the other pending index — so that the
 * walk over workspaces read every pending task at each step once a backlog
 * arrived (until ANALYZE ran again; docs/benchmarks.md "Plans that hold").
 * So the status test is written as `NOT IN` the other statuses, which no
 * B-tree can use as a search key and which proves no list index's predicate,
 * and the two pending indexes differ by an always-true condition that only
 * their own statements repeat.
 */
/** cleanup_tasks_due_idx (run_at): pending tasks oldest first across workspaces. */
export const PENDING_BY_RUN_AT = `status NOT IN ('in_progress', 'completed', 'failed') AND attempts_base >= 0`;
/** cleanup_tasks_workspace_due_idx (workspace_id, run_at): one workspace's pending tasks, or the next workspace that has some. */
export const PENDING_BY_WORKSPACE = `status NOT IN ('in_progress', 'completed', 'failed') AND attempts >= 0`;
/** cleanup_tasks_running_idx (workspace_id, locked_until): leased tasks (in progress, not waiting for children). */
export const RUNNING = `status NOT IN ('pending', 'completed', 'failed') AND NOT awaiting_children`;

const RETURNING_CLAIMED = `t.id, t.parent_id, t.workspace_id, t.source_event_id, t.resource_type, t.resource_id, t.metadata, t.attempts, t.attempts_base, t.run_at, t.trace_parent`;

/**
 * The queue's SQL, by hand, one method per statement. The worker, the
 * sweepers and parent resolution compose them; none of them writes SQL.
 *
 * Every state change of a leased task is guarded by `locked_by = $worker`:
 * a worker that lost its lease (it stalled past expiry and the task went to
 * someone else) changes nothing. A parent waiting for its children has no
 * lease; its changes are guarded by `status = 'in_progress' AND
 * awaiting_children` under a row lock instead.
 */
@Injectable()
export class TaskQueueRepository {
  constructor(private readonly db: SqlExecutor) {}

  /** Runs `work` in one READ COMMITTED transaction, on `client` if given (kept), else on a pooled connection. */
  transaction<T>(work: (tx: PoolClient) => Promise<T>, client?: PoolClient): Promise<T> {
    return this.db.transaction(work, client);
  }

  /** Runs `work` holding a session advisory lock if no other session holds it (see SqlExecutor.withTryAdvisoryLock): sweeps run once across processes. */
  withTryAdvisoryLock<T>(key: number, work: (client: PoolClient) => Promise<T>): Promise<{ acquired: boolean; result?: T }> {
    return this.db.withTryAdvisoryLock(key, work);
  }

  /**
   * Claims up to `limit` due tasks as leases of `workerId`, in run_at order
   * (SCHEDULER_FAIR_CLAIMS=false; the fair claim is claimDueTasksFairly).
   *
   * One statement (the graphile-worker / pg-boss shape): the subquery picks due
   * rows with FOR UPDATE SKIP LOCKED, so concurrent claimers neither wait on nor
   * double-claim a row, walking cleanup_tasks_due_idx (run_at WHERE pending);
   * the UPDATE turns them into leases in the same round trip. `attempts`
   * counts the execution as started here, so a crash mid-handler still counts.
   * The ids go to the UPDATE as an array, not a join: the prepared statement's
   * generic plan then reads them by primary key whatever `limit` is, where a
   * join planned for an unknown LIMIT hashes a scan of the whole table (and
   * PostgreSQL, seeing that, planned the statement afresh on every call).
   */
  async claimDueTasks(workerId: string, limit: number, leaseMs: number): Promise<ClaimedTask[]> {
    const { rows } = await this.db.query<ClaimRow>({
      name: 'cleanup_tasks_claim_due',
      text: `
        UPDATE cleanup_tasks AS t
           SET status = 'in_progress', locked_by = $1, locked_until = now() + $3 * interval '1 millisecond',
               attempts = t.attempts + 1, updated_at = now()
         WHERE t.id = ANY (ARRAY(
                 SELECT id FROM cleanup_tasks
                  WHERE ${PENDING_BY_RUN_AT} AND run_at <= now()
                  ORDER BY run_at
                  LIMIT $2
                  FOR UPDATE SKIP LOCKED))
        RETURNING ${RETURNING_CLAIMED}`,
      values: [workerId, limit, leaseMs],
    });
    return rows.map(toClaimedTask);
  }

  /**
   * Claims up to `limit` due tasks as leases of `workerId`, fairly across
   * workspaces, never letting a workspace hold more than `cap` running tasks
   * (leased and not awaiting children) across all processes. One statement:
   *
   * 1. `walk` visits the workspaces that have pending tasks in workspace_id
   *    order, starting after `cursor` (where this process's previous claim
   *    stopped: round-robin), each in one descent of
   *    cleanup_tasks_workspace_due_idx (the first entry past the previous
   *    workspace is the next workspace and its oldest pending task), so a
   *    workspace with 100,000 queued tasks costs what one with 1 costs. For a
   *    workspace whose oldest task is due, cleanup_tasks_free_slots takes the
   *    workspace's claim lock and counts its running tasks (migration
   *    FairClaims1764970000000 explains why that is safe across processes);
   *    then up to that many of its due tasks are locked, oldest first, FOR
   *    UPDATE SKIP LOCKED (one that another process claimed since this
   *    statement's snapshot fails the re-check on its newest version and the
   *    next is taken). `slots` is a subquery of its own: PostgreSQL never
   *    flattens one whose output calls a volatile function, so the function
   *    runs once per workspace. The walk stops when it holds `limit` tasks,
   *    after `maxVisits` workspaces, or at the last workspace.
   * 2. `picked` interleaves them: every workspace's first task, then every
   *    second one…, up to `limit` (the few locked beyond it stay pending and
   *    are let go at commit).
   * 3. `claimed` turns them into leases, as claimDueTasks does.
   *
   * Every row carries the walk's summary (a row without a task when nothing
   * was claimed): where it stopped, whether it reached the last workspace,
   * and whether a workspace was skipped because another claim held its lock.
   */
  async claimDueTasksFairly(workerId: string, options: FairClaimOptions): Promise<FairClaimResult> {
    const { limit, leaseMs, cap, cursor, maxVisits } = options;
    const { rows } = await this.db.query<ClaimRow & FairClaimSummaryRow>({
      name: 'cleanup_tasks_claim_due_fairly',
      text: `
        WITH RECURSIVE walk (workspace_id, free, visit, gathered, ids) AS (
          SELECT $5::text COLLATE "C", 0, 0, 0, '{}'::text[] COLLATE "C"
          UNION ALL
          SELECT head.workspace_id, slots.free, walk.visit + 1, walk.gathered + cardinality(walk.ids), due.ids
            FROM walk
           CROSS JOIN LATERAL (
             SELECT workspace_id, run_at FROM cleanup_tasks
              WHERE ${PENDING_BY_WORKSPACE} AND workspace_id > walk.workspace_id
              ORDER BY workspace_id, run_at
              LIMIT 1
           ) AS head
           CROSS JOIN LATERAL (
             SELECT CASE WHEN head.run_at <= now() THEN cleanup_tasks_free_slots(head.workspace_id, $4) ELSE 0 END AS free
           ) AS slots
           CROSS JOIN LATERAL (
             SELECT ARRAY(SELECT id FROM cleanup_tasks
                           WHERE workspace_id = head.workspace_id AND ${PENDING_BY_WORKSPACE} AND run_at <= now()
                           ORDER BY run_at
                           LIMIT least(greatest(slots.free, 0), $2)
                           FOR UPDATE SKIP LOCKED) AS ids
           ) AS due
           WHERE walk.visit < $6 AND walk.gathered + cardinality(walk.ids) < $2
        ),
        picked AS (
          SELECT task.id FROM walk CROSS JOIN LATERAL unnest(walk.ids) WITH ORDINALITY AS task(id, rank)
           ORDER BY task.rank, walk.visit
           LIMIT $2
        ),
        claimed AS (
          UPDATE cleanup_tasks AS t
             SET status = 'in_progress', locked_by = $1, locked_until = now() + $3 * interval '1 millisecond',
                 attempts = t.attempts + 1, updated_at = now()
           WHERE t.id = ANY (ARRAY(SELECT id FROM picked))
          RETURNING ${RETURNING_CLAIMED}
        ),
        summary AS (
          SELECT (array_agg(workspace_id ORDER BY visit DESC))[1] AS last_visited,
                 coalesce(max(visit), 0)::int AS visits,
                 coalesce(sum(cardinality(ids)), 0)::int AS gathered,
                 coalesce(bool_or(free < 0), false) AS contended
            FROM walk
           WHERE visit > 0
        )
        SELECT summary.*, t.* FROM summary LEFT JOIN claimed AS t ON true`,
      values: [workerId, limit, leaseMs, cap, cursor, maxVisits],
    });
    const summary = rows[0];
    return {
      tasks: rows.filter((row) => row.id !== null).map(toClaimedTask),
      lastVisited: summary.last_visited,
      reachedEnd: summary.visits < maxVisits && summary.gathered < limit,
      contended: summary.contended,
    };
  }

  /**
   * Milliseconds until the earliest pending task is due (0 when one is due
   * now), or null when nothing is pending. An idle worker sleeps that long, so
   * a backoff ends on time without a notification. min() over the partial
   * index cleanup_tasks_due_idx reads one entry.
   */
  async nextDueInMs(): Promise<number | null> {
    const { rows } = await this.db.query<{ ms: number | null }>({
      name: 'cleanup_tasks_next_due',
      text: `SELECT (EXTRACT(EPOCH FROM (min(run_at) - now())) * 1000)::float8 AS ms FROM cleanup_tasks WHERE ${PENDING_BY_RUN_AT}`,
    });
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? null : Math.max(0, ms);
  }

  /**
   * Milliseconds until the earliest pending task that a fair claim could
   * take becomes due: negative when it is overdue (minus its wait: the lag),
   * null when every workspace with pending tasks is at its cap (or none has
   * any). A workspace at its cap (`cap` running tasks; null: no cap) is
   * left out: its tasks wait for its own running ones, not for a worker.
   *
   * Cheap and bounded: `capped` reads cleanup_tasks_running_idx (as many
   * entries as tasks are running); the oldest pending task overall is one
   * entry of cleanup_tasks_due_idx, and when its workspace is not capped it
   * is the answer. Only otherwise are the workspaces' oldest tasks visited,
   * one descent of cleanup_tasks_workspace_due_idx each, at most
   * `maxWorkspaces` of them (in workspace_id order; 3 ms for 700 on 1M
   * tasks, docs/benchmarks.md).
   *
   * The metrics' lag gauge is `max(0, -result) / 1000` seconds (0 when null),
   * with `cap` = SCHEDULER_WORKSPACE_CONCURRENCY, or null with fair claims
   * off (readyQueueStats).
   */
  async claimableDueInMs(cap: number | null, maxWorkspaces = 10_000, db: Queryable = this.db): Promise<number | null> {
    const { rows } = await db.query<{ ms: number | null }>({
      name: 'cleanup_tasks_claimable_due',
      text: `
        WITH capped AS MATERIALIZED (
          SELECT workspace_id FROM cleanup_tasks
           WHERE ${RUNNING} AND $1::int IS NOT NULL
           GROUP BY workspace_id
          HAVING count(*) >= $1::int
        ),
        oldest AS (
          SELECT workspace_id, run_at FROM cleanup_tasks WHERE ${PENDING_BY_RUN_AT} ORDER BY run_at LIMIT 1
        )
        SELECT (EXTRACT(EPOCH FROM (
                 CASE WHEN NOT EXISTS (SELECT 1 FROM capped WHERE capped.workspace_id = oldest.workspace_id) THEN oldest.run_at
                 ELSE (
                   WITH RECURSIVE heads (workspace_id, run_at, visit) AS (
                     SELECT ''::text COLLATE "C", NULL::timestamptz, 0
                     UNION ALL
                     SELECT head.workspace_id, head.run_at, heads.visit + 1
                       FROM heads
                      CROSS JOIN LATERAL (
                        SELECT workspace_id, run_at FROM cleanup_tasks
                         WHERE ${PENDING_BY_WORKSPACE} AND workspace_id > heads.workspace_id
                         ORDER BY workspace_id, run_at
                         LIMIT 1
                      ) AS head
                      WHERE heads.visit < $2
                   )
                   SELECT min(run_at) FROM heads WHERE visit > 0 AND workspace_id NOT IN (SELECT workspace_id FROM capped)
                 ) END - now())) * 1000)::float8 AS ms
          FROM oldest`,
      values: [cap, maxWorkspaces],
    });
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? null : ms;
  }

  /**
   * The backlog of due tasks (metrics, at most every few seconds). The count
   * walks cleanup_tasks_due_idx (run_at WHERE pending) from its start over
   * due entries only and stops at `readyCap` (LIMIT inside the count),
   * however large the backlog. The lag is that of the earliest-due task a
   * claim could take now (claimableDueInMs with `workspaceCap`; null: fair
   * claims off, no cap), so that a workspace waiting on its own cap does not
   * read as a queue falling behind. Neither grows with the table.
   */
  async readyQueueStats(readyCap: number, workspaceCap: number | null, db: Queryable = this.db): Promise<ReadyQueueStats> {
    const { rows } = await db.query<{ ready: number }>(
      `SELECT count(*)::int AS ready FROM (SELECT 1 FROM cleanup_tasks WHERE ${PENDING_BY_RUN_AT} AND run_at <= now() LIMIT $1) AS due`,
      [readyCap],
    );
    const dueInMs = await this.claimableDueInMs(workspaceCap, undefined, db);
    return { ready: rows[0].ready, oldestAgeSeconds: dueInMs === null ? 0 : Math.max(0, -dueInMs) / 1000 };
  }

  /**
   * Completes the given leased tasks that have no unfinished child; returns
   * those it completed. A task left out either lost its lease or has children
   * from an earlier run that are still open or failed: the caller settles it
   * the careful way (lockLeasedTask + childSummary).
   *
   * The NOT EXISTS reads a snapshot from the start of the statement and can
   * only err towards "unfinished" (a child completed meanwhile): completed is
   * final for a child, and no new child appears while we hold the lease. Its
   * `OFFSET 0` keeps it a subquery run per task, which looks up that task's
   * children in cleanup_tasks_unfinished_children_idx: flattened into an
   * anti-join, it was planned (with statistics that say nothing is open) as
   * a scan of every open child in the table for each task completed.
   */
  async completeTasks(workerId: string, ids: readonly string[], db: Queryable = this.db): Promise<TaskRef[]> {
    const { rows } = await db.query<{ id: string; parent_id: string | null }>({
      name: 'cleanup_tasks_complete',
      text: `
        UPDATE cleanup_tasks AS t
           SET status = 'completed', completed_at = now(), locked_by = NULL, locked_until = NULL, updated_at = now()
         WHERE t.id = ANY($2) AND t.locked_by = $1 AND t.status = 'in_progress'
           AND NOT EXISTS (SELECT 1 FROM cleanup_tasks AS c WHERE c.parent_id = t.id AND c.status <> 'completed' OFFSET 0)
        RETURNING t.id, t.parent_id`,
      values: [workerId, ids],
    });
    return rows.map((row) => ({ id: row.id, parentId: row.parent_id }));
  }

  /**
   * Locks a task this worker leases; null when the lease is lost. FOR NO KEY
   * UPDATE (what an UPDATE of non-key columns takes anyway), not FOR UPDATE:
   * inserting a child takes FOR KEY SHARE on its parent for the foreign key,
   * and the two must not block each other.
   */
  async lockLeasedTask(tx: PoolClient, workerId: string, id: string): Promise<TaskRef | null> {
    const { rows } = await tx.query<{ id: string; parent_id: string | null }>(
      `SELECT id, parent_id FROM cleanup_tasks WHERE id = $1 AND locked_by = $2 AND status = 'in_progress' FOR NO KEY UPDATE`,
      [id, workerId],
    );
    return rows[0] ? { id: rows[0].id, parentId: rows[0].parent_id } : null;
  }

  /**
   * Locks any task (FOR NO KEY UPDATE, see lockLeasedTask), for parent resolution.
   *
   * Why a separate statement before childSummary: two children finishing at
   * once each see the other still in progress in their own snapshot, and
   * neither would complete the parent. Both lock the parent row first, so they
   * run one after the other; in READ COMMITTED the next statement (the child
   * summary) takes a fresh snapshot after the wait and sees the other's commit.
   * Folding the check into one UPDATE … WHERE NOT EXISTS would not do: its
   * subquery keeps the snapshot from before the wait.
   */
  async lockTask(tx: PoolClient, id: string): Promise<LockedTask | null> {
    const { rows } = await tx.query<{ id: string; parent_id: string | null; status: TaskStatus; awaiting_children: boolean }>(
      `SELECT id, parent_id, status, awaiting_children FROM cleanup_tasks WHERE id = $1 FOR NO KEY UPDATE`,
      [id],
    );
    const row = rows[0];
    return row ? { id: row.id, parentId: row.parent_id, status: row.status, awaitingChildren: row.awaiting_children } : null;
  }

  /**
   * Inserts child tasks of `parentId` (which inherit its workspace and source
   * event); returns how many were new. ON CONFLICT on cleanup_tasks_child_key
   * (parent_id, resource_type, resource_id) makes spawning idempotent: a
   * re-run of the parent returns the same children and inserts nothing.
   *
   * Careful: when an existing child is being updated by a transaction that
   * has not committed yet, the conflict check waits for that transaction.
   * So never call this while holding the parent's row lock: that transaction
   * may be the child's completion, waiting for the same lock (deadlock).
   */
  async spawnChildren(parentId: string, children: readonly ChildTask[], db: Queryable = this.db): Promise<number> {
    if (children.length === 0) return 0;
    const result = await db.query(
      `
      INSERT INTO cleanup_tasks (id, parent_id, workspace_id, source_event_id, resource_type, resource_id, metadata)
      SELECT c.id, p.id, p.workspace_id, p.source_event_id, c.resource_type, c.resource_id, c.metadata
        FROM cleanup_tasks AS p
       CROSS JOIN unnest($2::text[], $3::text[], $4::text[], $5::jsonb[]) AS c(id, resource_type, resource_id, metadata)
       WHERE p.id = $1
      ON CONFLICT (parent_id, resource_type, resource_id) WHERE parent_id IS NOT NULL DO NOTHING`,
      [
        parentId,
        children.map(() => newId('ct')),
        children.map((child) => child.resourceType),
        children.map((child) => child.resourceId),
        children.map((child) => JSON.stringify(child.metadata ?? {})),
      ],
    );
    return result.rowCount ?? 0;
  }

  /**
   * Whether a task's children are all settled and, if one failed, which.
   * Served by cleanup_tasks_unfinished_children_idx (partial: not completed),
   * so it costs the same for 3 children as for 100,000 completed ones.
   */
  async childSummary(parentId: string, db: Queryable = this.db): Promise<ChildSummary> {
    const { rows } = await db.query<{
      has_open: boolean;
      failed_count: number;
      id: string | null;
      resource_type: ResourceType | null;
      resource_id: string | null;
      last_error: string | null;
    }>(
      `
      SELECT EXISTS (SELECT 1 FROM cleanup_tasks WHERE parent_id = $1 AND status IN ('pending', 'in_progress')) AS has_open,
             (SELECT count(*) FROM cleanup_tasks WHERE parent_id = $1 AND status = 'failed')::int AS failed_count,
             f.id, f.resource_type, f.resource_id, f.last_error
        FROM (SELECT 1) AS one
        LEFT JOIN LATERAL (
          SELECT id, resource_type, resource_id, last_error FROM cleanup_tasks
           WHERE parent_id = $1 AND status = 'failed'
           ORDER BY created_at, id
           LIMIT 1
        ) AS f ON true`,
      [parentId],
    );
    const row = rows[0];
    return {
      hasOpen: row.has_open,
      failedCount: row.failed_count,
      firstFailed: row.id ? { id: row.id, resourceType: row.resource_type!, resourceId: row.resource_id!, lastError: row.last_error } : null,
    };
  }

  /**
   * The handler ran and children are open: the task waits for them without a
   * lease (nothing runs it meanwhile; the lease sweep skips awaiting tasks).
   * The last child to settle resolves it.
   */
  async markAwaitingChildren(tx: PoolClient, workerId: string, id: string): Promise<boolean> {
    const result = await tx.query(
      `UPDATE cleanup_tasks SET awaiting_children = true, locked_by = NULL, locked_until = NULL, updated_at = now()
        WHERE id = $1 AND locked_by = $2 AND status = 'in_progress'`,
      [id, workerId],
    );
    return result.rowCount === 1;
  }

  /** A leased task ends failed (no attempts left, or a child failed); returns it, or null when the lease is lost. */
  async failTask(workerId: string, id: string, lastError: string, db: Queryable = this.db): Promise<TaskRef | null> {
    const { rows } = await db.query<{ id: string; parent_id: string | null }>(
      `UPDATE cleanup_tasks
          SET status = 'failed', last_error = $3, locked_by = NULL, locked_until = NULL, awaiting_children = false, updated_at = now()
        WHERE id = $1 AND locked_by = $2 AND status = 'in_progress'
       RETURNING id, parent_id`,
      [id, workerId, lastError],
    );
    return rows[0] ? { id: rows[0].id, parentId: rows[0].parent_id } : null;
  }

  /**
   * A leased task failed an attempt and has attempts left: back to pending,
   * due after the backoff. The status change fires the NOTIFY trigger; idle
   * workers then sleep until run_at (nextDueInMs).
   */
  async scheduleRetry(workerId: string, id: string, lastError: string, delayMs: number): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE cleanup_tasks
          SET status = 'pending', last_error = $3, run_at = now() + $4 * interval '1 millisecond',
              locked_by = NULL, locked_until = NULL, updated_at = now()
        WHERE id = $1 AND locked_by = $2 AND status = 'in_progress'`,
      [id, workerId, lastError, delayMs],
    );
    return result.rowCount === 1;
  }

  /** A waiting parent whose children all completed completes (caller holds its row lock: lockTask). */
  async completeAwaitingTask(tx: PoolClient, id: string): Promise<boolean> {
    const result = await tx.query(
      `UPDATE cleanup_tasks SET status = 'completed', completed_at = now(), awaiting_children = false, updated_at = now()
        WHERE id = $1 AND status = 'in_progress' AND awaiting_children`,
      [id],
    );
    return result.rowCount === 1;
  }

  /** A waiting parent one of whose children failed fails, naming it (caller holds its row lock: lockTask). */
  async failAwaitingTask(tx: PoolClient, id: string, lastError: string): Promise<boolean> {
    const result = await tx.query(
      `UPDATE cleanup_tasks SET status = 'failed', last_error = $2, awaiting_children = false, updated_at = now()
        WHERE id = $1 AND status = 'in_progress' AND awaiting_children`,
      [id, lastError],
    );
    return result.rowCount === 1;
  }

  /**
   * Heartbeat: extends this worker's leases; returns the ids extended.
   *
   * SKIP LOCKED because a leased row may be locked for a moment by its own
   * completion or, as a parent, by a child's; waiting there could deadlock
   * (this statement holds the rows it already extended). A skipped row is not
   * lost: the caller asks findHeldLeases before giving up on it.
   */
  async extendLeases(workerId: string, ids: readonly string[], leaseMs: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>({
      name: 'cleanup_tasks_extend_leases',
      text: `
        WITH mine AS (
          SELECT id FROM cleanup_tasks
           WHERE id = ANY($2) AND locked_by = $1 AND status = 'in_progress'
           FOR UPDATE SKIP LOCKED
        )
        UPDATE cleanup_tasks AS t SET locked_until = now() + $3 * interval '1 millisecond'
          FROM mine
         WHERE t.id = mine.id
        RETURNING t.id`,
      values: [workerId, ids, leaseMs],
    });
    return rows.map((row) => row.id);
  }

  /** Which of these tasks this worker still leases (a plain read: no lock, never waits). */
  async findHeldLeases(workerId: string, ids: readonly string[]): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM cleanup_tasks WHERE id = ANY($2) AND locked_by = $1 AND status = 'in_progress'`,
      [workerId, ids],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Hands leased tasks back, due at once: on graceful shutdown, and for
   * attempts a database outage cut off. The interrupted attempt still counts
   * in `attempts` (it started) but not against the budget (`attempts_base`
   * moves with it): a deploy or an outage is not the task's fault.
   */
  async releaseLeases(workerId: string, ids: readonly string[]): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE cleanup_tasks
          SET status = 'pending', run_at = now(), locked_by = NULL, locked_until = NULL,
              attempts_base = LEAST(attempts_base + 1, attempts), updated_at = now()
        WHERE id = ANY($2) AND locked_by = $1 AND status = 'in_progress'
       RETURNING id`,
      [workerId, ids],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Hands back tasks this worker claimed ahead and never started (shutdown):
   * exactly as before the claim, run_at and attempts included, so they keep
   * their place in the queue and the attempt that never began is not counted.
   */
  async returnUnstartedTasks(workerId: string, ids: readonly string[]): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE cleanup_tasks
          SET status = 'pending', locked_by = NULL, locked_until = NULL, attempts = attempts - 1, updated_at = now()
        WHERE id = ANY($2) AND locked_by = $1 AND status = 'in_progress'
       RETURNING id`,
      [workerId, ids],
    );
    return rows.map((row) => row.id);
  }

  /**
   * After a database outage: hands back, as releaseLeases does, the tasks
   * this worker leases but is not running (`running`). A claim whose answer
   * was lost with the connection leased tasks this worker never heard of;
   * without this they would wait for their lease to expire. Reads
   * cleanup_tasks_running_idx (the running tasks of all workers: few).
   */
  async releaseStrayLeases(workerId: string, running: readonly string[]): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE cleanup_tasks
          SET status = 'pending', run_at = now(), locked_by = NULL, locked_until = NULL,
              attempts_base = LEAST(attempts_base + 1, attempts), updated_at = now()
        WHERE locked_by = $1 AND ${RUNNING} AND locked_until IS NOT NULL
          AND NOT (id = ANY($2))
       RETURNING id`,
      [workerId, running],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Running tasks whose lease expired (the worker died or stalled), oldest
   * first: cleanup_tasks_running_idx holds only running tasks (as many as
   * the processes' slots), read whole and sorted.
   */
  async findExpiredLeases(limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM cleanup_tasks
        WHERE ${RUNNING} AND locked_until < now()
        ORDER BY locked_until
        LIMIT $1`,
      [limit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Takes an expired lease away: the task is due again at once, or failed
   * when its budget is spent (a task that kills every worker that runs it
   * must not loop forever). The WHERE repeats the expiry test, so a worker
   * whose heartbeat came in since findExpiredLeases keeps its task.
   */
  async expireLease(id: string, maxAttempts: number, db: Queryable = this.db): Promise<(TaskRef & { status: TaskStatus; resourceType: ResourceType }) | null> {
    const { rows } = await db.query<{ id: string; parent_id: string | null; status: TaskStatus; resource_type: ResourceType }>(
      `UPDATE cleanup_tasks
          SET status = CASE WHEN attempts - attempts_base >= $2 THEN 'failed' ELSE 'pending' END,
              last_error = 'lease expired: worker ' || coalesce(locked_by, '?') || ' stopped renewing it (crashed or stalled)',
              run_at = now(), locked_by = NULL, locked_until = NULL, updated_at = now()
        WHERE id = $1 AND status = 'in_progress' AND NOT awaiting_children AND locked_until < now()
       RETURNING id, parent_id, status, resource_type`,
      [id, maxAttempts],
    );
    return rows[0] ? { id: rows[0].id, parentId: rows[0].parent_id, status: rows[0].status, resourceType: rows[0].resource_type } : null;
  }

  /**
   * Retry (POST /api/cleanup-tasks/{id}/retry): re-queues a failed task and
   * its failed descendants, due at once, with a fresh budget of automatic
   * attempts (`attempts_base = attempts`; attempts keep counting). Returns the
   * task's status when it was not failed (then nothing changed), or null
   * when it does not exist.
   *
   * The row lock on the task serialises concurrent retries: the second sees
   * `pending` and gets a 409. The walk skips completed subtrees: a task
   * completes only after all its children did, so nothing failed lies below.
   */
  requeueFailedSubtree(id: string): Promise<{ status: TaskStatus; requeued: number } | null> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ status: TaskStatus }>(`SELECT status FROM cleanup_tasks WHERE id = $1 FOR UPDATE`, [id]);
      if (rows.length === 0) return null;
      if (rows[0].status !== 'failed') return { status: rows[0].status, requeued: 0 };
      const { rowCount } = await tx.query(
        `WITH RECURSIVE subtree AS (
           SELECT id FROM cleanup_tasks WHERE id = $1
           UNION ALL
           SELECT c.id FROM cleanup_tasks AS c JOIN subtree ON c.parent_id = subtree.id
            WHERE c.status <> 'completed'
         ) CYCLE id SET is_cycle USING path
         UPDATE cleanup_tasks AS t
            SET status = 'pending', run_at = now(), attempts_base = t.attempts, awaiting_children = false,
                locked_by = NULL, locked_until = NULL, updated_at = now()
           FROM subtree
          WHERE t.id = subtree.id AND NOT subtree.is_cycle AND t.status = 'failed'`,
        [id],
      );
      return { status: 'failed', requeued: rowCount ?? 0 };
    });
  }

  /**
   * Retention: deletes up to `limit` completed root tasks completed before
   * `cutoff`, with their trees (parent_id is ON DELETE CASCADE). A completed
   * root implies a completed tree. Returns the roots deleted.
   */
  async purgeCompletedTrees(cutoff: Date, limit: number, db: Queryable = this.db): Promise<number> {
    const result = await db.query(
      `DELETE FROM cleanup_tasks
        WHERE id IN (SELECT id FROM cleanup_tasks
                      WHERE parent_id IS NULL AND status = 'completed' AND completed_at < $1
                      ORDER BY completed_at
                      LIMIT $2)`,
      [cutoff, limit],
    );
    return result.rowCount ?? 0;
  }
}

function toClaimedTask(row: ClaimRow): ClaimedTask {
  return {
    id: row.id,
    parentId: row.parent_id,
    workspaceId: row.workspace_id,
    sourceEventId: row.source_event_id,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    metadata: row.metadata,
    attempts: row.attempts,
    attemptsBase: row.attempts_base,
    runAt: row.run_at,
    traceParent: row.trace_parent,
  };
}

