import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { asDatabaseUnavailable, isDatabaseUnavailable } from '@app/common';
import { SqlExecutor } from '@app/database/sql-executor';
import { backoffDelayMs } from './backoff';
import { type ClaimedTask, type HandlerResult, PermanentTaskError } from './cleanup-handler';
import { DueTaskListener } from './due-task.listener';
import { HandlerRegistry } from './handler-registry';
import { PrefetchQueue } from './prefetch-queue';
import { SchedulerSettings } from './scheduler-settings';
import { type AttemptOutcome, type AttemptTelemetry, SchedulerTelemetry } from './scheduler.telemetry';
import { TaskClaimer } from './task-claimer';
import { TaskQueueRepository, type TaskRef } from './task-queue.repository';
import { type SettleOutcome, TaskSettlement, truncate } from './task-settlement';

/**
 * created → running → stopping → stopped. While running, the claim loop is
 * either asleep (a timer: the next due run_at or the poll interval) or
 * claiming; a NOTIFY, a finished task or the timer nudge it awake.
 */
type WorkerState = 'created' | 'running' | 'stopping' | 'stopped';

/** A claimed task, from claim until its outcome is committed (or its lease released). */
interface InFlightTask {
  task: ClaimedTask;
  controller: AbortController;
  /** The handler returned or threw; what is left is recording the outcome (the lease is still held). */
  settling: boolean;
  /** Local time (ms) the last renewal of its lease that PostgreSQL confirmed was sent (first: the claim). */
  leaseConfirmedAt: number;
  done: Promise<void>;
  attempt: AttemptTelemetry;
}

interface PendingCompletion {
  task: TaskRef;
  resolve: (outcome: SettleOutcome) => void;
  reject: (error: unknown) => void;
}

/** Shortest sleep after a claim came back short while rows looked due (claimed by a peer a moment ago). */
const MIN_SLEEP_MS = 5;
/**
 * Completion statements in flight at once: while one commits, the next batch
 * is already on its way (and their commits can share a WAL flush), so
 * recording outcomes keeps up with claims that take a batch at a time.
 */
const COMPLETION_FLUSHES = 2;

export class LeaseLostError extends Error {
  constructor(taskId: string) {
    super(`lease on task ${taskId} lost: it expired and may run elsewhere`);
    this.name = 'LeaseLostError';
  }
}

/**
 * The lease could not be renewed for half its length (the database is
 * unreachable): the handler is stopped before the lease can expire and the
 * task go to another worker; the task is released once the database is back.
 */
export class LeaseUnconfirmedError extends Error {
  constructor(taskId: string, sinceMs: number) {
    super(`lease on task ${taskId} not renewed for ${sinceMs} ms (the database is unreachable): stopping before it may expire`);
    this.name = 'LeaseUnconfirmedError';
  }
}

export class WorkerShutdownError extends Error {
  constructor() {
    super('the worker is shutting down and the shutdown timeout has passed');
    this.name = 'WorkerShutdownError';
  }
}

/**
 * One scheduler process's worker: claims due tasks in batches for its free
 * slots and a few ahead (PrefetchQueue; fairly across workspaces unless
 * configured otherwise: TaskClaimer), runs their handlers (bounded
 * concurrency), records outcomes, renews leases, and on shutdown stops
 * claiming, hands back what it claimed ahead, lets handlers finish until the
 * timeout, then releases what is left.
 *
 * A slot is free again as soon as its handler returns; recording the outcome
 * (batched) overlaps with the next claim. At most 2 × `concurrency` outcomes
 * wait to be recorded at once (backpressure when the database is slow); their
 * leases stay held and renewed until they are.
 *
 * Through a database outage (README: "Through a database outage"): claiming
 * pauses and retries every second; an attempt the outage cut off (its
 * handler failed for want of the database, its outcome could not be
 * recorded, or its lease could not be renewed for half a lease) keeps its
 * lease until the database is back and is then released (due at once, no
 * budget spent); so are tasks a lost claim answer leased to this worker.
 */
@Injectable()
export class TaskWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Unique per process start: host, pid, random suffix. */
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger('TaskWorker');
  private state: WorkerState = 'created';
  private readonly inFlight = new Map<string, InFlightTask>();
  /** Handlers executing now: what `concurrency` bounds. */
  private handlersRunning = 0;
  private claiming = false;
  private claimLoop: Promise<void> = Promise.resolve();
  private claimScheduled = false;
  /** A nudge arrived while claiming: claim again before sleeping. */
  private claimRequested = false;
  private wakeTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private heartbeatBusy = false;
  private completions: PendingCompletion[] = [];
  /** Completion statements running (at most COMPLETION_FLUSHES). */
  private flushing = 0;
  /** Claimed ahead, not started (not in inFlight until they start). */
  private readonly prefetched: PrefetchQueue;
  /** Attempts cut off by an outage, by task id: each resolves its task's `done` once its lease is released (or given up at shutdown). */
  private readonly cutOff = new Map<string, () => void>();
  /** Claiming failed because the database was unreachable; cleared (with stray leases released) once it answers again. */
  private outage = false;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly queue: TaskQueueRepository,
    private readonly settlement: TaskSettlement,
    private readonly handlers: HandlerRegistry,
    private readonly listener: DueTaskListener,
    private readonly claimer: TaskClaimer,
    private readonly telemetry: SchedulerTelemetry,
    private readonly db: SqlExecutor,
  ) {
    this.prefetched = new PrefetchQueue(settings.prefetch, settings.concurrency);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async start(): Promise<void> {
    if (this.state !== 'created') return;
    this.state = 'running';
    this.heartbeatTimer = setInterval(() => this.heartbeatTick(), this.settings.heartbeatIntervalMs);
    await this.listener.start(() => this.nudge());
    this.nudge();
    const { concurrency, batchSize, prefetch, leaseMs, maxAttempts, fairClaims, workspaceConcurrency } = this.settings;
    this.logger.log(
      `worker ${this.id} started: concurrency ${concurrency}, batch ${batchSize}, prefetch up to ${prefetch}, lease ${leaseMs} ms, max attempts ${maxAttempts}, ` +
        (fairClaims ? `fair claims (at most ${workspaceConcurrency} running per workspace)` : 'oldest-first claims'),
    );
  }

  /**
   * Stop claiming; wait for running handlers up to the shutdown timeout;
   * then abort the rest and release their leases, so that another process
   * takes them over at once instead of after lease expiry.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    clearTimeout(this.wakeTimer);
    await this.listener.stop();
    await this.claimLoop;
    await this.returnPrefetched();
    // One try for attempts an outage cut off; if the database is still down, their leases expire.
    await this.releaseCutOff().catch((error: unknown) =>
      this.logger.error(`could not release ${this.cutOff.size} task(s) cut off by the outage; their leases expire in ${this.settings.leaseMs} ms: ${describe(error)}`),
    );
    this.giveUpCutOff();

    const claimed = [...this.inFlight.values()];
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled(claimed.map((entry) => entry.done)).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.settings.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished) {
      // Handlers still running; outcomes being recorded are left to finish (a moment).
      const left = [...this.inFlight.values()].filter((entry) => !entry.settling);
      for (const entry of left) entry.controller.abort(new WorkerShutdownError());
      try {
        const released = await this.queue.releaseLeases(this.id, left.map((entry) => entry.task.id));
        for (const id of released) this.inFlight.get(id)?.attempt.finished('released');
        this.logger.warn(`shutdown timeout (${this.settings.shutdownTimeoutMs} ms): released ${released.length} unfinished task(s): ${released.join(', ')}`);
      } catch (error) {
        this.logger.error(`could not release leases on shutdown; they expire in ${this.settings.leaseMs} ms: ${describe(error)}`);
      }
      await Promise.allSettled([...this.inFlight.values()].filter((entry) => entry.settling).map((entry) => entry.done));
    }
    clearInterval(this.heartbeatTimer);
    this.state = 'stopped';
    this.logger.log(`worker ${this.id} stopped`);
  }

  /** Wake up and claim. Coalesced: many nudges in one tick make one claim. */
  nudge(): void {
    if (this.state !== 'running') return;
    if (this.claiming) {
      this.claimRequested = true;
      return;
    }
    if (this.claimScheduled) return;
    this.claimScheduled = true;
    setImmediate(() => {
      this.claimScheduled = false;
      if (this.state === 'running' && !this.claiming) this.claimLoop = this.claim();
    });
  }

  private async claim(): Promise<void> {
    this.claiming = true;
    clearTimeout(this.wakeTimer);
    let sleepMs: number | undefined;
    try {
      for (;;) {
        this.claimRequested = false;
        if (this.cutOff.size > 0) await this.releaseCutOff();
        if (this.outage) await this.recoverFromOutage();
        const limit = this.claimLimit();
        if (limit <= 0) return; // every finishing handler and every recorded outcome nudges
        const claimedAt = Date.now();
        const { tasks, contended } = await this.claimer.claim(this.id, limit);
        this.prefetched.push(tasks, claimedAt);
        this.startPrefetched();
        if (this.state !== 'running') return;
        if (tasks.length === limit || this.claimRequested) continue;
        if (contended) {
          sleepMs = MIN_SLEEP_MS;
          return;
        }
        const nextMs = await this.claimer.nextClaimableInMs();
        sleepMs = nextMs === null ? this.settings.pollIntervalMs : Math.min(this.settings.pollIntervalMs, Math.max(MIN_SLEEP_MS, nextMs));
        return;
      }
    } catch (error) {
      sleepMs = Math.min(1000, this.settings.pollIntervalMs);
      if (!asDatabaseUnavailable(error, this.db.availability)) {
        this.logger.warn(`claiming failed; trying again in ${sleepMs} ms: ${describe(error)}`);
      } else if (!this.outage) {
        this.outage = true;
        this.logger.warn(`the database is unreachable: claiming paused, trying again every ${sleepMs} ms: ${describe(error)}`);
      }
    } finally {
      // In the same synchronous step as the check below, so no nudge falls between.
      this.claiming = false;
      if (this.state === 'running' && sleepMs !== undefined) {
        this.wakeTimer = setTimeout(() => this.nudge(), sleepMs);
      }
      if (this.claimRequested) {
        this.claimRequested = false;
        this.nudge();
      }
    }
  }

  /**
   * How many tasks to claim now: the free slots plus the prefetch depth,
   * less what waits already, at most SCHEDULER_BATCH_SIZE. At most
   * 3 × concurrency tasks are in flight (running or having their outcome
   * recorded; backpressure when the database is slow) besides those claimed
   * ahead. While every slot is busy, the queue ahead is refilled only once it
   * is half empty, so that refills come in batches rather than one task a claim.
   */
  private claimLimit(): number {
    const { concurrency, batchSize } = this.settings;
    const slotsFree = concurrency - this.handlersRunning;
    const depth = this.prefetched.depth();
    if (slotsFree <= 0 && this.prefetched.size * 2 > depth) return 0;
    const wanted = slotsFree + depth - this.prefetched.size;
    return Math.min(batchSize, wanted, 3 * concurrency - this.inFlight.size + depth - this.prefetched.size);
  }

  /** Starts claimed tasks while slots are free. */
  private startPrefetched(): void {
    this.cutOffUnconfirmedAhead();
    while (this.state === 'running' && this.handlersRunning < this.settings.concurrency) {
      const waiting = this.prefetched.shift();
      if (!waiting) return;
      this.run(waiting.task, waiting.leaseConfirmedAt);
    }
  }

  /**
   * Tasks claimed ahead whose leases went unconfirmed for half a lease (the
   * database is unreachable) are not started: they are released once the
   * database is back, like the attempts the outage cut off.
   */
  private cutOffUnconfirmedAhead(): void {
    const stale = this.prefetched.removeUnconfirmedSince(Date.now() - this.settings.leaseMs / 2);
    if (stale.length === 0) return;
    this.logger.warn(`${stale.length} task(s) claimed ahead kept a lease unconfirmed for half a lease (the database is unreachable); released when the database is back instead of started`);
    for (const task of stale) this.cutOff.set(task.id, () => undefined);
    this.nudge();
  }

  /** Shutdown: tasks claimed ahead go back to the queue as they were, for another process to take at once. */
  private async returnPrefetched(): Promise<void> {
    const unstarted = this.prefetched.drain();
    if (unstarted.length === 0) return;
    try {
      await this.queue.returnUnstartedTasks(this.id, unstarted.map((task) => task.id));
    } catch (error) {
      this.logger.error(`could not hand back ${unstarted.length} task(s) claimed ahead; their leases expire in ${this.settings.leaseMs} ms: ${describe(error)}`);
    }
  }

  /**
   * The database answers again after claiming failed for want of it: hand
   * back the tasks a lost claim answer may have leased to this worker (it is
   * running none of them and holds none of them ahead), then claim as usual.
   */
  private async recoverFromOutage(): Promise<void> {
    const stray = await this.queue.releaseStrayLeases(this.id, [...this.inFlight.keys(), ...this.prefetched.ids()]);
    this.outage = false;
    this.logger.log(`the database is reachable again: claiming resumed${stray.length > 0 ? `; released ${stray.length} task(s) leased by a claim whose answer was lost: ${stray.join(', ')}` : ''}`);
  }

  private run(task: ClaimedTask, leaseConfirmedAt: number): void {
    const attempt = this.telemetry.attemptStarted(task);
    const entry: InFlightTask = { task, controller: new AbortController(), settling: false, leaseConfirmedAt, done: Promise.resolve(), attempt };
    this.inFlight.set(task.id, entry);
    this.handlersRunning++;
    entry.done = this.execute(entry, attempt)
      .then(
        (outcome) => attempt.finished(outcome.outcome, outcome.error),
        (error: unknown) => {
          attempt.finished('error', error);
          this.logger.error(`task ${task.id}: recording the outcome failed; the lease will expire and the task run again: ${describe(error)}`);
        },
      )
      .finally(() => {
        this.inFlight.delete(task.id);
        this.nudge();
      });
  }

  /** The handler is done (returned or threw): its slot takes the next task while the outcome is recorded. */
  private handlerReturned(entry: InFlightTask, runMs: number): void {
    entry.settling = true;
    entry.attempt.handlerReturned();
    this.handlersRunning--;
    this.prefetched.recordRun(runMs);
    this.startPrefetched();
    this.nudge();
  }

  /** Runs the attempt and records it; resolves with its outcome (the handler's error, if any) for telemetry. */
  private async execute(entry: InFlightTask, attempt: AttemptTelemetry): Promise<{ outcome: AttemptOutcome; error?: unknown }> {
    const { task, controller } = entry;
    let result: HandlerResult | void;
    const startedAt = performance.now();
    try {
      result = await attempt.run(() => this.handlers.get(task.resourceType).handle(task, { signal: controller.signal, workerId: this.id }));
    } catch (error) {
      this.handlerReturned(entry, performance.now() - startedAt);
      if (this.cutOffByOutage(error, controller.signal)) {
        await this.releaseWhenBack(task, error);
        return { outcome: 'released', error };
      }
      return { outcome: await this.recorded(task, () => this.recordFailure(task, error, controller.signal)), error };
    }
    this.handlerReturned(entry, performance.now() - startedAt);
    const children = result?.children ?? [];
    const outcome = await this.recorded(task, async () => {
      const settled = children.length === 0 ? await this.completeSoon(task) : await this.settlement.settle(this.id, task, children);
      if (settled !== 'lease_lost') return 'success';
      if (controller.signal.reason instanceof WorkerShutdownError) return 'released';
      this.logger.warn(`task ${task.id} (${task.resourceType} ${task.resourceId}) finished after its lease was lost; the result is not recorded (the handler is idempotent, the new holder redoes it)`);
      return 'lease_lost';
    });
    return { outcome };
  }

  /**
   * Records an outcome; if the database went away meanwhile, the attempt
   * counts as cut off by the outage: released once the database is back.
   */
  private async recorded(task: ClaimedTask, record: () => Promise<AttemptOutcome>): Promise<AttemptOutcome> {
    try {
      return await record();
    } catch (error) {
      if (!asDatabaseUnavailable(error, this.db.availability)) throw error;
      await this.releaseWhenBack(task, error);
      return 'released';
    }
  }

  /**
   * Whether a handler's failure is the outage's, not the task's: its lease
   * could not be renewed, or it failed for want of the database (its error
   * says so, or this process finds the database down right now). Not when
   * the lease was lost or the worker is shutting down: then the task is no
   * longer ours to record.
   */
  private cutOffByOutage(error: unknown, signal: AbortSignal): boolean {
    if (signal.aborted) return signal.reason instanceof LeaseUnconfirmedError;
    return isDatabaseUnavailable(error) || !this.db.availability.isUp;
  }

  /**
   * Holds the task's lease until the database answers again, then releases
   * it (due at once, no budget spent, no backoff): the claim loop does, first
   * thing on each round, which retries every second while the database is
   * down. Resolves once released; at shutdown, after one try.
   */
  private releaseWhenBack(task: ClaimedTask, cause: unknown): Promise<void> {
    this.logger.warn(`task ${task.id} (${task.resourceType} ${task.resourceId}): attempt cut off by the database outage; released when the database is back: ${describe(cause)}`);
    return new Promise<void>((resolve) => {
      this.cutOff.set(task.id, resolve);
      if (this.state === 'running') {
        this.nudge();
        return;
      }
      // Shutting down: the claim loop has stopped; one try, or the lease expires.
      void this.releaseCutOff()
        .catch((error: unknown) => this.logger.error(`could not release task ${task.id}; its lease expires in ${this.settings.leaseMs} ms: ${describe(error)}`))
        .finally(() => this.giveUpCutOff());
    });
  }

  /** Releases the leases of the attempts the outage cut off; throws (keeping them) while the database is still down. */
  private async releaseCutOff(): Promise<void> {
    const waiting = [...this.cutOff];
    if (waiting.length === 0) return;
    const released = new Set(await this.queue.releaseLeases(this.id, waiting.map(([id]) => id)));
    for (const [id, done] of waiting) {
      this.cutOff.delete(id);
      done();
    }
    const lost = waiting.filter(([id]) => !released.has(id)).map(([id]) => id);
    this.logger.log(
      `released ${released.size} task(s) cut off by the database outage, due again at once${lost.length > 0 ? `; ${lost.length} had lost their lease meanwhile (another worker has them): ${lost.join(', ')}` : ''}`,
    );
  }

  /** Shutting down with the database still away: the remaining cut-off tasks wait for their leases to expire. */
  private giveUpCutOff(): void {
    for (const done of this.cutOff.values()) done();
    this.cutOff.clear();
  }

  private async recordFailure(task: ClaimedTask, error: unknown, signal: AbortSignal): Promise<AttemptOutcome> {
    // Lease lost, or released at shutdown: the task is no longer ours to record.
    if (signal.aborted) return signal.reason instanceof WorkerShutdownError ? 'released' : 'lease_lost';
    const message = truncate(describe(error));
    const used = task.attempts - task.attemptsBase;
    if (used >= this.settings.maxAttempts || error instanceof PermanentTaskError) {
      const outcome = await this.settlement.failFinally(this.id, task, message);
      if (outcome !== 'failed') return 'lease_lost';
      this.telemetry.taskFailed(task.resourceType);
      this.logger.warn(`task ${task.id} (${task.resourceType} ${task.resourceId}) failed for good after ${used} attempt(s): ${message}`);
      return 'error';
    }
    const delayMs = backoffDelayMs(used, this.settings.backoff);
    if (!(await this.queue.scheduleRetry(this.id, task.id, message, delayMs))) return 'lease_lost';
    this.logger.warn(`task ${task.id} (${task.resourceType} ${task.resourceId}) attempt ${used}/${this.settings.maxAttempts} failed, next in ${delayMs} ms: ${message}`);
    return 'error';
  }

  /**
   * Completion of a run that spawned nothing, batched: everything finishing
   * in the same tick (and while the flushes are busy) goes in one statement.
   */
  private completeSoon(task: TaskRef): Promise<SettleOutcome> {
    return new Promise<SettleOutcome>((resolve, reject) => {
      this.completions.push({ task: { id: task.id, parentId: task.parentId }, resolve, reject });
      if (this.flushing < COMPLETION_FLUSHES) {
        this.flushing++;
        setImmediate(() => void this.flushCompletions());
      }
    });
  }

  private async flushCompletions(): Promise<void> {
    while (this.completions.length > 0) {
      const batch = this.completions.splice(0);
      try {
        const outcomes = await this.settlement.completeMany(this.id, batch.map((pending) => pending.task));
        for (const pending of batch) pending.resolve(outcomes.get(pending.task.id) ?? 'lease_lost');
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.flushing--;
  }

  /**
   * Every third of a lease: renew the leases in flight and claimed ahead,
   * then stop the handlers whose lease went unconfirmed for half a lease (the
   * database is unreachable), before it may expire and the task go to
   * another worker, and set aside the tasks claimed ahead in that state.
   * The check runs even while a renewal hangs (a server that does not answer).
   */
  private heartbeatTick(): void {
    if (this.heartbeatBusy) {
      this.stopUnconfirmed();
      return;
    }
    void this.heartbeat().finally(() => this.stopUnconfirmed());
  }

  private stopUnconfirmed(): void {
    this.cutOffUnconfirmedAhead();
    const now = Date.now();
    const limitMs = this.settings.leaseMs / 2;
    for (const entry of this.inFlight.values()) {
      const sinceMs = now - entry.leaseConfirmedAt;
      if (entry.settling || entry.controller.signal.aborted || sinceMs < limitMs) continue;
      this.logger.warn(`lease on task ${entry.task.id} not renewed for ${sinceMs} ms (the database is unreachable); stopping its handler before the lease may expire`);
      entry.controller.abort(new LeaseUnconfirmedError(entry.task.id, sinceMs));
    }
  }

  /**
   * Renews the leases of every task in flight or claimed ahead. A task not
   * renewed and no longer held went to another worker (this process stalled
   * past the lease): its handler is told through the abort signal; one
   * claimed ahead is dropped.
   */
  private async heartbeat(): Promise<void> {
    if (this.heartbeatBusy || this.inFlight.size + this.prefetched.size === 0) return;
    this.heartbeatBusy = true;
    try {
      const ids = [...this.inFlight.keys(), ...this.prefetched.ids()];
      const sentAt = Date.now();
      const extended = new Set(await this.queue.extendLeases(this.id, ids, this.settings.leaseMs));
      for (const id of extended) {
        const entry = this.inFlight.get(id);
        if (entry) entry.leaseConfirmedAt = sentAt;
      }
      this.prefetched.confirm(extended, sentAt);
      const unconfirmed = ids.filter((id) => !extended.has(id));
      if (unconfirmed.length === 0) return;
      const held = new Set(await this.queue.findHeldLeases(this.id, unconfirmed));
      const lostAhead = this.prefetched.remove(new Set(unconfirmed.filter((id) => !held.has(id))));
      if (lostAhead.length > 0) this.logger.warn(`lease on ${lostAhead.length} task(s) claimed ahead was lost (expired before a heartbeat); dropped without running them`);
      for (const id of unconfirmed) {
        const entry = this.inFlight.get(id);
        if (held.has(id) || !entry || entry.settling || entry.controller.signal.aborted) continue;
        this.logger.warn(`lease on task ${id} was lost (expired before a heartbeat); aborting its handler`);
        entry.controller.abort(new LeaseLostError(id));
      }
    } catch (error) {
      this.logger.warn(`heartbeat failed; leases are renewed on the next one: ${describe(error)}`);
    } finally {
      this.heartbeatBusy = false;
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}
