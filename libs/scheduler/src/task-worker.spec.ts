import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SqlExecutor } from '@app/database/sql-executor';
import type { ClaimedTask, CleanupTaskHandler, TaskContext } from './cleanup-handler';
import type { DueTaskListener } from './due-task.listener';
import type { HandlerRegistry } from './handler-registry';
import { MetricsRegistry } from '@app/observability/metrics/metrics-registry';
import { SchedulerSettings } from './scheduler-settings';
import { SchedulerTelemetry } from './scheduler.telemetry';
import { TaskClaimer } from './task-claimer';
import type { TaskQueueRepository, TaskRef } from './task-queue.repository';
import type { SettleOutcome, TaskSettlement } from './task-settlement';
import { LeaseUnconfirmedError, TaskWorker } from './task-worker';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

const claimed = (id: string): ClaimedTask => ({
  id,
  parentId: null,
  workspaceId: 'ws_a',
  sourceEventId: null,
  resourceType: 'delete_element',
  resourceId: `el_${id}`,
  metadata: {},
  attempts: 1,
  attemptsBase: 0,
  runAt: new Date(),
  traceParent: null,
});

/**
 * A TaskWorker on an in-memory queue whose database can be "down": every
 * queue call then fails as a refused connection would, and the process's
 * availability says so. Records the calls that matter.
 */
function setup(handle: (task: ClaimedTask, context: TaskContext) => Promise<void>, { leaseMs = 60_000, concurrency = 4, prefetch = 0 } = {}) {
  const state = { down: false, due: [] as ClaimedTask[], released: [] as string[], strayReleased: [] as string[][], retried: [] as string[], completed: [] as string[], returned: [] as string[] };
  const whenUp = async <T>(work: () => T): Promise<T> => {
    if (state.down) throw refused();
    return work();
  };
  const queue = {
    claimDueTasks: (_worker: string, limit: number) => whenUp(() => state.due.splice(0, limit)),
    nextDueInMs: () => whenUp(() => null),
    releaseLeases: (_worker: string, ids: readonly string[]) => whenUp(() => (state.released.push(...ids), [...ids])),
    releaseStrayLeases: (_worker: string, running: readonly string[]) => whenUp(() => (state.strayReleased.push([...running]), [])),
    scheduleRetry: (_worker: string, id: string) => whenUp(() => (state.retried.push(id), true)),
    extendLeases: (_worker: string, ids: readonly string[]) => whenUp(() => [...ids]),
    findHeldLeases: (_worker: string, ids: readonly string[]) => whenUp(() => [...ids]),
    returnUnstartedTasks: (_worker: string, ids: readonly string[]) => whenUp(() => (state.returned.push(...ids), [...ids])),
  } as unknown as TaskQueueRepository;
  const settlement = {
    completeMany: (_worker: string, tasks: readonly TaskRef[]) =>
      whenUp(() => {
        state.completed.push(...tasks.map((task) => task.id));
        return new Map<string, SettleOutcome>(tasks.map((task) => [task.id, 'completed']));
      }),
  } as unknown as TaskSettlement;
  const handler: CleanupTaskHandler = { handle: (task, context) => handle(task, context) };
  const handlers = { get: () => handler } as unknown as HandlerRegistry;
  const listener = { start: async () => undefined, stop: async () => undefined } as unknown as DueTaskListener;
  const db = { availability: { get isUp() {
    return !state.down;
  } } } as unknown as SqlExecutor;
  const settings = Object.assign(new SchedulerSettings(), {
    concurrency,
    batchSize: 4,
    prefetch,
    fairClaims: false,
    leaseMs,
    heartbeatIntervalMs: Math.max(20, Math.floor(leaseMs / 3)),
    maxAttempts: 5,
    backoff: { baseMs: 1000, maxMs: 10_000 },
    pollIntervalMs: 50,
    shutdownTimeoutMs: 200,
  });
  const metrics = new MetricsRegistry();
  const sut = new TaskWorker(settings, queue, settlement, handlers, listener, new TaskClaimer(settings, queue), new SchedulerTelemetry(metrics), db);
  workers.push(sut);
  /** cleanup_task_attempts_total by outcome (only those counted). */
  const attempts = async () =>
    Object.fromEntries(
      ((await metrics.values()).find((metric) => metric.name === 'cleanup_task_attempts_total')?.values ?? [])
        .filter((value) => value.value > 0)
        .map((value) => [value.labels.outcome, value.value]),
    );
  return { sut, state, attempts };
}

const workers: TaskWorker[] = [];

const until = async (what: string, probe: () => boolean, timeoutMs = 5000) => {
  for (const deadline = Date.now() + timeoutMs; !probe(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

describe('TaskWorker through a database outage', () => {
  const logging = [Logger.prototype.log, Logger.prototype.warn, Logger.prototype.error];
  beforeAll(() => {
    Logger.prototype.log = Logger.prototype.warn = Logger.prototype.error = () => undefined;
  });
  afterAll(() => {
    [Logger.prototype.log, Logger.prototype.warn, Logger.prototype.error] = logging;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  });

  it('releases (no retry, no backoff, no budget) the lease of a task whose handler failed because the database was gone, once the database answers again', async () => {
    const { sut, state, attempts } = setup(async () => {
      state.down = true;
      throw new Error('Connection terminated unexpectedly');
    });
    state.due.push(claimed('ct_a'));
    await sut.start();
    await until('the handler to fail', () => state.down);
    await sleep(150);
    expect(state.released).toEqual([]);
    state.down = false;
    await until('the release', () => state.released.length > 0);
    expect(state.released).toEqual(['ct_a']);
    expect(state.retried).toEqual([]);
    // An attempt the outage cut off is `released`, not an error (the contract's fourth outcome).
    for (const deadline = Date.now() + 2000; Object.keys(await attempts()).length === 0 && Date.now() < deadline; ) await sleep(10);
    expect(await attempts()).toEqual({ released: 1 });
  });

  it('releases the task whose handler succeeded but whose completion could not be recorded', async () => {
    const { sut, state } = setup(async () => {
      state.down = true;
    });
    state.due.push(claimed('ct_b'));
    await sut.start();
    await until('the handler to run', () => state.down);
    await sleep(150);
    state.down = false;
    await until('the release', () => state.released.length > 0);
    expect({ released: state.released, completed: state.completed, retried: state.retried }).toEqual({ released: ['ct_b'], completed: [], retried: [] });
  });

  it('counts a failure while the database is up as an attempt: retried with backoff, not released', async () => {
    const { sut, state, attempts } = setup(async () => {
      throw new Error('the app service answered 500');
    });
    state.due.push(claimed('ct_c'));
    await sut.start();
    await until('the retry', () => state.retried.length > 0);
    expect({ retried: state.retried, released: state.released }).toEqual({ retried: ['ct_c'], released: [] });
    for (const deadline = Date.now() + 2000; Object.keys(await attempts()).length === 0 && Date.now() < deadline; ) await sleep(10);
    expect(await attempts()).toEqual({ error: 1 });
  });

  it('stops a handler whose lease could not be renewed for half a lease, then releases its task once the database is back', async () => {
    let reason: unknown;
    const { sut, state } = setup(
      (_task, { signal }) =>
        new Promise<void>((_resolve, reject) => {
          state.down = true;
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            reject(signal.reason);
          });
        }),
      { leaseMs: 300 },
    );
    state.due.push(claimed('ct_d'));
    const started = Date.now();
    await sut.start();
    await until('the handler to be stopped', () => reason !== undefined);
    const stoppedAfter = Date.now() - started;
    expect(reason).toBeInstanceOf(LeaseUnconfirmedError);
    // Between half a lease and five sixths of one after the claim: before the lease can expire.
    expect(stoppedAfter).toBeGreaterThanOrEqual(150);
    expect(stoppedAfter).toBeLessThan(300);
    state.down = false;
    await until('the release', () => state.released.length > 0);
    expect(state.released).toEqual(['ct_d']);
  });

  it('after claiming failed for want of the database, releases the leases a lost claim answer may have given it before claiming again, keeping those it runs', async () => {
    let finish!: () => void;
    const { sut, state } = setup(() => new Promise<void>((resolve) => (finish = resolve)));
    state.due.push(claimed('ct_e'));
    await sut.start();
    await until('the handler to run', () => finish !== undefined);
    state.down = true;
    sut.nudge();
    await sleep(100);
    state.down = false;
    await until('the stray release', () => state.strayReleased.length > 0);
    expect(state.strayReleased[0]).toEqual(['ct_e']);
    finish();
    await until('the completion', () => state.completed.length > 0);
  });

  it('does not start a task claimed ahead whose lease went unconfirmed for half a lease: it is released with the cut-off attempt once the database is back', async () => {
    const started: string[] = [];
    const { sut, state } = setup(
      (task, { signal }) => {
        started.push(task.id);
        // The first task returns at once (the worker learns its handlers are short and claims ahead); the second holds its slot.
        if (task.id === 'ct_p1') return Promise.resolve();
        return new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      { leaseMs: 300, concurrency: 1, prefetch: 3 },
    );
    state.due.push(claimed('ct_p1'));
    await sut.start();
    await until('the first task to complete', () => state.completed.includes('ct_p1'));
    state.due.push(...['ct_p2', 'ct_p3', 'ct_p4', 'ct_p5'].map(claimed));
    sut.nudge();
    await until('the second task to start', () => started.includes('ct_p2'));
    // ct_p3..5 were claimed with it: they wait ahead, leased, while ct_p2 holds the only slot.
    expect(state.due).toEqual([]);
    state.down = true;
    await until('the cut-off attempt and those ahead to be set aside', () => (sut as unknown as { cutOff: Map<string, unknown> }).cutOff.size === 4, 2000);
    await sleep(100);
    expect(started).toEqual(['ct_p1', 'ct_p2']);
    state.down = false;
    await until('the release', () => state.released.length === 4);
    expect([...state.released].sort()).toEqual(['ct_p2', 'ct_p3', 'ct_p4', 'ct_p5']);
    expect(started).toEqual(['ct_p1', 'ct_p2']);
  });

  it('hands back the tasks it claimed ahead and never started when it stops', async () => {
    let finish!: () => void;
    const { sut, state } = setup(
      (task) => (task.id === 'ct_q1' ? Promise.resolve() : new Promise<void>((resolve) => (finish = resolve))),
      { concurrency: 1, prefetch: 3 },
    );
    state.due.push(claimed('ct_q1'));
    await sut.start();
    await until('the first task to complete', () => state.completed.includes('ct_q1'));
    state.due.push(...['ct_q2', 'ct_q3', 'ct_q4'].map(claimed));
    sut.nudge();
    await until('the second task to start', () => finish !== undefined);
    const stopped = sut.stop();
    await until('the hand-back', () => state.returned.length > 0);
    expect(state.returned).toEqual(['ct_q3', 'ct_q4']);
    finish();
    await stopped;
    expect(state.completed).toEqual(['ct_q1', 'ct_q2']);
  });
});
