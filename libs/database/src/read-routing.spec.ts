import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { isRecoveryConflict } from './read-routing';

/** An error as pg raises it from a server's ErrorResponse. */
function serverError(code: string, message: string): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError(message, message.length, 'error'), { code, severity: 'ERROR' });
}

describe('isRecoveryConflict', () => {
  it('is a statement or session the standby ended to replay WAL (40001), or a buffer-pin deadlock with replay (40P01)', () => {
    expect(isRecoveryConflict(serverError('40001', 'canceling statement due to conflict with recovery'))).toBe(true);
    expect(isRecoveryConflict(serverError('40001', 'terminating connection due to conflict with recovery'))).toBe(true);
    expect(isRecoveryConflict(serverError('40P01', 'canceling statement due to conflict with recovery'))).toBe(true);
  });

  it('is not a statement timeout or an operator cancel (57014), which the primary would only repeat', () => {
    expect(isRecoveryConflict(serverError('57014', 'canceling statement due to statement timeout'))).toBe(false);
    expect(isRecoveryConflict(serverError('57014', 'canceling statement due to user request'))).toBe(false);
    expect(isRecoveryConflict(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
  });
});
