import { describe, expect, it } from '@jest/globals';
import { ReplicaLag, type ReplicaState } from './replica-lag';

/** A ReplicaLag on a clock the test moves, measuring whatever the test answers. */
function harness(maxLagMs = 5000) {
  let now = 1_000_000;
  let answer: () => Promise<number | null> = async () => 0;
  const checks: number[] = [];
  const changes: ReplicaState[] = [];
  const sut = new ReplicaLag(
    () => {
      checks.push(now);
      return answer();
    },
    maxLagMs,
    (state) => changes.push(state),
    () => now,
  );
  return {
    sut,
    checks,
    changes,
    advance: (ms: number) => (now += ms),
    answer: (next: () => Promise<number | null>) => (answer = next),
    /** Lets a check started by usable() finish. */
    settle: () => new Promise((resolve) => setImmediate(resolve)),
  };
}

describe('ReplicaLag', () => {
  it('sends reads to the primary until a first check says the replica is within the limit', async () => {
    const { sut, checks, changes, settle } = harness();
    expect(sut.usable()).toBe(false);
    await settle();
    expect(checks).toHaveLength(1);
    expect(sut.usable()).toBe(true);
    expect(changes).toEqual(['usable']);
  });

  it('checks at most once a second, whatever the number of reads, and never two at once', async () => {
    const { sut, checks, advance, answer, settle } = harness();
    let finish: (lag: number) => void = () => undefined;
    answer(() => new Promise((resolve) => (finish = resolve)));
    for (let i = 0; i < 100; i++) sut.usable();
    advance(1500);
    sut.usable();
    expect(checks).toHaveLength(1);
    finish(0);
    await settle();
    for (let i = 0; i < 100; i++) sut.usable();
    expect(checks).toHaveLength(2);
    finish(0);
    await settle();
    advance(999);
    sut.usable();
    expect(checks).toHaveLength(2);
    advance(1);
    sut.usable();
    expect(checks).toHaveLength(3);
  });

  it('counts the age of the last measurement as lag: a replica 0 ms behind a while ago may be that far behind now', async () => {
    const { sut, advance, settle } = harness(5000);
    await sut.check();
    advance(4000);
    expect(sut.usable()).toBe(true);
    advance(1001);
    // The check this started has not answered yet: the aged value decides.
    expect(sut.usable()).toBe(false);
    await settle();
    expect(sut.usable()).toBe(true);
  });

  it('sends reads to the primary while the measured lag exceeds the limit, and back once it does not', async () => {
    const { sut, changes, advance, answer } = harness(5000);
    answer(async () => 7200);
    await sut.check();
    expect(sut.usable()).toBe(false);
    expect(sut.last).toEqual({ lagMs: 7200, measuredAt: expect.any(Number) });
    answer(async () => 30);
    advance(1000);
    await sut.check();
    expect(sut.usable()).toBe(true);
    expect(changes).toEqual(['lagging', 'usable']);
  });

  it('does not use a replica whose lag is unknown (nothing replayed yet) or that cannot be reached, until a check succeeds', async () => {
    const { sut, changes, advance, answer } = harness();
    answer(async () => null);
    await sut.check();
    expect(sut.usable()).toBe(false);
    answer(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' });
    });
    advance(1000);
    await sut.check();
    expect(sut.usable()).toBe(false);
    expect(sut.last).toBeUndefined();
    answer(async () => 0);
    advance(1000);
    await sut.check();
    expect(sut.usable()).toBe(true);
    sut.unreachable();
    expect(sut.usable()).toBe(false);
    expect(changes).toEqual(['unreachable', 'usable', 'unreachable']);
  });
});
