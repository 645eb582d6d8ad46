import { setFlagsFromString } from 'node:v8';

/**
 * The V8 setting the API process runs with, applied by `main` before the
 * app is built (so it holds however the process is launched).
 *
 * `--no-allocation-site-pretenuring`: V8 watches which allocation sites'
 * objects survive a young-generation collection and, past a ratio, allocates
 * those sites' objects straight in the old generation. In this service a
 * request's objects stay alive while it waits for PostgreSQL, which is much
 * of its life, so sites crossed that ratio; their old-generation objects then
 * held the requests' other young objects (each page's rows and strings) past
 * the young collections: ~3 MB promoted and a 3–4 ms pause every ~40 list
 * requests, and a full collection every few seconds. Without it nothing is
 * promoted and the young collections take ~1 ms (docs/benchmarks.md). A
 * request/response server has little to gain from pretenuring: its
 * long-lived state is built once at start-up.
 */
export const V8_TUNING_FLAGS = ['--no-allocation-site-pretenuring'] as const;

export function applyV8Tuning(): void {
  for (const flag of V8_TUNING_FLAGS) setFlagsFromString(flag);
}
