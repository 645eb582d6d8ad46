import { describe, expect, it } from '@jest/globals';
import { isDatabaseUnavailable, isPoolCheckoutTimeout, isQueryCanceled } from './sql-state';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a reset connection', withCode('ECONNRESET')],
    ['an unknown host', withCode('ENOTFOUND')],
    ['admin_shutdown (fast or immediate stop)', withCode('57P01', 'terminating connection due to administrator command')],
    ['crash_shutdown', withCode('57P02')],
    ['cannot_connect_now (starting up, in recovery)', withCode('57P03', 'the database system is starting up')],
    ['connection_failure (class 08)', withCode('08006')],
    ['a connection pg lost mid-query', new Error('Connection terminated unexpectedly')],
    ['a client whose connection broke earlier', new Error('Client has encountered a connection error and is not queryable')],
    ["TypeORM's QueryFailedError around a lost connection", Object.assign(new Error('query failed'), { driverError: withCode('57P01') })],
    ['an AggregateError of refused addresses', Object.assign(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]), { code: 'ECONNREFUSED' })],
    ["a handler's error wrapping a lost connection as its cause", new Error('could not delete the app', { cause: withCode('57P01') })],
    ["pg-pool's failed new connection, which names its cause", new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') })],
  ])('is true for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a statement timeout', withCode('57014', 'canceling statement due to statement timeout')],
    ['a unique violation', withCode('23505')],
    ['a syntax error', withCode('42601')],
    ['a pool that found no free connection in time', new Error('timeout exceeded when trying to connect')],
    ['a plain error', new Error('boom')],
    ['a string', 'ECONNREFUSED'],
    ['null', null],
  ])('is false for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('gives up on a chain of causes that loops', () => {
    const looped: Error & { cause?: unknown } = new Error('a');
    looped.cause = new Error('b', { cause: looped });
    expect(isDatabaseUnavailable(looped)).toBe(false);
  });

  it('leaves isQueryCanceled to statement timeouts', () => {
    expect(isQueryCanceled(withCode('57014'))).toBe(true);
    expect(isQueryCanceled(withCode('57P01'))).toBe(false);
  });
});

describe('isPoolCheckoutTimeout', () => {
  it("is true for pg-pool's wait for a free connection that ran out, and for nothing else", () => {
    expect(isPoolCheckoutTimeout(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isPoolCheckoutTimeout(new Error('Connection terminated due to connection timeout'))).toBe(false);
    expect(isPoolCheckoutTimeout(withCode('ECONNREFUSED'))).toBe(false);
    expect(isPoolCheckoutTimeout('timeout exceeded when trying to connect')).toBe(false);
  });
});
