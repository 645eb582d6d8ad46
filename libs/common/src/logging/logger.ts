import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';

const LEVELS: Record<string, LogLevel[]> = {
  silent: [],
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/**
 * Nest's JSON logger, plus the trace and span ids of the span that is
 * current when a line is written (a request's, a task attempt's), so that a
 * log line leads to its trace. Without tracing there is no span and no ids.
 */
export class TraceAwareLogger extends ConsoleLogger {
  protected override getJsonLogObject(...args: Parameters<ConsoleLogger['getJsonLogObject']>): ReturnType<ConsoleLogger['getJsonLogObject']> {
    const logObject = super.getJsonLogObject(...args);
    const spanContext = trace.getActiveSpan()?.spanContext();
    if (spanContext && isSpanContextValid(spanContext)) {
      logObject.traceId = spanContext.traceId;
      logObject.spanId = spanContext.spanId;
    }
    return logObject;
  }
}

/** Structured (JSON, one line an entry) logs at the configured level. */
export function createLogger(level: string): ConsoleLogger {
  return new TraceAwareLogger({ json: true, logLevels: LEVELS[level] ?? LEVELS.info });
}
