// Preloaded (--import) into the app and the bare server by bench:list:
// records every garbage collection (epoch start ms, duration ms, kind) and
// appends them to the file named by BENCH_GC_LOG every 250 ms, so the bench
// can tell how much of each server's time inside the measured rounds went to
// pauses. Costs a callback per collection (tens a second).
import { appendFileSync } from 'node:fs';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { setInterval } from 'node:timers';

const file = process.env.BENCH_GC_LOG;
if (file) {
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'young',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'full',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
  };
  let pending = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      pending.push(`${(performance.timeOrigin + entry.startTime).toFixed(3)} ${entry.duration.toFixed(3)} ${kinds[entry.detail?.kind] ?? 'other'}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    if (pending.length === 0) return;
    appendFileSync(file, pending.join(''));
    pending = [];
  }, 250).unref();
}
