import { startTracing } from '@app/observability/tracing/start-tracing';

/** The worker's tracing (OTEL_EXPORTER_OTLP_ENDPOINT set), started on import: main.ts imports this first. */
export const tracing = startTracing('cleanup-tasks-worker');
