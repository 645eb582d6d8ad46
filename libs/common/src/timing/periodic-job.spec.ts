import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { PeriodicJob, type TimerRegistry } from './periodic-job';

/** A registry like @nestjs/schedule's: named timers, cleared on delete. */
function fakeRegistry() {
  const timers = new Map<string, NodeJS.Timeout>();
  const registry: TimerRegistry = {
    addInterval: (name, id) => void timers.set(`interval:${name}`, id),
    addTimeout: (name, id) => void timers.set(`timeout:${name}`, id),
    deleteInterval: (name) => void timers.delete(`interval:${name}`),
    deleteTimeout: (name) => void timers.delete(`timeout:${name}`),
    doesExist: (type, name) => timers.has(`${type}:${name}`),
  };
  return { registry, names: () => [...timers.keys()] };
}

/** A round that stays open until released, counting how many ran. */
function controllableRound() {
  let started = 0;
  let release: (() => void) | undefined;
  const round = jest.fn(
    () =>
      new Promise<void>((resolve) => {
        started++;
        release = resolve;
      }),
  );
  return { round, started: () => started, finish: () => release?.() };
}

describe('PeriodicJob', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs a round every interval, registered by name, and stops its timers', async () => {
    const { registry, names } = fakeRegistry();
    const round = jest.fn(async () => undefined);
    const sut = new PeriodicJob(round, { name: 'job', everyMs: 100, registry, onError: () => undefined });
    sut.start();
    expect(names()).toEqual(['interval:job']);
    await jest.advanceTimersByTimeAsync(350);
    expect(round).toHaveBeenCalledTimes(3);
    await sut.stop();
    expect(names()).toEqual([]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(round).toHaveBeenCalledTimes(3);
  });

  it('waits firstAfterMs before the first round, then keeps the interval', async () => {
    const { registry, names } = fakeRegistry();
    const round = jest.fn(async () => undefined);
    const sut = new PeriodicJob(round, { name: 'job', everyMs: 1000, firstAfterMs: 50, registry, onError: () => undefined });
    sut.start();
    expect(names()).toEqual(['timeout:job:first']);
    await jest.advanceTimersByTimeAsync(49);
    expect(round).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(round).toHaveBeenCalledTimes(1);
    expect(names()).toEqual(['interval:job']);
    await jest.advanceTimersByTimeAsync(1000);
    expect(round).toHaveBeenCalledTimes(2);
    await sut.stop();
  });

  it('never runs two rounds at once: ticks that find one running are skipped', async () => {
    const work = controllableRound();
    const sut = new PeriodicJob(work.round, { name: 'job', everyMs: 10, onError: () => undefined });
    sut.start();
    await jest.advanceTimersByTimeAsync(100);
    expect(work.started()).toBe(1);
    work.finish();
    await jest.advanceTimersByTimeAsync(10);
    expect(work.started()).toBe(2);
    work.finish();
    await sut.stop();
  });

  it('reports a failed round and tries again at the next tick', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const sut = new PeriodicJob(
      async () => {
        calls++;
        if (calls === 1) throw new Error('database away');
      },
      { name: 'job', everyMs: 10, onError: (error) => errors.push(error) },
    );
    sut.start();
    await jest.advanceTimersByTimeAsync(25);
    expect(calls).toBe(2);
    expect(errors).toEqual([new Error('database away')]);
    await sut.stop();
  });

  it('stop() waits for the round in progress, and no round starts after it', async () => {
    const work = controllableRound();
    const sut = new PeriodicJob(work.round, { name: 'job', everyMs: 10, onError: () => undefined });
    sut.start();
    await jest.advanceTimersByTimeAsync(10);
    let stopped = false;
    const stopping = sut.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(50);
    expect(stopped).toBe(false);
    work.finish();
    await stopping;
    expect(stopped).toBe(true);
    await jest.advanceTimersByTimeAsync(100);
    expect(work.started()).toBe(1);
  });

  it('is started once however often start() is called; stop() before start() is harmless', async () => {
    const round = jest.fn(async () => undefined);
    const sut = new PeriodicJob(round, { name: 'job', everyMs: 100, onError: () => undefined });
    await sut.stop();
    sut.start();
    sut.start();
    await jest.advanceTimersByTimeAsync(100);
    expect(round).toHaveBeenCalledTimes(1);
    await sut.stop();
    expect(sut.started).toBe(false);
  });
});
