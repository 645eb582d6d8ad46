import { Global, Module } from '@nestjs/common';
import { TokensModule } from '@app/auth/tokens.module';
import { DatabaseMetrics } from './metrics/database-metrics';
import { HttpMetrics } from './metrics/http-metrics';
import { MetricsListener } from './metrics/metrics-listener';
import { MetricsRegistry } from './metrics/metrics-registry';
import { MetricsController } from './metrics/metrics.controller';
import { TableReadings } from './metrics/table-readings';

/**
 * Metrics of a deployable: the registry every feature adds its instruments
 * to, the cached table readings, and the HTTP and database metrics. Global,
 * like the database: features register their metrics wherever they are
 * imported. Each deployable imports it once, and exposes `/metrics` with
 * MetricsEndpointModule (the API) or MetricsListenerModule (the worker).
 */
@Global()
@Module({
  providers: [MetricsRegistry, TableReadings, HttpMetrics, DatabaseMetrics],
  exports: [MetricsRegistry, TableReadings, HttpMetrics],
})
export class ObservabilityModule {}

/** `GET /metrics` on the API, behind its guards (an admin or `metrics` token). */
@Module({ controllers: [MetricsController] })
export class MetricsEndpointModule {}

/** `GET /metrics` on a listener of its own (METRICS_PORT), for a deployable without an API. */
@Module({ imports: [TokensModule], providers: [MetricsListener], exports: [MetricsListener] })
export class MetricsListenerModule {}
