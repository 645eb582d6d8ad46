import type { FieldError } from './problem';

/**
 * An error the API answers on purpose. `code` is stable and documented; the
 * global filter turns it into problem+json with `status`.
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  abstract readonly title: string;
  /** Extension members added to the problem document. */
  readonly extensions: Record<string, unknown> = {};
  /** Response headers that go with it (e.g. `Retry-After`). */
  readonly headers: Record<string, string> = {};
}

export class ValidationFailedError extends DomainError {
  readonly status = 400;
  readonly code = 'validation-failed';
  readonly title = 'Invalid request';
  constructor(readonly errors: FieldError[]) {
    super(errors.length === 1 ? `${errors[0].path}: ${errors[0].message}` : `${errors.length} inputs are invalid`);
  }
}

export class ResourceNotFoundError extends DomainError {
  readonly status = 404;
  readonly code = 'not-found';
  readonly title = 'Not found';
  constructor(kind: string, id: string) {
    super(`${kind} ${id} does not exist or is not visible to this token`);
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly title = 'Conflict';
  constructor(readonly code: string, message: string, extensions: Record<string, unknown> = {}) {
    super(message);
    Object.assign(this.extensions, extensions);
  }
}

/**
 * The database did not finish a query within its time limit. 504: this
 * service is the gateway to its database, and that upstream timed out. The
 * same request may succeed on a quieter database, but narrowing it is the
 * reliable fix, which `detail` says.
 */
export class QueryTimeoutError extends DomainError {
  readonly status = 504;
  readonly code = 'query-timeout';
  readonly title = 'Query timed out';
  /** `limitMs` 0: no limit was set (the database cancelled the query for another reason, e.g. an operator's cancel). */
  constructor(limitMs: number, hint: string) {
    super(`${limitMs > 0 ? `The query did not finish within ${limitMs} ms.` : 'The query was cancelled in the database before it finished.'} ${hint}`);
    if (limitMs > 0) this.extensions.limitMs = limitMs;
  }
}

/**
 * No database connection became free in time (every connection of the pool
 * busy, or the database unreachable). 503 with `Retry-After`: the same
 * request is worth sending again shortly.
 */
export class ServiceBusyError extends DomainError {
  readonly status = 503;
  readonly code = 'busy';
  readonly title = 'Service busy';
  constructor(detail: string, retryAfterSeconds: number) {
    super(detail);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** Seconds a client is asked to wait after a 503 database-unavailable: about what a PostgreSQL restart or failover takes. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * PostgreSQL could not be reached or the connection was lost (down,
 * restarting, in recovery). 503 with `Retry-After`: nothing is wrong with the
 * request or its token, and the same request is worth sending again (an
 * enqueue repeated with its sourceEventId is not duplicated).
 */
export class DatabaseUnavailableError extends DomainError {
  readonly status = 503;
  readonly code = 'database-unavailable';
  readonly title = 'Database unavailable';
  constructor() {
    super(`The database is unreachable, restarting or in recovery; retry after ${DATABASE_RETRY_AFTER_SECONDS} s. Nothing is wrong with the request or its token.`);
    this.headers['Retry-After'] = String(DATABASE_RETRY_AFTER_SECONDS);
  }
}
