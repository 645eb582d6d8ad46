import { DatabaseUnavailableError } from './domain-errors';
import { isDatabaseUnavailable, isPoolCheckoutTimeout } from './sql-state';

/**
 * Whether this process's database calls currently reach PostgreSQL, as the
 * database layer last found (its DatabaseAvailability): what tells a pool
 * that waited in vain because it is busy from one whose connections are
 * failing because the server is gone.
 */
export interface DatabaseReachability {
  readonly isUp: boolean;
}

/** Injection token of the process's DatabaseReachability (provided by the database module). */
export const DATABASE_REACHABILITY = Symbol('DATABASE_REACHABILITY');

/**
 * The 503 `database-unavailable` that `error` amounts to: a connection that
 * failed or was lost, or a wait for a pooled connection that ran out while
 * the database is down. Undefined for anything else, a checkout timeout while
 * the database is up included (busy: the caller's to answer).
 */
export function asDatabaseUnavailable(error: unknown, database: DatabaseReachability | undefined): DatabaseUnavailableError | undefined {
  if (error instanceof DatabaseUnavailableError) return error;
  if (isDatabaseUnavailable(error)) return new DatabaseUnavailableError();
  if (isPoolCheckoutTimeout(error) && database?.isUp === false) return new DatabaseUnavailableError();
  return undefined;
}
