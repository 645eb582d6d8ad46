import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqlExecutor } from '@app/database/sql-executor';
import { type ClaimedTask, CleanupHandler, type CleanupTaskHandler, type TaskContext } from '@app/scheduler/cleanup-handler';

/**
 * What a probe handler does, from `task.metadata.probe` (absent: nothing):
 * sleep (honouring the abort signal), fail the first attempts, and record
 * each run in `scheduler_probe_runs`.
 */
export interface ProbeBehaviour {
  sleepMs?: number;
  /** Attempts 1..failTimes throw. */
  failTimes?: number;
  /** Insert a row per run into scheduler_probe_runs (the table must exist: PROBE_RUNS_DDL). */
  record?: boolean;
  /**
   * Append a JSON line (ProbeJournalEntry) to this file when a run starts and
   * when it ends: a journal that a database outage cannot interrupt (the
   * fault tests read it).
   */
  journal?: string;
}

/** A line of a probe journal file. `at`: epoch ms with sub-millisecond precision. */
export interface ProbeJournalEntry {
  event: 'start' | 'end';
  taskId: string;
  attempt: number;
  pid: number;
  workerId: string;
  at: number;
  /** `ok`, or the error that ended the run (end only). */
  outcome?: string;
}

/** The run journal of probe handlers; created by the tests that read it, not by a migration. */
export const PROBE_RUNS_DDL = `
  CREATE TABLE IF NOT EXISTS scheduler_probe_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id     text NOT NULL,
    worker_id   text NOT NULL,
    pid         integer NOT NULL,
    attempt     integer NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    outcome     text
  )`;

/** In-process observers (the benchmark measures pickup latency with it): emits ('start', taskId) per run. */
export const probeEvents = new EventEmitter();
probeEvents.setMaxListeners(0);

/**
 * Instrumented stand-ins for the reference handlers, one per resource type:
 * the multi-process tests and the benchmark need handlers that record every
 * run, sleep or do nothing. Run by the probe worker (test/support/probe-worker/main.ts).
 */
@Injectable()
abstract class ProbeHandler implements CleanupTaskHandler {
  constructor(private readonly db: SqlExecutor) {}

  async handle(task: ClaimedTask, context: TaskContext): Promise<void> {
    probeEvents.emit('start', task.id);
    const probe = (task.metadata.probe ?? {}) as ProbeBehaviour;
    if (!probe.record && !probe.sleepMs && !probe.failTimes && !probe.journal) return;
    const journal = (event: ProbeJournalEntry['event'], outcome?: string) => {
      if (!probe.journal) return;
      const entry: ProbeJournalEntry = { event, taskId: task.id, attempt: task.attempts, pid: process.pid, workerId: context.workerId, at: performance.timeOrigin + performance.now(), outcome };
      appendFileSync(probe.journal, `${JSON.stringify(entry)}\n`);
    };
    journal('start');
    let outcome = 'ok';
    let runId: string | undefined;
    try {
      runId = probe.record ? await this.recordStart(task, context) : undefined;
      if (probe.sleepMs) await sleep(probe.sleepMs, undefined, { signal: context.signal });
      if (probe.failTimes && task.attempts <= probe.failTimes) throw new Error(`probe failure on attempt ${task.attempts} of ${probe.failTimes}`);
    } catch (error) {
      outcome = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      journal('end', outcome);
      if (runId !== undefined) await this.db.query(`UPDATE scheduler_probe_runs SET finished_at = clock_timestamp(), outcome = $2 WHERE id = $1`, [runId, outcome]);
    }
  }

  private async recordStart(task: ClaimedTask, context: TaskContext): Promise<string> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO scheduler_probe_runs (task_id, worker_id, pid, attempt) VALUES ($1, $2, $3, $4) RETURNING id`,
      [task.id, context.workerId, process.pid, task.attempts],
    );
    return rows[0].id;
  }
}

@CleanupHandler('delete_workspace')
export class ProbeWorkspaceHandler extends ProbeHandler {}

@CleanupHandler('delete_app')
export class ProbeAppHandler extends ProbeHandler {}

@CleanupHandler('delete_element')
export class ProbeElementHandler extends ProbeHandler {}

@CleanupHandler('delete_database')
export class ProbeDatabaseHandler extends ProbeHandler {}
