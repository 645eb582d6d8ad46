import { describe, expect, it } from '@jest/globals';
import { DatabaseAvailability } from './database-availability';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('DatabaseAvailability', () => {
  it('is up with no recovery on record until a call finds the database unreachable', () => {
    const sut = new DatabaseAvailability();
    sut.failed(Object.assign(new Error('duplicate key'), { code: '23505' }));
    expect({ isUp: sut.isUp, recoveredAt: sut.recoveredAt, reason: sut.reason }).toEqual({ isUp: true, recoveredAt: undefined, reason: undefined });
  });

  it('records when the database was found reachable again after an outage', () => {
    const sut = new DatabaseAvailability();
    sut.failed(refused);
    expect({ isUp: sut.isUp, recoveredAt: sut.recoveredAt, reason: sut.reason }).toEqual({ isUp: false, recoveredAt: undefined, reason: refused.message });
    const before = Date.now();
    sut.succeeded();
    expect(sut.isUp).toBe(true);
    expect(sut.recoveredAt).toBeGreaterThanOrEqual(before);
    expect(sut.recoveredAt).toBe(sut.changedAt);
    const recoveredAt = sut.recoveredAt;
    sut.succeeded();
    expect(sut.recoveredAt).toBe(recoveredAt);
  });
});
