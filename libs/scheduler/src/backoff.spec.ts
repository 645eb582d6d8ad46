import { describe, expect, it } from '@jest/globals';
import { backoffDelayMs } from './backoff';

describe('backoffDelayMs', () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };

  it('doubles per failed attempt: half fixed, half jitter', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, policy, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, policy, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(3000);
  });

  it('stays within [ceiling/2, ceiling] for any random value', () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i++) {
        const sut = backoffDelayMs(attempt, policy);
        expect(sut).toBeGreaterThanOrEqual(ceiling / 2);
        expect(sut).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('is capped at maxMs however many attempts failed', () => {
    expect(backoffDelayMs(7, policy, () => 1)).toBe(60_000);
    expect(backoffDelayMs(1000, policy, () => 1)).toBe(60_000);
    expect(backoffDelayMs(1000, policy, () => 0)).toBe(30_000);
  });

  it('treats attempt numbers below 1 as the first', () => {
    expect(backoffDelayMs(0, policy, () => 1)).toBe(1000);
    expect(backoffDelayMs(-3, policy, () => 1)).toBe(1000);
  });

  it('spreads tasks that failed together', () => {
    const delays = new Set(Array.from({ length: 100 }, () => backoffDelayMs(5, policy)));
    expect(delays.size).toBeGreaterThan(50);
  });
});
