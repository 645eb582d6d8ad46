import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** A prefixed, URL-safe, time-sortable id: `<prefix>_` + ULID (monotonic within one process). */
export function newId(prefix: string): string {
  return `${prefix}_${nextUlid()}`;
}
