import { describe, expect, it, jest } from '@jest/globals';
import { JobRunner } from './job-runner';

/** A round that stays open until released. */
function controllableRound() {
  let release: (() => void) | undefined;
  const round = jest.fn(
    () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
  );
  return { round, finish: () => release?.() };
}

describe('JobRunner', () => {
  it('runs a round per tick, never two at once', async () => {
    const { round, finish } = controllableRound();
    const sut = new JobRunner(round, { onError: () => undefined });
    const first = sut.tick();
    expect(sut.tick()).toBeUndefined();
    expect(round).toHaveBeenCalledTimes(1);
    finish();
    await first;
    const second = sut.tick();
    finish();
    await second;
    expect(round).toHaveBeenCalledTimes(2);
  });

  it('reports a failed round and runs again on the next tick', async () => {
    const errors: unknown[] = [];
    const round = jest.fn<() => Promise<void>>().mockRejectedValueOnce(new Error('boom')).mockResolvedValue(undefined);
    const sut = new JobRunner(round, { onError: (error) => errors.push(error) });
    await sut.tick();
    expect(errors).toEqual([new Error('boom')]);
    await sut.tick();
    expect(round).toHaveBeenCalledTimes(2);
    expect(errors).toHaveLength(1);
  });

  it('skips ticks that come sooner than minGapMs after the last start', async () => {
    let now = 1_000;
    const round = jest.fn(async () => undefined);
    const sut = new JobRunner(round, { onError: () => undefined, minGapMs: 500, now: () => now });
    await sut.tick();
    now += 499;
    expect(sut.tick()).toBeUndefined();
    now += 1;
    await sut.tick();
    expect(round).toHaveBeenCalledTimes(2);
  });

  it('stop() waits for the round in progress, and later ticks do nothing', async () => {
    const { round, finish } = controllableRound();
    const sut = new JobRunner(round, { onError: () => undefined });
    void sut.tick();
    let stopped = false;
    const stopping = sut.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(stopped).toBe(true);
    expect(sut.tick()).toBeUndefined();
    expect(round).toHaveBeenCalledTimes(1);
  });
});
