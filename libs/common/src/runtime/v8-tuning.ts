import { setFlagsFromString } from 'node:v8';

/**
 * The V8 settings the API process runs with, applied by `main` before the
 * app is built (so they hold however the process is launched).
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
 *
 * `--heap-growing-percent=50`: after each full collection V8 lets the old
 * generation grow to a multiple of what survived before it collects again,
 * up to 4× when collections are cheap. A streamed export (1M tasks) promotes
 * a steady trickle of short-lived batches, so the old generation swung
 * between ~47 MB live and ~200 MB (`--trace-gc`), which is what RSS showed:
 * ~150 MB of growth during an export though it holds one batch at a time.
 * At 1.5× the same export grows RSS by 30–36 MB, for 20–27% fewer rows a
 * second (docs/benchmarks.md, "Export"). List and look-up requests promote
 * next to nothing (above), so the setting should not touch them. V8 reads it
 * at each collection, so setting it after start-up takes effect.
 */
export const V8_TUNING_FLAGS = ['--no-allocation-site-pretenuring', '--heap-growing-percent=50'] as const;

export function applyV8Tuning(): void {
  for (const flag of V8_TUNING_FLAGS) setFlagsFromString(flag);
}
