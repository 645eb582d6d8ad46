import { describe, expect, it } from '@jest/globals';
import { ArgumentsHost, BadRequestException, HttpException, Logger, UnauthorizedException } from '@nestjs/common';
import { ConflictError, DatabaseUnavailableError, QueryTimeoutError, ServiceBusyError, ValidationFailedError } from './domain-errors';
import { ProblemDetailsFilter } from './problem-details.filter';

function hostFor() {
  const sent: { status?: number; type?: string; body?: string; headers: Record<string, string> } = { headers: {} };
  const response = {
    headersSent: false,
    setHeader: (name: string, value: string) => (sent.headers[name] = value),
    status(code: number) {
      sent.status = code;
      return this;
    },
    type(value: string) {
      sent.type = value;
      return this;
    },
    send(body: string) {
      sent.body = body;
      return this;
    },
  };
  const request = { originalUrl: '/api/cleanup-tasks?x=1', id: 'req-1' };
  const host = { switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }) } as unknown as ArgumentsHost;
  return { host, sent };
}

describe('ProblemDetailsFilter', () => {
  const sut = new ProblemDetailsFilter();

  it('turns an unexpected error into a bare 500 that leaks neither message nor stack', () => {
    const { host, sent } = hostFor();
    const errors: unknown[] = [];
    const spy = Logger.prototype.error;
    Logger.prototype.error = (...args: unknown[]) => void errors.push(args);
    try {
      sut.catch(new Error('relation "cleanup_tasks" does not exist: SELECT * FROM cleanup_tasks'), host);
    } finally {
      Logger.prototype.error = spy;
    }
    expect(sent.status).toBe(500);
    expect(sent.type).toBe('application/problem+json');
    const body = JSON.parse(sent.body!);
    expect(body).toEqual({
      type: 'urn:problem-type:cleanup-tasks:internal-error',
      title: 'Internal Server Error',
      status: 500,
      detail: expect.stringContaining('requestId'),
      code: 'internal-error',
      instance: '/api/cleanup-tasks',
      requestId: 'req-1',
    });
    expect(sent.body).not.toMatch(/SELECT|relation|at /);
    expect(errors).toHaveLength(1);
  });

  it('answers 400 invalid-text when PostgreSQL refuses text from the request (a gap in validation), logging a warning, no SQL', () => {
    const warnings: unknown[] = [];
    const spy = Logger.prototype.warn;
    Logger.prototype.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      for (const exception of [
        Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }),
        Object.assign(new Error('unsupported Unicode escape sequence'), { driverError: { code: '22P05' }, query: 'INSERT INTO cleanup_tasks …' }),
      ]) {
        const { host, sent } = hostFor();
        sut.catch(exception, host);
        expect(sent.status).toBe(400);
        expect(JSON.parse(sent.body!)).toMatchObject({ status: 400, code: 'invalid-text', type: 'urn:problem-type:cleanup-tasks:invalid-text', detail: expect.stringContaining('NUL') });
        expect(sent.body).not.toMatch(/INSERT|UTF8|escape sequence/);
      }
    } finally {
      Logger.prototype.warn = spy;
    }
    expect(warnings).toHaveLength(2);
    // Other database errors stay 500s.
    const { host, sent } = hostFor();
    const errors = Logger.prototype.error;
    Logger.prototype.error = () => undefined;
    try {
      sut.catch(Object.assign(new Error('deadlock detected'), { code: '40P01' }), host);
    } finally {
      Logger.prototype.error = errors;
    }
    expect(sent.status).toBe(500);
  });

  it('keeps a validation error list and the 400', () => {
    const { host, sent } = hostFor();
    sut.catch(new ValidationFailedError([{ path: 'filter.attempts.gt', message: 'expected integer' }]), host);
    expect(sent.status).toBe(400);
    expect(JSON.parse(sent.body!)).toMatchObject({ code: 'validation-failed', detail: 'filter.attempts.gt: expected integer', errors: [{ path: 'filter.attempts.gt', message: 'expected integer' }] });
  });

  it('adds a conflict extension member', () => {
    const { host, sent } = hostFor();
    sut.catch(new ConflictError('task-not-failed', 'Only failed tasks can be retried; this one is pending.', { currentStatus: 'pending' }), host);
    expect(sent.status).toBe(409);
    expect(JSON.parse(sent.body!)).toMatchObject({ code: 'task-not-failed', currentStatus: 'pending' });
  });

  it('answers a query timeout 504 with its limit, or without one when none was set, logged as a warning', () => {
    const warnings: unknown[] = [];
    const errors: unknown[] = [];
    const [warn, error] = [Logger.prototype.warn, Logger.prototype.error];
    Logger.prototype.warn = (...args: unknown[]) => void warnings.push(args);
    Logger.prototype.error = (...args: unknown[]) => void errors.push(args);
    try {
      const limited = hostFor();
      sut.catch(new QueryTimeoutError(300, 'Narrow it.'), limited.host);
      expect(limited.sent.status).toBe(504);
      expect(JSON.parse(limited.sent.body!)).toMatchObject({ code: 'query-timeout', title: 'Query timed out', limitMs: 300, detail: 'The query did not finish within 300 ms. Narrow it.' });
      const unlimited = hostFor();
      sut.catch(new QueryTimeoutError(0, 'Narrow it.'), unlimited.host);
      const body = JSON.parse(unlimited.sent.body!);
      expect(body.detail).toBe('The query was cancelled in the database before it finished. Narrow it.');
      expect(body).not.toHaveProperty('limitMs');
    } finally {
      [Logger.prototype.warn, Logger.prototype.error] = [warn, error];
    }
    expect(warnings).toHaveLength(2);
    expect(errors).toHaveLength(0);
  });

  it('sends the headers a domain error carries (503 busy with Retry-After)', () => {
    const { host, sent } = hostFor();
    const warn = Logger.prototype.warn;
    Logger.prototype.warn = () => undefined;
    try {
      sut.catch(new ServiceBusyError('No connection; retry shortly.', 1), host);
    } finally {
      Logger.prototype.warn = warn;
    }
    expect(sent.status).toBe(503);
    expect(sent.headers['Retry-After']).toBe('1');
    expect(JSON.parse(sent.body!)).toMatchObject({ code: 'busy', title: 'Service busy' });
  });

  it('keeps the status of framework HTTP errors', () => {
    const { host, sent } = hostFor();
    sut.catch(new BadRequestException('nope'), host);
    expect(sent.status).toBe(400);
    expect(JSON.parse(sent.body!)).toMatchObject({ code: 'bad-request', detail: 'nope' });
  });

  describe('a database that cannot be reached', () => {
    const quietly = <T>(run: () => T): T => {
      const [warn, error] = [Logger.prototype.warn, Logger.prototype.error];
      Logger.prototype.warn = () => undefined;
      Logger.prototype.error = () => undefined;
      try {
        return run();
      } finally {
        [Logger.prototype.warn, Logger.prototype.error] = [warn, error];
      }
    };
    const answer = (sut: ProblemDetailsFilter, exception: unknown) => {
      const { host, sent } = hostFor();
      quietly(() => sut.catch(exception, host));
      return { status: sent.status, retryAfter: sent.headers['Retry-After'], ...JSON.parse(sent.body!) };
    };

    it.each([
      ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' })],
      ['a connection the server ended (immediate stop)', Object.assign(new Error('terminating connection due to immediate shutdown command'), { code: '57P01' })],
      ['a server in recovery', Object.assign(new Error('the database system is in recovery mode'), { code: '57P03' })],
      ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
      ["TypeORM's QueryFailedError around a lost connection", Object.assign(new Error('query failed'), { driverError: Object.assign(new Error('x'), { code: '08006' }) })],
    ])('answers %s with 503 database-unavailable and Retry-After, naming neither host nor SQL', (_name, exception) => {
      const sut = new ProblemDetailsFilter({ isUp: false });
      const body = answer(sut, exception);
      expect(body).toMatchObject({ status: 503, retryAfter: '5', code: 'database-unavailable', title: 'Database unavailable', type: 'urn:problem-type:cleanup-tasks:database-unavailable' });
      expect(JSON.stringify(body)).not.toMatch(/10\.0\.0\.5|shutdown command|recovery mode|terminated/);
    });

    it('answers a wait for a pooled connection that ran out with database-unavailable while the database is down, and 503 busy while it is up (never 500)', () => {
      const timeout = new Error('timeout exceeded when trying to connect');
      expect(answer(new ProblemDetailsFilter({ isUp: false }), timeout)).toMatchObject({ status: 503, code: 'database-unavailable', retryAfter: '5' });
      expect(answer(new ProblemDetailsFilter({ isUp: true }), timeout)).toMatchObject({ status: 503, code: 'busy', retryAfter: '1' });
      expect(answer(new ProblemDetailsFilter(), timeout)).toMatchObject({ status: 503, code: 'busy' });
    });

    it('keeps a DatabaseUnavailableError and a 401 as they are', () => {
      const sut = new ProblemDetailsFilter({ isUp: false });
      expect(answer(sut, new DatabaseUnavailableError())).toMatchObject({ status: 503, code: 'database-unavailable' });
      expect(answer(sut, new UnauthorizedException('A valid bearer token is required'))).toMatchObject({ status: 401, code: 'unauthenticated' });
    });

    it("says why readiness fails: each check's state, and the reason the check worded", () => {
      const sut = new ProblemDetailsFilter();
      const failing = new HttpException(
        { status: 'error', details: { database: { status: 'down', message: 'unreachable: ECONNREFUSED' }, migrations: { status: 'down', message: 'not checked: the database is unreachable' } } },
        503,
      );
      expect(answer(sut, failing)).toMatchObject({
        status: 503,
        code: 'unavailable',
        detail: 'Not ready: database down (unreachable: ECONNREFUSED), migrations down (not checked: the database is unreachable).',
        checks: { database: 'down', migrations: 'down' },
        reasons: { database: 'unreachable: ECONNREFUSED', migrations: 'not checked: the database is unreachable' },
      });
      const pending = new HttpException({ status: 'error', details: { database: { status: 'up' }, migrations: { status: 'down', message: 'migrations pending' } } }, 503);
      expect(answer(sut, pending)).toMatchObject({ detail: 'Not ready: migrations down (migrations pending).', checks: { database: 'up', migrations: 'down' }, reasons: { migrations: 'migrations pending' } });
    });
  });
});
