import { type Context, context, propagation, ROOT_CONTEXT, trace, type Tracer } from '@opentelemetry/api';

/** The tracer of this service's own spans (task attempts); a no-op unless tracing is on. */
export function serviceTracer(): Tracer {
  return trace.getTracer('cleanup-tasks');
}

/**
 * The W3C `traceparent` of the current span, to store with work that runs
 * later (an enqueued task), or null when there is none: tracing is off, or
 * this code runs outside any trace.
 */
export function currentTraceParent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The context a stored `traceparent` names (its span as the parent), or the root context when there is none. */
export function contextOfTraceParent(traceParent: string | null | undefined): Context {
  return traceParent ? propagation.extract(ROOT_CONTEXT, { traceparent: traceParent }) : ROOT_CONTEXT;
}
