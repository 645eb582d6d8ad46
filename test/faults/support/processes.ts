import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProbeJournalEntry } from '../../support/probe-worker/probe.handlers';
import { assertBuildIsFresh, assertWorkerBuildIsFresh, waitFor } from '../../support/scheduler';

/** The built API (npm run build; `npm run test:faults` builds first). */
export const API_ENTRY = resolve(process.cwd(), 'dist/apps/api/apps/api/src/main.js');

/** Throws a clear error unless both deployables are built from the current sources. */
export function assertBuildsAreFresh(): void {
  assertWorkerBuildIsFresh();
  assertBuildIsFresh(API_ENTRY, ['apps/api/src', 'libs']);
}

export interface ApiProcess {
  base: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const apis = new Set<ApiProcess>();

/** Starts the built API on a free loopback port and waits until it listens. */
export async function startApi(env: Record<string, string>, { readyTimeoutMs = 90_000 } = {}): Promise<ApiProcess> {
  const child = spawn(process.execPath, [API_ENTRY], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('close', (code, signal) => done({ code, signal })));
  const api: ApiProcess = { base: '', pid: child.pid!, child, output: () => output, exited };
  apis.add(api);
  let gone = false;
  void exited.then(() => {
    gone = true;
    apis.delete(api);
  });
  api.base = await waitFor(
    `the API (pid ${child.pid}) to listen`,
    async () => {
      if (gone) throw new Error(`the API exited during start-up:\n${output}`);
      return /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    },
    { timeoutMs: readyTimeoutMs, intervalMs: 50 },
  );
  return api;
}

/** Kills (SIGKILL, by PID) every API this file started that still runs. */
export async function stopApis(): Promise<void> {
  await Promise.all(
    [...apis].map(async (api) => {
      try {
        process.kill(api.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await Promise.race([api.exited, sleep(5000, undefined, { ref: false })]);
    }),
  );
}

/** One run of a probe handler, from its journal: `end` undefined when its process died mid-run. */
export interface ProbeRun {
  taskId: string;
  attempt: number;
  pid: number;
  start: number;
  end?: number;
  outcome?: string;
}

/** The runs a probe journal file records, by task. */
export function readJournal(file: string): Map<string, ProbeRun[]> {
  const runs = new Map<string, ProbeRun>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as ProbeJournalEntry;
    const key = `${entry.taskId}:${entry.attempt}:${entry.pid}`;
    if (entry.event === 'start') runs.set(key, { taskId: entry.taskId, attempt: entry.attempt, pid: entry.pid, start: entry.at });
    else Object.assign(runs.get(key) ?? {}, { end: entry.at, outcome: entry.outcome });
  }
  const byTask = new Map<string, ProbeRun[]>();
  for (const run of runs.values()) byTask.set(run.taskId, [...(byTask.get(run.taskId) ?? []), run]);
  for (const list of byTask.values()) list.sort((a, b) => a.start - b.start);
  return byTask;
}

/**
 * Runs of one task that overlapped in time (never allowed). A run without
 * an end belongs to a process that was killed: it ended by `killedAt`
 * (epoch ms of the kill, by pid).
 */
export function overlappingRuns(byTask: Map<string, ProbeRun[]>, killedAt: ReadonlyMap<number, number> = new Map()): string[] {
  const overlaps: string[] = [];
  for (const [taskId, list] of byTask) {
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1];
      const previousEnd = previous.end ?? killedAt.get(previous.pid) ?? Number.POSITIVE_INFINITY;
      if (list[i].start < previousEnd) overlaps.push(`${taskId}: attempt ${list[i].attempt} (pid ${list[i].pid}) started before attempt ${previous.attempt} (pid ${previous.pid}) ended`);
    }
  }
  return overlaps;
}
