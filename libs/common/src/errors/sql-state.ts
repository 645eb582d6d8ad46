/** SQLSTATEs the app answers on purpose. */
export const SQL_STATE = {
  /** query_canceled: statement_timeout (or an operator's cancel). */
  queryCanceled: '57014',
  /** character_not_in_repertoire: NUL in text. */
  characterNotInRepertoire: '22021',
  /** untranslatable_character: `\u0000` in jsonb. */
  untranslatableCharacter: '22P05',
} as const;

/** PostgreSQL's SQLSTATE of a failed query: pg's error, or TypeORM's QueryFailedError around it. */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, driverError } = error as { code?: unknown; driverError?: { code?: unknown } };
  const state = typeof code === 'string' ? code : driverError?.code;
  return typeof state === 'string' ? state : undefined;
}

/** Whether PostgreSQL cancelled the statement (statement_timeout, or an operator's cancel). */
export function isQueryCanceled(error: unknown): boolean {
  return sqlStateOf(error) === SQL_STATE.queryCanceled;
}

/** Socket-level error codes of a connection that could not be opened or was lost. */
const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
]);

/**
 * SQLSTATEs of a server that is going away or not there yet: admin_shutdown
 * (57P01, a fast or immediate stop), crash_shutdown (57P02, another backend
 * crashed), cannot_connect_now (57P03, starting up or in recovery).
 */
const UNAVAILABLE_SQL_STATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03']);

/** What `pg` says, without a code, when a connection it held or was opening went away. */
const LOST_CONNECTION_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/** Deepest chain of wrapped errors (`driverError`, `cause`, AggregateError's `errors`) looked through. */
const MAX_WRAPPING_DEPTH = 8;

/**
 * Whether `error` says the database could not be reached or the connection
 * was lost — the server is down, restarting or in recovery — as opposed to a
 * statement that failed on a working connection. Looks through TypeORM's
 * QueryFailedError (`driverError`), Node's AggregateError (a host with
 * several addresses) and an error's `cause` (a handler that wraps what it
 * caught). A pool that found no free connection in time is not covered: on
 * its own that means busy, not down (isPoolCheckoutTimeout).
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > MAX_WRAPPING_DEPTH) return false;
  const { driverError, errors, cause } = error as { driverError?: unknown; errors?: unknown; cause?: unknown };
  const inner = (candidate: unknown) => candidate !== undefined && candidate !== error && isDatabaseUnavailable(candidate, depth + 1);
  if (inner(driverError) || inner(cause)) return true;
  if (Array.isArray(errors) && errors.some(inner)) return true;
  const state = sqlStateOf(error);
  if (state !== undefined && (CONNECTION_ERROR_CODES.has(state) || UNAVAILABLE_SQL_STATES.has(state) || /^08[0-9A-Z]{3}$/.test(state))) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && LOST_CONNECTION_MESSAGES.some((text) => message.startsWith(text));
}

/**
 * Whether a pool gave up waiting for a free connection (pg-pool's
 * `connectionTimeoutMillis` while every connection was checked out). Busy
 * on its own; while the database is down, the connections it waited for are
 * the ones failing, so the caller should say unavailable instead.
 */
export function isPoolCheckoutTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { message?: unknown }).message === 'timeout exceeded when trying to connect';
}
