export * from './metrics/cached-reading';
export * from './metrics/http-metrics';
export * from './metrics/metrics-access';
export * from './metrics/metrics-listener';
export * from './metrics/metrics-registry';
export * from './metrics/table-readings';
export * from './observability.module';
export * from './tracing/trace-context';
