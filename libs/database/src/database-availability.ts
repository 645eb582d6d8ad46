import type { DatabaseReachability } from '@app/common/errors/database-reachability';
import { isDatabaseUnavailable } from '@app/common/errors/sql-state';

/**
 * Whether this process's database calls currently reach PostgreSQL, as its
 * own calls last found: up after any call that got a connection and an
 * answer, down after a call that failed because the server could not be
 * reached or the connection was lost (isDatabaseUnavailable). Other failures
 * (a constraint, a timeout) say nothing about reachability. Costs no query.
 */
export class DatabaseAvailability implements DatabaseReachability {
  private up = true;
  private changed = Date.now();
  private recovered?: number;
  private lastError?: string;

  get isUp(): boolean {
    return this.up;
  }

  /** Epoch ms of the last change between up and down (or of start-up). */
  get changedAt(): number {
    return this.changed;
  }

  /** Epoch ms the database was last found reachable again after being found down; undefined if it never was down. */
  get recoveredAt(): number | undefined {
    return this.recovered;
  }

  /** Why the last call found the database down; undefined while up. */
  get reason(): string | undefined {
    return this.up ? undefined : this.lastError;
  }

  succeeded(): void {
    if (this.up) return;
    this.up = true;
    this.changed = Date.now();
    this.recovered = this.changed;
    this.lastError = undefined;
  }

  /** Records a failed call; only connection-level failures mark the database down. */
  failed(error: unknown): void {
    if (!isDatabaseUnavailable(error)) return;
    this.lastError = error instanceof Error ? error.message : String(error);
    if (!this.up) return;
    this.up = false;
    this.changed = Date.now();
  }
}
