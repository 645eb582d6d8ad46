import { Injectable } from '@nestjs/common';
import { ReadRouting } from '@app/database/read-routing';
import { SqlExecutor } from '@app/database/sql-executor';
import { MetricsRegistry } from './metrics-registry';

/** The database as this process sees it: reachability and its connection pools. Read at scrape time, no query. */
@Injectable()
export class DatabaseMetrics {
  constructor(registry: MetricsRegistry, db: SqlExecutor, reads: ReadRouting) {
    registry.gauge({
      name: 'cleanup_database_up',
      help: "1 when this process's last database call reached PostgreSQL, 0 when it found it unreachable",
      collect() {
        this.set(db.availability.isUp ? 1 : 0);
      },
    });
    registry.gauge({
      name: 'cleanup_db_pool_connections',
      help: "Connections of this process's pools: total open, idle, and callers waiting for one",
      labelNames: ['pool', 'state'] as const,
      collect() {
        // The read replica's pools are `replica:<name>`.
        for (const { pool, total, idle, waiting } of [...db.poolStats(), ...reads.poolStats()]) {
          this.set({ pool, state: 'total' }, total);
          this.set({ pool, state: 'idle' }, idle);
          this.set({ pool, state: 'waiting' }, waiting);
        }
      },
    });
  }
}
