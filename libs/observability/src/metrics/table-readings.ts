import { Injectable, Logger } from '@nestjs/common';
import { type Queryable, SqlExecutor } from '@app/database/sql-executor';
import { CachedReading } from './cached-reading';
import { MetricsRegistry } from './metrics-registry';

/** Table-wide gauges are read at most this often per process (the contract: every 5 s at most). */
const TABLE_READING_MAX_AGE_MS = 5000;
/** Longest a scrape waits for a refresh before answering from the last values. */
const TABLE_READING_WAIT_MS = 1000;

/**
 * The connections of these readings: a pool of one, beside the main pool, so
 * that a scrape never takes a connection that requests or the scheduler
 * need (and is never stuck behind them), with a server-side statement
 * timeout so that a slow reading cannot pile up.
 */
const METRICS_POOL = { name: 'metrics', shape: { max: 1, statementTimeoutMs: 2000, waitMs: TABLE_READING_WAIT_MS } } as const;

/**
 * Makes the cached readings behind table-wide gauges (task counts, the
 * queue's backlog and lag): each feature passes the statement it owns, which
 * runs on the metrics pool at most every TABLE_READING_MAX_AGE_MS. A scrape
 * refreshes the stale ones first, so that `cleanup_database_up` already says
 * whether they reached the database.
 */
@Injectable()
export class TableReadings {
  private readonly logger = new Logger('Metrics');
  private readonly readings: CachedReading<unknown>[] = [];

  constructor(
    private readonly db: SqlExecutor,
    registry: MetricsRegistry,
  ) {
    registry.beforeScrape(async () => {
      await Promise.all(this.readings.map((reading) => reading.get()));
    });
  }

  create<T>(name: string, read: (db: Queryable) => Promise<T>): CachedReading<T> {
    const reading = new CachedReading(() => read(this.db.sidePool(METRICS_POOL.name, METRICS_POOL.shape)), {
      maxAgeMs: TABLE_READING_MAX_AGE_MS,
      waitMs: TABLE_READING_WAIT_MS,
      onError: (error) => this.logger.warn(`reading ${name} for /metrics failed; serving the last values: ${error instanceof Error ? error.message : String(error)}`),
    });
    this.readings.push(reading);
    return reading;
  }
}
