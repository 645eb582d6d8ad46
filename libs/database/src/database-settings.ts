import pg, { type PoolConfig } from 'pg';

/** How this process reaches PostgreSQL: one definition, read by every pool, client and the TypeORM DataSource. */
export interface DatabaseSettings {
  /** The server statements go to (DATABASE_URL): PostgreSQL itself, or a transaction pooler in front of it. */
  url: string;
  /**
   * Whether `url` leads to a pooler in transaction mode (PgBouncer): then no
   * start-up `options` (PgBouncer 1.18 refuses the connection), no named
   * prepared statements (the next transaction may run on another server
   * connection) and no session state outlives a transaction.
   */
  pooled: boolean;
  /**
   * Where what needs a session of its own goes — LISTEN, session advisory
   * locks, migrations: DATABASE_DIRECT_URL, else `url` (then taken to be direct).
   */
  directUrl: string;
  /** Connections of the main pool (DATABASE_POOL_SIZE). */
  poolSize: number;
  /** `application_name` of every connection (pools append their name), so they are recognisable in pg_stat_activity. */
  applicationName: string;
  /** How long opening a connection, or waiting for a pooled one, may take before the caller gets an error. */
  connectTimeoutMs: number;
}

/** The default of DATABASE_CONNECT_TIMEOUT_MS. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/**
 * Session settings of every connection. Our sessions plan for SSD storage
 * (PostgreSQL's default random_page_cost of 4 assumes spinning disks): with
 * it, relation filters (children.some) on 1M rows took ~330 ms instead of
 * ~15 ms (docs/benchmarks.md). On a direct connection they are start-up
 * options; behind a pooler, see transactionPrelude.
 */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = Object.freeze({ random_page_cost: '1.1' });

export interface PoolShape {
  /** Appended to the application name (`cleanup-tasks-list`); none for the main pool. */
  name?: string;
  max: number;
  /** PostgreSQL's statement_timeout on these connections (0 or unset: none): a session setting, so no round trip per query. */
  statementTimeoutMs?: number;
  /** How long a caller waits for a free (or new) connection; default `connectTimeoutMs`. */
  waitMs?: number;
}

/** The `pg` configuration of a pool of the given shape: the only place connection settings are turned into driver options. */
export function poolConfig(settings: DatabaseSettings, shape: PoolShape): PoolConfig {
  const config: PoolConfig = {
    connectionString: settings.url,
    max: shape.max,
    application_name: shape.name ? `${settings.applicationName}-${shape.name}` : settings.applicationName,
    connectionTimeoutMillis: shape.waitMs ?? settings.connectTimeoutMs,
  };
  if (!settings.pooled) return { ...config, options: sessionOptions(sessionSettingsOf(shape)) };
  // Behind a pooler the settings travel as SET LOCAL in each transaction
  // (transactionPrelude); a side pool sends that prelude, its statement and
  // COMMIT in one write (pipeline mode), so the prelude costs no round trip.
  return { ...config, Client: UnnamedStatementClient, pipeline: shape.name !== undefined };
}

/** The `pg` configuration of a single connection of its own (LISTEN, tools): always direct. */
export function clientConfig(settings: DatabaseSettings, name: string): PoolConfig {
  return {
    connectionString: settings.directUrl,
    application_name: `${settings.applicationName}:${name}`,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    options: sessionOptions(SESSION_SETTINGS),
    keepAlive: true,
  };
}

/**
 * The SET LOCAL statements that give a transaction the pool's session
 * settings where start-up options cannot (behind a pooler); undefined on a
 * direct connection, whose session already has them. Sent in the same
 * message as BEGIN: no round trip of its own.
 */
export function transactionPrelude(settings: DatabaseSettings, shape: PoolShape): string | undefined {
  if (!settings.pooled) return undefined;
  return Object.entries(sessionSettingsOf(shape))
    .map(([name, value]) => `SET LOCAL ${name} = ${pg.escapeLiteral(value)}`)
    .join('; ');
}

/** The same server reached directly (DATABASE_DIRECT_URL): for sessions of their own and migrations. */
export function directSettings(settings: DatabaseSettings): DatabaseSettings {
  return settings.pooled ? Object.freeze({ ...settings, url: settings.directUrl, pooled: false }) : settings;
}

function sessionSettingsOf(shape: PoolShape): Record<string, string> {
  const session: Record<string, string> = { ...SESSION_SETTINGS };
  if (shape.statementTimeoutMs && shape.statementTimeoutMs > 0) session.statement_timeout = String(shape.statementTimeoutMs);
  return session;
}

function sessionOptions(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
}

/**
 * A `pg` client that never names a statement: a named prepared statement
 * lives in one server session, and behind a transaction pooler the next
 * transaction may run in another (PgBouncer 1.18: "prepared statement does
 * not exist" / "already exists"). Statements keep their `name` in the code,
 * where they pay on direct connections (planned once per connection:
 * 0.1–0.2 ms of planning saved per claim, completion or heartbeat).
 */
export class UnnamedStatementClient extends pg.Client {}
const namedQuery = pg.Client.prototype.query;
UnnamedStatementClient.prototype.query = function query(this: pg.Client, config: unknown, ...rest: unknown[]) {
  const unnamed = typeof config === 'object' && config !== null && 'name' in config ? { ...config, name: undefined } : config;
  return (namedQuery as (...args: unknown[]) => unknown).call(this, unnamed, ...rest);
} as typeof namedQuery;

export interface DatabaseSettingsOverrides extends Partial<Omit<DatabaseSettings, 'url' | 'pooled' | 'directUrl'>> {
  /** DATABASE_DIRECT_URL: when set (and not `url` itself), `url` is taken to lead to a transaction pooler. */
  directUrl?: string;
  /** Whether `url` leads to a pooler when no direct URL tells (a replica behind the same kind of pooler as the primary). */
  pooled?: boolean;
}

/** Settings for `url` with the defaults (pool of 20, the app's name, 5 s connect timeout, direct) unless overridden. */
export function databaseSettingsFor(url: string, overrides: DatabaseSettingsOverrides = {}): DatabaseSettings {
  const directUrl = overrides.directUrl ?? url;
  return Object.freeze({
    url,
    pooled: overrides.pooled ?? directUrl !== url,
    directUrl,
    poolSize: overrides.poolSize ?? 20,
    applicationName: overrides.applicationName ?? 'cleanup-tasks',
    connectTimeoutMs: overrides.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });
}
