import { describe, expect, it } from '@jest/globals';
import { asDatabaseUnavailable } from './database-reachability';
import { DatabaseUnavailableError } from './domain-errors';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const checkoutTimeout = new Error('timeout exceeded when trying to connect');

describe('asDatabaseUnavailable', () => {
  it('turns a refused or lost connection into 503 database-unavailable with Retry-After, whatever the database was last found to be', () => {
    for (const database of [{ isUp: true }, { isUp: false }, undefined]) {
      const sut = asDatabaseUnavailable(refused, database);
      expect(sut).toBeInstanceOf(DatabaseUnavailableError);
      expect({ status: sut?.status, code: sut?.code, headers: sut?.headers }).toEqual({ status: 503, code: 'database-unavailable', headers: { 'Retry-After': '5' } });
    }
  });

  it('turns a wait for a pooled connection that ran out into database-unavailable only while the database is down (else it is busy: the caller answers)', () => {
    expect(asDatabaseUnavailable(checkoutTimeout, { isUp: false })).toBeInstanceOf(DatabaseUnavailableError);
    expect(asDatabaseUnavailable(checkoutTimeout, { isUp: true })).toBeUndefined();
    expect(asDatabaseUnavailable(checkoutTimeout, undefined)).toBeUndefined();
  });

  it('leaves other errors alone', () => {
    expect(asDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }), { isUp: false })).toBeUndefined();
    expect(asDatabaseUnavailable(new Error('boom'), { isUp: false })).toBeUndefined();
  });
});
