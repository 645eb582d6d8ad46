import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { backoffDelayMs } from './backoff';
import { type ClaimedTask, type HandlerResult, PermanentTaskError } from './cleanup-handler';
import { DueTaskListener } from './due-task.listener';
import { HandlerRegistry } from './handler-registry';
import { SchedulerSettings } from './scheduler-settings';
import { type AttemptOutcome, type AttemptTelemetry, SchedulerTelemetry } from './scheduler.telemetry';
import { TaskQueueRepository, type TaskRef } from './task-queue.repository';
import { type SettleOutcome, TaskSettlement, truncate } from './task-settlement';

/**
 * created → running → stopping → stopped. While running, the claim loop is
 * either asleep (a timer: the next due run_at or the poll interval) or
 * claiming; a NOTIFY, a finished task or the timer nudge it awake.
 */
type WorkerState = 'created' | 'running' | 'stopping' | 'stopped';

/** A claimed task, from claim until its outcome is committed. */
interface InFlightTask {
  task: ClaimedTask;
  controller: AbortController;
  /** The handler returned or threw; what is left is recording the outcome (the lease is still held). */
  settling: boolean;
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

export class LeaseLostError extends Error {
  constructor(taskId: string) {
    super(`lease on task ${taskId} lost: it expired and may run elsewhere`);
    this.name = 'LeaseLostError';
  }
}

export class WorkerShutdownError extends Error {
  constructor() {
    super('the worker is shutting down and the shutdown timeout has passed');
    this.name = 'WorkerShutdownError';
  }
}

/**
 * One scheduler process's worker: claims due tasks in batches up to its free
 * slots (bounded concurrency), runs their handlers, records outcomes, renews
 * leases, and on shutdown stops claiming, lets handlers finish until the
 * timeout, then releases what is left.
 *
 * A slot is free again as soon as its handler returns; recording the outcome
 * (batched) overlaps with the next claim. At most `concurrency` outcomes wait
 * to be recorded at once (backpressure when the database is slow); their
 * leases stay held and renewed until they are.
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
  private flushing = false;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly queue: TaskQueueRepository,
    private readonly settlement: TaskSettlement,
    private readonly handlers: HandlerRegistry,
    private readonly listener: DueTaskListener,
    private readonly telemetry: SchedulerTelemetry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async start(): Promise<void> {
    if (this.state !== 'created') return;
    this.state = 'running';
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.settings.heartbeatIntervalMs);
    await this.listener.start(() => this.nudge());
    this.nudge();
    const { concurrency, batchSize, leaseMs, maxAttempts } = this.settings;
    this.logger.log(`worker ${this.id} started: concurrency ${concurrency}, batch ${batchSize}, lease ${leaseMs} ms, max attempts ${maxAttempts}`);
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
        const { concurrency } = this.settings;
        const free = Math.min(concurrency - this.handlersRunning, 2 * concurrency - this.inFlight.size);
        if (free <= 0) return; // every finishing handler and every recorded outcome nudges
        const limit = Math.min(free, this.settings.batchSize);
        const tasks = await this.queue.claimDueTasks(this.id, limit, this.settings.leaseMs);
        for (const task of tasks) this.run(task);
        if (this.state !== 'running') return;
        if (tasks.length === limit || this.claimRequested) continue;
        const nextDueMs = await this.queue.nextDueInMs();
        sleepMs = nextDueMs === null ? this.settings.pollIntervalMs : Math.min(this.settings.pollIntervalMs, Math.max(MIN_SLEEP_MS, nextDueMs));
        return;
      }
    } catch (error) {
      sleepMs = Math.min(1000, this.settings.pollIntervalMs);
      this.logger.warn(`claiming failed; trying again in ${sleepMs} ms: ${describe(error)}`);
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

  private run(task: ClaimedTask): void {
    const attempt = this.telemetry.attemptStarted(task);
    const entry: InFlightTask = { task, controller: new AbortController(), settling: false, done: Promise.resolve(), attempt };
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
  private handlerReturned(entry: InFlightTask): void {
    entry.settling = true;
    entry.attempt.handlerReturned();
    this.handlersRunning--;
    this.nudge();
  }

  private async execute(entry: InFlightTask, attempt: AttemptTelemetry): Promise<{ outcome: AttemptOutcome; error?: unknown }> {
    const { task, controller } = entry;
    let result: HandlerResult | void;
    try {
      result = await attempt.run(() => this.handlers.get(task.resourceType).handle(task, { signal: controller.signal, workerId: this.id }));
    } catch (error) {
      this.handlerReturned(entry);
      return { outcome: await this.recordFailure(task, error, controller.signal), error };
    }
    this.handlerReturned(entry);
    const children = result?.children ?? [];
    const outcome = children.length === 0 ? await this.completeSoon(task) : await this.settlement.settle(this.id, task, children);
    if (outcome !== 'lease_lost') return { outcome: 'success' };
    if (controller.signal.reason instanceof WorkerShutdownError) return { outcome: 'released' };
    this.logger.warn(`task ${task.id} (${task.resourceType} ${task.resourceId}) finished after its lease was lost; the result is not recorded (the handler is idempotent, the new holder redoes it)`);
    return { outcome: 'lease_lost' };
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
   * in the same tick (and while a flush is running) goes in one statement.
   */
  private completeSoon(task: TaskRef): Promise<SettleOutcome> {
    return new Promise<SettleOutcome>((resolve, reject) => {
      this.completions.push({ task: { id: task.id, parentId: task.parentId }, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
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
    this.flushing = false;
  }

  /**
   * Renews the leases of every task in flight. A task not renewed and no
   * longer held went to another worker (this process stalled past the
   * lease): its handler is told through the abort signal.
   */
  private async heartbeat(): Promise<void> {
    if (this.heartbeatBusy || this.inFlight.size === 0) return;
    this.heartbeatBusy = true;
    try {
      const ids = [...this.inFlight.keys()];
      const extended = new Set(await this.queue.extendLeases(this.id, ids, this.settings.leaseMs));
      const unconfirmed = ids.filter((id) => !extended.has(id));
      if (unconfirmed.length === 0) return;
      const held = new Set(await this.queue.findHeldLeases(this.id, unconfirmed));
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
