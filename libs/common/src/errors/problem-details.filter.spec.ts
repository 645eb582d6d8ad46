import { describe, expect, it } from '@jest/globals';
import { ArgumentsHost, BadRequestException, Logger } from '@nestjs/common';
import { ConflictError, ValidationFailedError } from './domain-errors';
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

  it('keeps the status of framework HTTP errors', () => {
    const { host, sent } = hostFor();
    sut.catch(new BadRequestException('nope'), host);
    expect(sent.status).toBe(400);
    expect(JSON.parse(sent.body!)).toMatchObject({ code: 'bad-request', detail: 'nope' });
  });
});
