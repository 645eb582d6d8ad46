/*
 * Loaded before anything else of a deployable (the first import of its
 * main.ts): the instrumentations patch `http` and `pg` as they are first
 * required, so nothing may load them earlier. This file therefore imports
 * OpenTelemetry and the configuration schema only, never Nest.
 */
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { validateEnvironment } from '@app/common/config/app-config';

/**
 * Starts OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set (else
 * does nothing and returns undefined): spans of HTTP requests (incoming,
 * and outgoing ones), of SQL statements run inside a traced operation, and
 * of task attempts (libs/scheduler). W3C `traceparent` is accepted and
 * propagated. The exporter is OTLP, configured by the standard OTEL_*
 * variables, which the SDK reads itself (protocol: http/protobuf unless
 * OTEL_EXPORTER_OTLP_PROTOCOL says otherwise; sampler, headers, batch
 * delays…). No OpenTelemetry metrics or logs are exported: metrics are
 * Prometheus' (`/metrics`), logs stay JSON lines (with the trace id).
 */
export function startTracing(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): NodeSDK | undefined {
  let endpoint: string | undefined;
  let serviceName: string | undefined;
  try {
    ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: serviceName } = validateEnvironment(env));
  } catch {
    // An invalid configuration: main reports it and exits; nothing to trace.
    return undefined;
  }
  if (!endpoint) return undefined;
  const sdk = new NodeSDK({
    serviceName: serviceName ?? defaultServiceName,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // Probes poll these every few seconds; a trace of each would drown the rest.
        ignoreIncomingRequestHook: (request) => request.url?.startsWith('/health/') ?? false,
      }),
      new PgInstrumentation({
        // SQL inside a request or a task attempt; not the scheduler's idle polling, the sweeps and the counters' compaction.
        requireParentSpan: true,
        ignoreConnectSpans: true,
      }),
    ],
  });
  sdk.start();
  return sdk;
}
