import { Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';

/** The Prometheus text format's content type, as prom-client writes it. */
export const PROMETHEUS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

let runtimeRegistry: Registry | undefined;

/**
 * The runtime's default metrics (`process_*`, `nodejs_*`), registered once
 * per process: their collectors (a GC observer, the event-loop delay
 * monitor) are process-wide and are never stopped, so each application
 * instance (tests start many in one process) must not add its own.
 */
function runtimeMetrics(): Registry {
  if (!runtimeRegistry) {
    runtimeRegistry = new Registry();
    collectDefaultMetrics({ register: runtimeRegistry });
  }
  return runtimeRegistry;
}

/**
 * This application's metrics: each feature registers its own instruments
 * here (the scheduler its attempts, the queue its gauges…), and
 * `GET /metrics` exposes them with the runtime's defaults.
 */
@Injectable()
export class MetricsRegistry {
  private readonly registry = new Registry();
  private readonly scrapeHooks: (() => Promise<void>)[] = [];

  counter<L extends string>(configuration: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return new Counter({ ...configuration, registers: [this.registry] });
  }

  gauge<L extends string>(configuration: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return new Gauge({ ...configuration, registers: [this.registry] });
  }

  histogram<L extends string>(configuration: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return new Histogram({ ...configuration, registers: [this.registry] });
  }

  /**
   * Runs `hook` before each scrape's collect callbacks, which run all at
   * once: what they read (e.g. whether the database answered) can then
   * include what the hook found.
   */
  beforeScrape(hook: () => Promise<void>): void {
    this.scrapeHooks.push(hook);
  }

  /** This application's metrics as values (a scrape: hooks, then collect callbacks), e.g. to check one in a test. */
  async values(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    await this.runScrapeHooks();
    return this.registry.getMetricsAsJSON();
  }

  /** The exposition: this application's metrics (a scrape: hooks, then collect callbacks), then the runtime's. */
  async exposition(): Promise<string> {
    await this.runScrapeHooks();
    const [own, runtime] = await Promise.all([this.registry.metrics(), runtimeMetrics().metrics()]);
    return `${own}\n${runtime}`;
  }

  private async runScrapeHooks(): Promise<void> {
    await Promise.all(this.scrapeHooks.map((hook) => hook()));
  }
}
