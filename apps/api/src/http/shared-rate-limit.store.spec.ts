import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Options } from 'express-rate-limit';
import type { RateLimitHitsRepository } from './rate-limit-hits.repository';
import { SharedRateLimitStore } from './shared-rate-limit.store';

const MINUTE = 60_000;
/** 12:00:10 of some day: ten seconds into a window. */
const T0 = Date.UTC(2025, 0, 15, 12, 0, 10);
const WINDOW_START = Date.UTC(2025, 0, 15, 12, 0, 0);

interface AddHitsCall {
  windowStart: number;
  keys: string[];
  hits: number[];
}

/** `rate_limit_hits` in memory, as the repository's statements treat it: stores of several "processes" can share one. */
class HitsTable {
  readonly rows = new Map<string, number>();
  readonly calls: AddHitsCall[] = [];
  failure?: Error;
  /** When set, addHits waits for this before answering (a flush in flight). */
  gate?: Promise<void>;

  async addHits(windowStart: Date, keys: readonly string[], hits: readonly number[]): Promise<Map<string, number>> {
    this.calls.push({ windowStart: windowStart.getTime(), keys: [...keys], hits: [...hits] });
    await this.gate;
    if (this.failure) throw this.failure;
    const totals = new Map<string, number>();
    keys.forEach((key, i) => {
      const row = `${windowStart.getTime()}|${key}`;
      this.rows.set(row, (this.rows.get(row) ?? 0) + hits[i]);
      totals.set(key, this.rows.get(row)!);
    });
    return totals;
  }

  async purgeBefore(windowStart: Date): Promise<number> {
    if (this.failure) throw this.failure;
    let deleted = 0;
    for (const row of [...this.rows.keys()]) {
      if (Number(row.split('|')[0]) < windowStart.getTime()) {
        this.rows.delete(row);
        deleted++;
      }
    }
    return deleted;
  }
}

describe('SharedRateLimitStore', () => {
  let now: number;
  let table: HitsTable;
  const storeOn = (hits: HitsTable) => {
    const store = new SharedRateLimitStore(hits as unknown as RateLimitHitsRepository);
    store.init({ windowMs: MINUTE } as Options);
    return store;
  };
  const totalHits = (store: SharedRateLimitStore, key: string) => store.increment(key).totalHits;

  beforeEach(() => {
    now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    table = new HitsTable();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('answers from its own counts without the database, with the end of the clock-aligned window as reset time', () => {
    const sut = storeOn(table);
    expect([1, 2, 3].map(() => totalHits(sut, 'ip:a'))).toEqual([1, 2, 3]);
    expect(sut.increment('token:t')).toEqual({ totalHits: 1, resetTime: new Date(WINDOW_START + MINUTE) });
    expect(table.calls).toEqual([]);
  });

  it('flushes the counts of all keys in one call, in key order, and nothing when nothing was counted', async () => {
    const sut = storeOn(table);
    for (const key of ['token:b', 'ip:z', 'token:b', 'token:a']) sut.increment(key);
    expect(await sut.flush()).toBe(true);
    expect(table.calls).toEqual([{ windowStart: WINDOW_START, keys: ['ip:z', 'token:a', 'token:b'], hits: [1, 1, 2] }]);

    expect(await sut.flush()).toBe(false);
    expect(table.calls).toHaveLength(1);
  });

  it('answers from the shared total of every process plus its own hits not flushed yet', async () => {
    const processA = storeOn(table);
    const sut = storeOn(table);
    for (let i = 0; i < 3; i++) processA.increment('token:t');
    sut.increment('token:t');
    await processA.flush();
    await sut.flush();
    // The second flush returned 3 (A's) + 1 (its own); one more counted here and not yet flushed.
    expect(totalHits(sut, 'token:t')).toBe(5);
    // A has not flushed since: it knows its own 3 and one new hit, not the other's.
    expect(totalHits(processA, 'token:t')).toBe(4);
    await processA.flush();
    // Now A knows the other's flushed hit, not the one it counted since: 3 + 1 + 1 flushed, and one more here.
    expect(totalHits(processA, 'token:t')).toBe(6);
  });

  it('neither loses nor counts twice the hits counted while a flush is in flight', async () => {
    const sut = storeOn(table);
    sut.increment('ip:a');
    sut.increment('ip:a');
    let answer!: () => void;
    table.gate = new Promise((resolve) => (answer = resolve));
    const flushing = sut.flush();
    // Sent but not yet answered: still part of the total.
    expect(totalHits(sut, 'ip:a')).toBe(3);
    answer();
    await flushing;
    expect(table.calls[0].hits).toEqual([2]);
    expect(totalHits(sut, 'ip:a')).toBe(4);
    table.gate = undefined;
    await sut.flush();
    expect(table.calls[1].hits).toEqual([2]);
    expect(table.rows.get(`${WINDOW_START}|ip:a`)).toBe(4);
  });

  it('stays open while the database is unreachable, keeps its counts and adds them when a flush succeeds again', async () => {
    const sut = storeOn(table);
    sut.increment('ip:a');
    table.failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await expect(sut.flush()).rejects.toThrow('ECONNREFUSED');
    expect(totalHits(sut, 'ip:a')).toBe(2);
    await expect(sut.flush()).rejects.toThrow('ECONNREFUSED');
    expect(totalHits(sut, 'ip:a')).toBe(3);

    table.failure = undefined;
    await sut.flush();
    expect(table.calls.at(-1)?.hits).toEqual([3]);
    expect(table.rows.get(`${WINDOW_START}|ip:a`)).toBe(3);
    expect(totalHits(sut, 'ip:a')).toBe(4);
  });

  it('gives up on a flush the database does not answer within 3 s and keeps its hits for the next one', async () => {
    jest.useFakeTimers({ doNotFake: ['Date'] });
    try {
      const sut = storeOn(table);
      sut.increment('ip:a');
      table.gate = new Promise(() => undefined);
      const flushing = sut.flush();
      const outcome = expect(flushing).rejects.toThrow('the database did not answer within 3000 ms');
      await jest.advanceTimersByTimeAsync(3000);
      await outcome;
      expect(totalHits(sut, 'ip:a')).toBe(2);
      table.gate = undefined;
      await sut.flush();
      expect(table.calls.at(-1)?.hits).toEqual([2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('logs a failing flush once per outage, and its end once', async () => {
    const warnings: unknown[][] = [];
    const notes: unknown[][] = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args));
    jest.spyOn(Logger.prototype, 'log').mockImplementation((...args: unknown[]) => void notes.push(args));
    const sut = storeOn(table);
    table.failure = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    for (let i = 0; i < 5; i++) {
      sut.increment('ip:a');
      await sut.flushTick();
    }
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0][1])).toContain('cannot share rate-limit budgets');

    table.failure = undefined;
    sut.increment('ip:a');
    await sut.flushTick();
    sut.increment('ip:a');
    await sut.flushTick();
    expect(notes).toEqual([['rate-limit budgets are shared again']]);
    expect(table.rows.get(`${WINDOW_START}|ip:a`)).toBe(7);
  });

  it('starts every key afresh in a new window, and never adds a past window’s unflushed hits to it', async () => {
    const sut = storeOn(table);
    sut.increment('ip:a');
    await sut.flush();
    sut.increment('ip:a');
    now = WINDOW_START + MINUTE + 1;
    expect(sut.increment('ip:a')).toEqual({ totalHits: 1, resetTime: new Date(WINDOW_START + 2 * MINUTE) });
    await sut.flush();
    expect(table.calls.at(-1)).toEqual({ windowStart: WINDOW_START + MINUTE, keys: ['ip:a'], hits: [1] });
  });

  it('moves a hit from one key to another within its window, and leaves a past window’s hit where it was', async () => {
    const sut = storeOn(table);
    const counted = sut.increment('ip:a');
    sut.transfer('ip:a', 'token:t', counted.resetTime!);
    await sut.flush();
    expect(table.calls.at(-1)).toEqual({ windowStart: WINDOW_START, keys: ['token:t'], hits: [1] });

    const late = sut.increment('ip:a');
    now = WINDOW_START + MINUTE + 1;
    sut.transfer('ip:a', 'token:t', late.resetTime!);
    expect(totalHits(sut, 'token:t')).toBe(1);
  });

  it('purges the windows before the previous one', async () => {
    const sut = storeOn(table);
    sut.increment('ip:a');
    await sut.flush();
    now += MINUTE;
    sut.increment('ip:a');
    await sut.flush();
    expect(await sut.purge()).toBe(0);
    now += MINUTE;
    expect(await sut.purge()).toBe(1);
    expect([...table.rows.keys()]).toEqual([`${WINDOW_START + MINUTE}|ip:a`]);
  });
});
