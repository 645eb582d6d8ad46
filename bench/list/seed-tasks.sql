-- Realistic cleanup tasks for the list benchmark, generated in SQL (a few
-- seconds per 100k rows). Deterministic: setseed() fixes random().
--
-- Shape (what production looks like): 600 workspaces with Zipf-like skew
-- (the largest holds ~10% of all tasks, the smallest a few hundred); one or
-- two deletion events per workspace, each a tree delete_workspace →
-- delete_app / delete_database → delete_element. Children spawned together
-- share their created_at (ties, as the scheduler's bulk insert makes them).
-- 80% of trees completed, 10% failed (some elements failed 5 attempts, their
-- apps and root failed naming the child), 10% still running (pending,
-- in_progress, completed mixed). created_at spans 90 days; ids are `ct_` +
-- a ULID-shaped value (48-bit ms time + counter), so they sort by time.
--
-- :scale (psql-style placeholder replaced by the bench) = rows wanted.

SELECT setseed(0.4242);


CREATE FUNCTION pg_temp.b32(v bigint, k int) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((v >> (5 * k)) & 31)::int + 1, 1) $$;

-- `ct_` + 10 chars of the ms time + 16 chars of a unique counter.
CREATE FUNCTION pg_temp.task_id(ms bigint, n bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 'ct_' || pg_temp.b32(ms, 9) || pg_temp.b32(ms, 8) || pg_temp.b32(ms, 7) || pg_temp.b32(ms, 6) || pg_temp.b32(ms, 5)
      || pg_temp.b32(ms, 4) || pg_temp.b32(ms, 3) || pg_temp.b32(ms, 2) || pg_temp.b32(ms, 1) || pg_temp.b32(ms, 0)
      || '0000' || pg_temp.b32(n, 11) || pg_temp.b32(n, 10) || pg_temp.b32(n, 9) || pg_temp.b32(n, 8) || pg_temp.b32(n, 7)
      || pg_temp.b32(n, 6) || pg_temp.b32(n, 5) || pg_temp.b32(n, 4) || pg_temp.b32(n, 3) || pg_temp.b32(n, 2)
      || pg_temp.b32(n, 1) || pg_temp.b32(n, 0) $$;

-- Workspaces and their share of the rows (weight 1/i^0.9).
CREATE TEMP TABLE bench_ws AS
  SELECT i, 'ws_' || lpad(i::text, 4, '0') AS id, 1.0 / power(i, 0.9) AS w FROM generate_series(1, 600) AS i;
CREATE TEMP TABLE bench_roots AS
  SELECT row_number() OVER () AS root_no, ws.id AS workspace_id, e AS event_no,
         'evt_' || substr(md5(ws.id || e), 1, 12) AS source_event_id,
         greatest(40, round(:scale * ws.w / (SELECT sum(w) FROM bench_ws) / (CASE WHEN ws.i % 3 = 0 THEN 2 ELSE 1 END)))::int AS size,
         timestamptz '2026-08-01 00:00:00+00' + random() * interval '90 days' AS created_at,
         CASE WHEN r < 0.8 THEN 'completed' WHEN r < 0.9 THEN 'failed' ELSE 'active' END AS mode,
         CASE WHEN random() < 0.3 THEN 'eu-west-1' WHEN random() < 0.6 THEN 'us-east-1' ELSE 'ap-south-1' END AS region,
         (ARRAY['free', 'pro', 'team', 'enterprise'])[1 + floor(random() * 4)::int] AS plan
    FROM bench_ws AS ws
   CROSS JOIN LATERAL generate_series(1, CASE WHEN ws.i % 3 = 0 THEN 2 ELSE 1 END) AS e
   CROSS JOIN LATERAL (SELECT random() + 0 * ws.i + 0 * e AS r) AS rr;

CREATE TEMP TABLE bench_apps AS
  SELECT r.root_no, a AS app_no, r.workspace_id, r.source_event_id, r.mode, r.region, r.created_at + interval '40 milliseconds' AS created_at,
         greatest(0, round((r.size * 0.94 / greatest(1, round(r.size * 0.04))) * (0.4 + random() * 1.2)))::int AS elements
    FROM bench_roots AS r CROSS JOIN LATERAL generate_series(1, greatest(1, round(r.size * 0.04))::int) AS a;
CREATE TEMP TABLE bench_dbs AS
  SELECT r.root_no, d AS db_no, r.workspace_id, r.source_event_id, r.mode, r.region, r.created_at + interval '40 milliseconds' AS created_at
    FROM bench_roots AS r CROSS JOIN LATERAL generate_series(1, greatest(1, round(r.size * 0.01))::int) AS d;

-- Every task, flat, with its parent's key; numbered for ids.
CREATE TEMP TABLE bench_tasks AS
  SELECT 'root:' || root_no AS k, NULL::text AS parent_k, workspace_id, source_event_id, 'delete_workspace' AS resource_type,
         workspace_id AS resource_id, mode, region, created_at, 0 AS depth,
         jsonb_build_object('requestedBy', 'user_' || (root_no * 7919 % 5000), 'region', region, 'plan', plan, 'reason',
                            (ARRAY['account_closed', 'gdpr_erasure', 'trial_expired', 'merged'])[1 + (root_no % 4)::int]) AS metadata
    FROM bench_roots
  UNION ALL
  SELECT 'app:' || root_no || ':' || app_no, 'root:' || root_no, workspace_id, source_event_id, 'delete_app',
         'app_' || substr(md5(root_no || ':' || app_no), 1, 16), mode, region, created_at, 1,
         jsonb_build_object('region', region, 'elements', elements)
    FROM bench_apps
  UNION ALL
  SELECT 'db:' || root_no || ':' || db_no, 'root:' || root_no, workspace_id, source_event_id, 'delete_database',
         'db_' || substr(md5('db' || root_no || ':' || db_no), 1, 16), mode, region, created_at, 1,
         jsonb_build_object('region', region, 'engine', CASE WHEN db_no % 5 = 0 THEN 'mysql' ELSE 'postgres' END, 'sizeMb', (db_no * 37) % 2048)
    FROM bench_dbs
  UNION ALL
  SELECT 'el:' || a.root_no || ':' || a.app_no || ':' || e, 'app:' || a.root_no || ':' || a.app_no, a.workspace_id, a.source_event_id,
         'delete_element', 'el_' || substr(md5(a.root_no || ':' || a.app_no || ':' || e), 1, 16), a.mode, a.region,
         a.created_at + (interval '1 millisecond' * (100 + (a.app_no * 7919) % 600000)), 2,
         CASE WHEN e % 4 = 0 THEN jsonb_build_object('kind', 'table', 'rows', e * 13) WHEN e % 4 = 1 THEN jsonb_build_object('kind', 'page')
              WHEN e % 4 = 2 THEN jsonb_build_object('kind', 'workflow', 'tags', jsonb_build_array('legacy', 'auto')) ELSE '{}'::jsonb END
    FROM bench_apps AS a CROSS JOIN LATERAL generate_series(1, a.elements) AS e;

-- Status per task from its tree's mode (parents settled consistently with children).
CREATE TEMP TABLE bench_final AS
  SELECT t.*, row_number() OVER (ORDER BY t.created_at, t.k) AS n,
         CASE
           WHEN t.mode = 'completed' THEN 'completed'
           WHEN t.mode = 'failed' THEN CASE WHEN t.depth = 2 THEN CASE WHEN random() < 0.06 THEN 'failed' ELSE 'completed' END
                                            WHEN t.depth = 1 AND t.resource_type = 'delete_database' THEN 'completed'
                                            ELSE 'failed' END
           ELSE CASE WHEN t.depth = 0 THEN 'in_progress' WHEN t.depth = 1 THEN 'in_progress'
                     WHEN random() < 0.45 THEN 'pending' WHEN random() < 0.1 THEN 'in_progress' ELSE 'completed' END
         END AS status
    FROM bench_tasks AS t;

CREATE TEMP TABLE bench_rows AS
  SELECT f.k, pg_temp.task_id((extract(epoch FROM date_trunc('milliseconds', f.created_at)) * 1000)::bigint, f.n) AS id, f.parent_k,
         f.workspace_id, f.source_event_id, f.resource_type, f.resource_id, f.metadata, f.status,
         CASE f.status WHEN 'failed' THEN 5 WHEN 'pending' THEN (f.n % 3)::int WHEN 'in_progress' THEN 1 + (f.n % 2)::int
                       ELSE 1 + (CASE WHEN f.n % 17 = 0 THEN 2 WHEN f.n % 5 = 0 THEN 1 ELSE 0 END) END AS attempts,
         CASE
           WHEN f.status = 'failed' AND f.depth = 2 THEN (ARRAY['timeout after 30s deleting element', 'permission denied for schema wsdb_' || f.n % 977,
                                                               'element locked by another job', 'upstream 503 from storage'])[1 + (f.n % 4)::int]
           WHEN f.status = 'failed' THEN 'child task failed: ' || f.resource_type || ' blocked by a failed child'
           WHEN f.status = 'pending' AND f.n % 3 > 0 THEN 'timeout after 30s deleting element'
           WHEN f.status = 'completed' AND f.n % 5 = 0 THEN 'connection reset by peer'
           ELSE NULL
         END AS last_error,
         date_trunc('milliseconds', f.created_at) AS created_at,
         CASE WHEN f.status = 'completed' THEN date_trunc('milliseconds', f.created_at + interval '1 second' * (1 + f.n % 3600)) END AS completed_at
    FROM bench_final AS f;
CREATE INDEX ON bench_rows (k);
ANALYZE bench_rows;

-- Parents first (depth order), so the foreign key always finds them.
INSERT INTO cleanup_tasks (id, parent_id, workspace_id, source_event_id, resource_type, resource_id, metadata, status, attempts,
                           last_error, created_at, completed_at, run_at, updated_at)
SELECT r.id, p.id, r.workspace_id, r.source_event_id, r.resource_type, r.resource_id, r.metadata, r.status, r.attempts,
       r.last_error, r.created_at, r.completed_at, r.created_at, r.created_at
  FROM bench_rows AS r LEFT JOIN bench_rows AS p ON p.k = r.parent_k
 WHERE r.parent_k IS NULL;
INSERT INTO cleanup_tasks (id, parent_id, workspace_id, source_event_id, resource_type, resource_id, metadata, status, attempts,
                           last_error, created_at, completed_at, run_at, updated_at)
SELECT r.id, p.id, r.workspace_id, r.source_event_id, r.resource_type, r.resource_id, r.metadata, r.status, r.attempts,
       r.last_error, r.created_at, r.completed_at, r.created_at, r.created_at
  FROM bench_rows AS r JOIN bench_rows AS p ON p.k = r.parent_k
 WHERE r.parent_k LIKE 'root:%';
INSERT INTO cleanup_tasks (id, parent_id, workspace_id, source_event_id, resource_type, resource_id, metadata, status, attempts,
                           last_error, created_at, completed_at, run_at, updated_at)
SELECT r.id, p.id, r.workspace_id, r.source_event_id, r.resource_type, r.resource_id, r.metadata, r.status, r.attempts,
       r.last_error, r.created_at, r.completed_at, r.created_at, r.created_at
  FROM bench_rows AS r JOIN bench_rows AS p ON p.k = r.parent_k
 WHERE r.parent_k LIKE 'app:%';
