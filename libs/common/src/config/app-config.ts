import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, validateSync } from 'class-validator';
import { IsTrustProxy, toTrustProxy, type TrustProxySetting } from './trust-proxy';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

/**
 * The environment the service reads, validated once at start-up. Features
 * inject this class (provided by `AppConfigModule`); none reads `process.env`.
 */
export class AppConfig {
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT: number = 3000;

  @IsOptional() @IsString()
  HOST: string = '127.0.0.1';

  @IsOptional() @IsString() @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  /**
   * A direct connection to the server behind DATABASE_URL, for what needs a
   * session of its own (LISTEN, session advisory locks, migrations). Set it
   * when DATABASE_URL goes through a pooler in transaction mode (PgBouncer);
   * unset, DATABASE_URL is taken to be direct.
   */
  @IsOptional() @IsString() @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_DIRECT_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_DIRECT_URL?: string;

  /** A streaming replica for reads that may be a little stale (list, counts, export, get by id, tree); unset: every read on the primary. */
  @IsOptional() @IsString() @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_READ_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_READ_URL?: string;

  /** Reads go to the replica only while it lags the primary by at most this much. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000)
  READ_REPLICA_MAX_LAG_MS: number = 5000;

  @IsOptional() @IsString()
  EMBEDDED_POSTGRES_DIR: string = '.data/postgres';

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(65535)
  EMBEDDED_POSTGRES_PORT: number = 54329;

  @IsOptional() @Transform(toBool) @IsBoolean()
  SCHEDULER_ENABLED: boolean = true;

  @IsOptional() @IsString() @MinLength(32) @MaxLength(256) @Matches(/^[\x21-\x7e]+$/, { message: 'BOOTSTRAP_ADMIN_TOKEN must be printable ASCII without spaces' })
  BOOTSTRAP_ADMIN_TOKEN?: string;

  /** Key of the cursors' HMAC; unset → a random key kept in the database. */
  @IsOptional() @IsString() @MinLength(32)
  CURSOR_SECRET?: string;

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  /** Requests per minute per client on the API (429 beyond). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  RATE_LIMIT_PER_MINUTE: number = 1200;

  /**
   * The proxies whose `X-Forwarded-For` is believed (Express's `trust
   * proxy`): their addresses, CIDR ranges or `loopback`/`linklocal`/
   * `uniquelocal`, or a hop count. The client address (its rate-limit
   * budget) is the last one in the header that no trusted proxy added.
   * false: the connection's own address, the header ignored.
   */
  @IsOptional() @Transform(toTrustProxy) @IsTrustProxy()
  TRUST_PROXY: TrustProxySetting = false;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  DATABASE_POOL_SIZE: number = 20;

  /**
   * Longest a list query may run: PostgreSQL's statement_timeout on the
   * list's own connections. Beyond it the request answers 504 `query-timeout`
   * and the database stops working on it. 0: no limit.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  LIST_QUERY_TIMEOUT_MS: number = 15_000;

  /**
   * Connections of the list's own pool, beside DATABASE_POOL_SIZE: however
   * many expensive list queries run, they never take the connections of
   * look-ups, enqueues, authentication or the scheduler.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  LIST_POOL_SIZE: number = 10;

  /**
   * Longest one statement of a tree download may run: PostgreSQL's
   * statement_timeout inside its transaction. The first read walks and sorts
   * the whole tree; past the limit it answers 504 `query-timeout` before
   * anything is sent. 0: no limit.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  TREE_QUERY_TIMEOUT_MS: number = 15_000;

  /**
   * Connections of tree downloads, beside DATABASE_POOL_SIZE: a download
   * holds one for as long as its client reads. With every one in use, the
   * next download answers 503 `busy` with Retry-After.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  TREE_POOL_SIZE: number = 4;

  /**
   * Longest one statement of an export (`GET /api/cleanup-tasks/export`)
   * may run: PostgreSQL's statement_timeout inside its transaction. The
   * first read does the work an order without an index needs (a full sort);
   * past the limit it answers 504 `query-timeout` before anything is sent.
   * 0: no limit.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  EXPORT_QUERY_TIMEOUT_MS: number = 15_000;

  /**
   * Connections of exports, beside DATABASE_POOL_SIZE and the list's: an
   * export holds one for as long as its client reads. With every one in
   * use, the next export answers 503 `busy` with Retry-After.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  EXPORT_POOL_SIZE: number = 4;

  /**
   * A streamed answer (a task tree, an export) whose client takes no data
   * for this long is ended: its database cursor, connection and snapshot
   * are let go instead of waiting for a stalled or half-open connection.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  STREAM_STALL_TIMEOUT_MS: number = 30_000;

  /** How long an authenticated token is trusted without asking the database (0: never cached). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(60_000)
  AUTH_CACHE_TTL_MS: number = 5000;

  /**
   * While the database cannot be reached, routes that need nothing else from
   * it (`/metrics`) accept a token this process checked successfully within
   * this time (its last known good state); everything else answers 503
   * `database-unavailable`. 0: none.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(86_400_000)
  AUTH_OUTAGE_GRACE_MS: number = 3_600_000;

  /**
   * Longest a database call waits to open a connection or for a pooled one
   * to come free; beyond it the request answers 503 (`database-unavailable`
   * while the database is down, else `busy`). A refused or reset connection
   * fails at once; this bounds a server that does not answer at all.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(120_000)
  DATABASE_CONNECT_TIMEOUT_MS: number = 5000;

  // --- Observability ---

  /**
   * The worker's `GET /metrics` listener (on HOST): unset → none (the API
   * serves /metrics on PORT and ignores this). 0: any free port.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  METRICS_PORT?: number;

  /** OTLP collector (base URL, `/v1/traces` is appended): set → traces are exported; unset → tracing is off. */
  @IsOptional() @IsString() @Matches(/^https?:\/\/\S+$/, { message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL' })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  /** `service.name` of the exported spans; unset → cleanup-tasks-api or cleanup-tasks-worker. */
  @IsOptional() @IsString() @MinLength(1) @MaxLength(200)
  OTEL_SERVICE_NAME?: string;

  // --- Scheduler (read only where SCHEDULER_ENABLED) ---

  /** Handlers running at once in this process. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  SCHEDULER_CONCURRENCY: number = 10;

  /** Most tasks one claim statement takes (never more than the free slots). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  SCHEDULER_BATCH_SIZE: number = 20;

  /**
   * Most tasks claimed ahead of free slots: leased and waiting in this
   * process for a handler to finish. The depth used follows the recent
   * handler run times, so that a task claimed ahead starts within ~100 ms:
   * none ahead for handlers that run for seconds. 0: claim only for free slots.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(1000)
  SCHEDULER_PREFETCH: number = 10;

  /** Claim due tasks round-robin over workspaces, each capped at SCHEDULER_WORKSPACE_CONCURRENCY running tasks; false: oldest first (run_at), no cap. Use one setting in every process. */
  @IsOptional() @Transform(toBool) @IsBoolean()
  SCHEDULER_FAIR_CLAIMS: boolean = true;

  /** Most running (leased, including claimed ahead) tasks of one workspace across all processes, with fair claims. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  SCHEDULER_WORKSPACE_CONCURRENCY: number = 5;

  /** A claim is a lease this long; heartbeats renew it every third of it. A dead worker's tasks are re-claimed after it expires. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86400)
  SCHEDULER_LEASE_SECONDS: number = 60;

  /** Automatic attempts per task (a retry through the API grants as many again). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  SCHEDULER_MAX_ATTEMPTS: number = 5;

  /** Backoff after the first failed attempt; it doubles per attempt, with jitter, up to SCHEDULER_BACKOFF_MAX_MS. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  SCHEDULER_BACKOFF_BASE_MS: number = 1000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  SCHEDULER_BACKOFF_MAX_MS: number = 300_000;

  /** Longest sleep of an idle worker; new work wakes it at once through LISTEN/NOTIFY, so this is only the safety net. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(10)
  SCHEDULER_POLL_INTERVAL_MS: number = 2000;

  /** On SIGTERM: how long running handlers may finish before their leases are released. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  SCHEDULER_SHUTDOWN_TIMEOUT_MS: number = 10_000;

  /** Purge completed task trees older than RETENTION_DAYS (hourly, in one process at a time). Off by default. */
  @IsOptional() @Transform(toBool) @IsBoolean()
  RETENTION_ENABLED: boolean = false;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  RETENTION_DAYS: number = 30;

  // --- Webhooks (delivered where the scheduler runs) ---

  /** Attempts to deliver one event to one subscription before it is given up. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  WEBHOOK_MAX_ATTEMPTS: number = 10;

  /** Delivered and given-up events, with their attempts, are purged after this many days. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3650)
  WEBHOOK_RETENTION_DAYS: number = 7;

  /** Deliver to loopback, private, link-local and other non-public addresses (development, tests, receivers inside the network). */
  @IsOptional() @Transform(toBool) @IsBoolean()
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: boolean = false;

  /** Encrypts webhook secrets at rest (AES-256-GCM under a key derived from this by HKDF-SHA256); unset → stored in the clear. */
  @IsOptional() @IsString() @MinLength(32) @MaxLength(1024)
  WEBHOOK_SECRETS_KEY?: string;

  /** Deliveries in flight at once per process, beside (never instead of) the handlers' SCHEDULER_CONCURRENCY. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  WEBHOOK_CONCURRENCY: number = 10;

  /** Deliveries in flight at once to one subscription, across all processes: one slow or flooded receiver cannot take every slot. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  WEBHOOK_SUBSCRIPTION_CONCURRENCY: number = 5;

  /** Longest one delivery attempt may take (connect, send, answer). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(60_000)
  WEBHOOK_TIMEOUT_MS: number = 10_000;

  /** Backoff after a delivery's first failed attempt; it doubles per attempt, with jitter, up to WEBHOOK_BACKOFF_MAX_MS. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  WEBHOOK_BACKOFF_BASE_MS: number = 30_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  WEBHOOK_BACKOFF_MAX_MS: number = 3_600_000;
}

/** The variables read from the environment (and `.env`); everything else is ignored. */
export const CONFIG_KEYS = [
  'PORT', 'HOST', 'DATABASE_URL', 'DATABASE_DIRECT_URL', 'DATABASE_READ_URL', 'READ_REPLICA_MAX_LAG_MS', 'EMBEDDED_POSTGRES_DIR',
  'EMBEDDED_POSTGRES_PORT', 'SCHEDULER_ENABLED',
  'BOOTSTRAP_ADMIN_TOKEN', 'CURSOR_SECRET', 'LOG_LEVEL', 'RATE_LIMIT_PER_MINUTE', 'DATABASE_POOL_SIZE', 'LIST_QUERY_TIMEOUT_MS',
  'LIST_POOL_SIZE', 'TREE_QUERY_TIMEOUT_MS', 'TREE_POOL_SIZE', 'EXPORT_QUERY_TIMEOUT_MS', 'EXPORT_POOL_SIZE', 'STREAM_STALL_TIMEOUT_MS',
  'AUTH_CACHE_TTL_MS',
  'METRICS_PORT', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME',
  'TRUST_PROXY',
  'AUTH_OUTAGE_GRACE_MS', 'DATABASE_CONNECT_TIMEOUT_MS',
  'SCHEDULER_CONCURRENCY', 'SCHEDULER_BATCH_SIZE', 'SCHEDULER_PREFETCH', 'SCHEDULER_FAIR_CLAIMS', 'SCHEDULER_WORKSPACE_CONCURRENCY', 'SCHEDULER_LEASE_SECONDS', 'SCHEDULER_MAX_ATTEMPTS', 'SCHEDULER_BACKOFF_BASE_MS',
  'SCHEDULER_BACKOFF_MAX_MS', 'SCHEDULER_POLL_INTERVAL_MS', 'SCHEDULER_SHUTDOWN_TIMEOUT_MS', 'RETENTION_ENABLED', 'RETENTION_DAYS',
  'WEBHOOK_MAX_ATTEMPTS', 'WEBHOOK_RETENTION_DAYS', 'WEBHOOKS_ALLOW_PRIVATE_TARGETS', 'WEBHOOK_SECRETS_KEY', 'WEBHOOK_CONCURRENCY',
  'WEBHOOK_SUBSCRIPTION_CONCURRENCY', 'WEBHOOK_TIMEOUT_MS', 'WEBHOOK_BACKOFF_BASE_MS', 'WEBHOOK_BACKOFF_MAX_MS',
] as const satisfies readonly (keyof AppConfig)[];

/** Values never repeated in error messages. */
const SECRET_KEYS = new Set(['BOOTSTRAP_ADMIN_TOKEN', 'CURSOR_SECRET', 'WEBHOOK_SECRETS_KEY']);

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Validates raw environment variables; throws one error listing every problem. */
export function validateEnvironment(raw: Record<string, unknown>): AppConfig {
  const relevant = Object.fromEntries(
    CONFIG_KEYS.filter((key) => raw[key] !== undefined && raw[key] !== '').map((key) => [key, raw[key]]),
  );
  const config = plainToInstance(AppConfig, relevant, { exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false, whitelist: false });
  const problems = errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((message) => `${e.property}=${SECRET_KEYS.has(e.property) ? '(hidden)' : JSON.stringify(raw[e.property])}: ${message}`),
  );
  // The embedded PostgreSQL is reached directly and has no replica.
  for (const key of ['DATABASE_DIRECT_URL', 'DATABASE_READ_URL'] as const) {
    if (config[key] !== undefined && config.DATABASE_URL === undefined) problems.push(`${key} is set without DATABASE_URL: it describes the server of DATABASE_URL`);
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return Object.freeze(config);
}
