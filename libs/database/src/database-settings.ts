import type { PoolConfig } from 'pg';

/** How this process reaches PostgreSQL: one definition, read by every pool, client and the TypeORM DataSource. */
export interface DatabaseSettings {
  /** The server statements go to. */
  url: string;
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
 * Session settings of every connection, sent as start-up options. Our
 * sessions plan for SSD storage (PostgreSQL's default random_page_cost of 4
 * assumes spinning disks): with it, relation filters (children.some) on 1M
 * rows took ~330 ms instead of ~15 ms (docs/benchmarks.md).
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
  const session: Record<string, string> = { ...SESSION_SETTINGS };
  if (shape.statementTimeoutMs && shape.statementTimeoutMs > 0) session.statement_timeout = String(shape.statementTimeoutMs);
  return {
    connectionString: settings.url,
    max: shape.max,
    application_name: shape.name ? `${settings.applicationName}-${shape.name}` : settings.applicationName,
    connectionTimeoutMillis: shape.waitMs ?? settings.connectTimeoutMs,
    options: sessionOptions(session),
  };
}

/** The `pg` configuration of a single connection of its own (LISTEN, tools). */
export function clientConfig(settings: DatabaseSettings, name: string): PoolConfig {
  return {
    connectionString: settings.url,
    application_name: `${settings.applicationName}:${name}`,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    options: sessionOptions(SESSION_SETTINGS),
    keepAlive: true,
  };
}

function sessionOptions(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
}

/** Settings for `url` with the defaults (pool of 20, the app's name, 5 s connect timeout) unless overridden. */
export function databaseSettingsFor(url: string, overrides: Partial<Omit<DatabaseSettings, 'url'>> = {}): DatabaseSettings {
  return Object.freeze({
    url,
    poolSize: overrides.poolSize ?? 20,
    applicationName: overrides.applicationName ?? 'cleanup-tasks',
    connectTimeoutMs: overrides.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });
}
