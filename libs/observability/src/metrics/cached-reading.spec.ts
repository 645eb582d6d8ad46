import { describe, expect, it } from '@jest/globals';
import { CachedReading } from './cached-reading';

/** A read that the test resolves or rejects by hand, counting its calls. */
function controlledRead() {
  const calls: { resolve: (value: number) => void; reject: (error: Error) => void }[] = [];
  const read = () => new Promise<number>((resolve, reject) => calls.push({ resolve, reject }));
  return { read, calls };
}

describe('CachedReading', () => {
  it('reads at most once per maxAge, however often it is asked', async () => {
    let now = 0;
    let reads = 0;
    const sut = new CachedReading(async () => ++reads, { maxAgeMs: 5000, waitMs: 1000, now: () => now });
    expect(await sut.get()).toBe(1);
    for (now = 0; now < 5000; now += 250) expect(await sut.get()).toBe(1);
    expect(reads).toBe(1);
    now = 5000;
    expect(await sut.get()).toBe(2);
    expect(reads).toBe(2);
  });

  it('starts one read for callers arriving while it runs', async () => {
    const { read, calls } = controlledRead();
    const sut = new CachedReading(read, { maxAgeMs: 5000, waitMs: 10_000 });
    const waiting = [sut.get(), sut.get(), sut.get()];
    await Promise.resolve();
    expect(calls).toHaveLength(1);
    calls[0].resolve(7);
    expect(await Promise.all(waiting)).toEqual([7, 7, 7]);
  });

  it('answers from the last value after waitMs while a read hangs, and takes the value when it comes', async () => {
    let now = 0;
    const { read, calls } = controlledRead();
    const sut = new CachedReading(read, { maxAgeMs: 5000, waitMs: 50, now: () => now });
    const first = sut.get();
    calls[0].resolve(1);
    expect(await first).toBe(1);

    now = 6000;
    const started = performance.now();
    expect(await sut.get()).toBe(1);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(calls).toHaveLength(2);

    calls[1].resolve(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await sut.get()).toBe(2);
    expect(calls).toHaveLength(2);
  });

  it('keeps the last value when a read fails, reports the error, and tries again only after maxAge', async () => {
    let now = 0;
    const errors: unknown[] = [];
    const { read, calls } = controlledRead();
    const sut = new CachedReading(read, { maxAgeMs: 5000, waitMs: 1000, now: () => now, onError: (error) => errors.push(error) });
    const first = sut.get();
    calls[0].resolve(3);
    await first;

    now = 5000;
    const second = sut.get();
    calls[1].reject(new Error('connect ECONNREFUSED'));
    expect(await second).toBe(3);
    expect(errors).toEqual([new Error('connect ECONNREFUSED')]);

    now = 9999;
    expect(await sut.get()).toBe(3);
    expect(calls).toHaveLength(2);
  });

  it('treats a read that throws at once like one that rejects', async () => {
    const errors: unknown[] = [];
    const sut = new CachedReading<number>(
      () => {
        throw new Error('the database connections are closed');
      },
      { maxAgeMs: 5000, waitMs: 1000, onError: (error) => errors.push(error) },
    );
    expect(await sut.get()).toBeUndefined();
    expect(errors).toHaveLength(1);
  });

  it('has no value until a read succeeded', async () => {
    const sut = new CachedReading(() => Promise.reject(new Error('down')), { maxAgeMs: 5000, waitMs: 1000, onError: () => undefined });
    expect(await sut.get()).toBeUndefined();
  });
});
