import { ConsoleLogger, type LogLevel } from '@nestjs/common';

const LEVELS: Record<string, LogLevel[]> = {
  silent: [],
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Structured (JSON, one line an entry) logs at the configured level. */
export function createLogger(level: string): ConsoleLogger {
  return new ConsoleLogger({ json: true, logLevels: LEVELS[level] ?? LEVELS.info });
}
