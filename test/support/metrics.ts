import { spawnSync } from 'node:child_process';

/** The contract's metrics (operations-and-integrations.md, "Metrics"): name, type, label names. */
export const CONTRACT_METRICS: readonly (readonly [name: string, type: 'gauge' | 'counter' | 'histogram', labels: readonly string[]])[] = [
  ['cleanup_tasks', 'gauge', ['status', 'resource_type']],
  ['cleanup_queue_ready_tasks', 'gauge', []],
  ['cleanup_queue_oldest_ready_age_seconds', 'gauge', []],
  ['cleanup_task_attempts_total', 'counter', ['resource_type', 'outcome']],
  ['cleanup_tasks_failed_total', 'counter', ['resource_type']],
  ['cleanup_task_run_duration_seconds', 'histogram', ['resource_type', 'outcome']],
  ['cleanup_task_queue_wait_seconds', 'histogram', ['resource_type']],
  ['cleanup_lease_reclaims_total', 'counter', []],
  ['cleanup_scheduler_running_tasks', 'gauge', []],
  ['http_request_duration_seconds', 'histogram', ['method', 'route', 'status_code']],
  ['cleanup_db_pool_connections', 'gauge', ['pool', 'state']],
  ['cleanup_database_up', 'gauge', []],
];

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: string;
  samples: Sample[];
}

/**
 * The families of a Prometheus text exposition, by name, to look values up
 * in. Only what the tests read: `# TYPE` lines and samples (promtool checks
 * the format itself).
 */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  let current: MetricFamily | undefined;
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      current = { name: type[1], type: type[2], samples: [] };
      families.set(current.name, current);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample || !current) throw new Error(`unexpected exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[name] = value;
    current.samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  return families;
}

/** The samples of `family` whose labels include `labels`. */
export function samplesOf(families: Map<string, MetricFamily>, family: string, labels: Record<string, string> = {}, sampleName = family): Sample[] {
  return (families.get(family)?.samples ?? []).filter(
    (sample) => sample.name === sampleName && Object.entries(labels).every(([name, value]) => sample.labels[name] === value),
  );
}

/** Debian's `promtool check metrics` on an exposition: its exit status and what it printed. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync(process.env.PROMTOOL_PATH ?? '/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (result.error) throw new Error(`promtool could not run (apt-get install prometheus, or set PROMTOOL_PATH): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * promtool's complaints, less those about prom-client's own runtime gauges
 * (`nodejs_active_handles_total` and the like end in `_total` without being
 * counters): every other line names a problem of ours.
 */
export function promtoolProblems(text: string): string[] {
  const { status, output } = promtoolCheck(text);
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  if (status !== 0 && lines.length === 0) return [`promtool exited with ${status} and printed nothing`];
  return lines.filter((line) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(line));
}
