export interface BackoffPolicy {
  /** Delay after the first failed attempt, before jitter. */
  baseMs: number;
  /** Upper bound of the delay, before jitter. */
  maxMs: number;
}

/**
 * How long to wait after failed attempt number `failedAttempt` (1-based,
 * counted within the current budget): `base · 2^(n-1)`, capped at `max`, with
 * "equal jitter": half of it fixed, the other half random. The fixed half
 * keeps retries from hammering a struggling dependency; the random half
 * spreads tasks that failed together (e.g. siblings of one tree).
 */
export function backoffDelayMs(failedAttempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(failedAttempt) - 1);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 52));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
