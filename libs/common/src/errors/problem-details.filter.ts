import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject, Logger, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { asDatabaseUnavailable, DATABASE_REACHABILITY, type DatabaseReachability } from './database-reachability';
import { DomainError, ServiceBusyError, ValidationFailedError } from './domain-errors';
import { PROBLEM_CONTENT_TYPE, ProblemDetails, problemType } from './problem';
import { isPoolCheckoutTimeout, SQL_STATE, sqlStateOf } from './sql-state';

/** The 503 of a wait for a pooled connection that ran out while the database is up: busy, not broken. */
const POOL_BUSY = 'No database connection became free in time; retry shortly.';

const CODES_BY_STATUS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  414: 'uri-too-long',
  415: 'unsupported-media-type',
  429: 'rate-limited',
  500: 'internal-error',
  503: 'unavailable',
};

/**
 * The one place errors become responses: RFC 9457 problem+json for every
 * status. Domain errors carry their own code and detail; framework errors keep
 * their status; a database that cannot be reached is 503
 * `database-unavailable` with Retry-After wherever the error surfaced (a
 * wait for a pooled connection that ran out is that too while the database
 * is down, else 503 `busy`); anything unexpected is a bare 500 whose details
 * go only to the log, under the request id that the response names.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(@Optional() @Inject(DATABASE_REACHABILITY) private readonly database?: DatabaseReachability) {}

  catch(thrown: unknown, host: ArgumentsHost): void {
    const exception = this.fromDatabase(thrown);
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const problem = this.toProblem(exception);
    problem.instance = request.originalUrl?.split('?')[0];
    const requestId = (request as { id?: unknown }).id;
    if (requestId !== undefined) problem.requestId = String(requestId);

    if (rejectedText(exception)) {
      // Validation should have refused the value: say so in the log, so that it does.
      this.logger.warn({ requestId, path: problem.instance, sqlState: sqlStateOf(exception) }, 'PostgreSQL rejected text from the request that validation let through');
    } else if (exception instanceof DomainError && problem.status >= 500) {
      // Answered on purpose (e.g. a query timeout): worth a warning, not a stack trace.
      const cause = thrown === exception ? undefined : String((thrown as { message?: unknown })?.message ?? thrown);
      this.logger.warn({ requestId, code: exception.code, path: problem.instance, ...(cause === undefined ? {} : { cause }) }, exception.message);
    } else if (problem.status >= 500) {
      this.logger.error({ err: exception, requestId }, 'request failed unexpectedly');
    }
    if (response.headersSent) {
      // A streamed response broke half-way: nothing can be said to the client any more.
      response.destroy();
      return;
    }
    if (exception instanceof DomainError) {
      for (const [name, value] of Object.entries(exception.headers)) response.setHeader(name, value);
    }
    if (problem.status === 401) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="cleanup-tasks"');
    }
    response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }

  /** A failure to reach the database, however it surfaced, as the domain error it amounts to. */
  private fromDatabase(exception: unknown): unknown {
    if (exception instanceof DomainError || exception instanceof HttpException) return exception;
    const unavailable = asDatabaseUnavailable(exception, this.database);
    if (unavailable) return unavailable;
    return isPoolCheckoutTimeout(exception) ? new ServiceBusyError(POOL_BUSY, 1) : exception;
  }

  private toProblem(exception: unknown): ProblemDetails {
    if (exception instanceof DomainError) {
      return {
        type: problemType(exception.code),
        title: exception.title,
        status: exception.status,
        detail: exception.message,
        code: exception.code,
        ...exception.extensions,
        ...(exception instanceof ValidationFailedError ? { errors: exception.errors } : {}),
      };
    }
    if (exception instanceof HttpException && exception.getStatus() === HttpStatus.SERVICE_UNAVAILABLE) {
      return this.unavailable(exception);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return this.fromStatus(status, this.detailOf(exception, status));
    }
    if (rejectedText(exception)) {
      return {
        ...this.fromStatus(HttpStatus.BAD_REQUEST, 'A text value in the request cannot be stored: it contains NUL (\\u0000) or is not valid Unicode.'),
        type: problemType('invalid-text'),
        code: 'invalid-text',
      };
    }
    const status = clientErrorStatus(exception);
    if (status !== undefined) {
      return this.fromStatus(status, status === 400 ? 'The request body could not be parsed.' : (STATUS_CODES[status] ?? 'Client error'));
    }
    return this.fromStatus(HttpStatus.INTERNAL_SERVER_ERROR, 'An unexpected error occurred. Quote the requestId when reporting it.');
  }

  /**
   * A failing health check: each check's state and, for those down, the
   * reason the check itself worded for anyone to read (the health
   * controller's; never an error's own text).
   */
  private unavailable(exception: HttpException): ProblemDetails {
    const body = exception.getResponse() as { details?: Record<string, { status?: string; message?: unknown }> };
    const results = Object.entries(body?.details ?? {});
    const checks = Object.fromEntries(results.map(([name, result]) => [name, result?.status ?? 'unknown']));
    const reasons = Object.fromEntries(
      results.filter(([, result]) => result?.status !== 'up' && typeof result?.message === 'string').map(([name, result]) => [name, result.message as string]),
    );
    const failing = Object.entries(checks)
      .filter(([, state]) => state !== 'up')
      .map(([name]) => (reasons[name] ? `${name} down (${reasons[name]})` : `${name} down`));
    const problem = this.fromStatus(HttpStatus.SERVICE_UNAVAILABLE, failing.length ? `Not ready: ${failing.join(', ')}.` : 'Not ready.');
    return { ...problem, checks, ...(Object.keys(reasons).length > 0 ? { reasons } : {}) };
  }

  private fromStatus(status: number, detail: string): ProblemDetails {
    const code = CODES_BY_STATUS[status] ?? (status >= 500 ? 'internal-error' : 'client-error');
    return { type: problemType(code), title: STATUS_CODES[status] ?? 'Error', status, detail, code };
  }

  private detailOf(exception: HttpException, status: number): string {
    if (status >= 500) return 'An unexpected error occurred. Quote the requestId when reporting it.';
    if (exception.cause !== undefined && status === 400) return 'The request body could not be parsed.';
    const body = exception.getResponse();
    if (typeof body === 'string') return body;
    const message = (body as { message?: unknown }).message;
    if (Array.isArray(message)) return message.map(String).join('; ');
    if (typeof message === 'string') return message;
    return exception.message;
  }
}

/**
 * Text PostgreSQL refuses to store: NUL (character_not_in_repertoire 22021)
 * or a \u0000 / invalid escape in jsonb (untranslatable_character 22P05).
 * Only input puts such text into a query; the DTOs and the query library
 * refuse it first, and this keeps a gap in them from answering 500.
 */
function rejectedText(exception: unknown): boolean {
  const state = sqlStateOf(exception);
  return state === SQL_STATE.characterNotInRepertoire || state === SQL_STATE.untranslatableCharacter;
}

/** Errors from Express middleware (body parser: malformed JSON, too large) carry a 4xx `status`. */
function clientErrorStatus(exception: unknown): number | undefined {
  if (exception instanceof SyntaxError) return 400;
  if (typeof exception !== 'object' || exception === null) return undefined;
  const candidate = (exception as { status?: unknown; statusCode?: unknown }).status ?? (exception as { statusCode?: unknown }).statusCode;
  return typeof candidate === 'number' && candidate >= 400 && candidate < 500 ? candidate : undefined;
}
