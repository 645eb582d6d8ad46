/**
 * Timestamps accepted in filters (and read from rows by the reference
 * evaluator). The accepted profile of ISO 8601 (extended format) is:
 *
 * - a date-time with a mandatory offset: `2024-05-01T12:30:00Z`,
 *   `2024-05-01T12:30:00.123+02:00`, `2024-05-01T12:30Z` (seconds may be
 *   left out), offsets as `Z`, `±HH:MM`, `±HHMM` or `±HH`; `t` and `z` may
 *   be lower case (RFC 3339); fractional seconds take 1–6 digits
 *   (PostgreSQL keeps microseconds, and rounding a finer value would change
 *   what `gt`/`gte` mean at the boundary);
 * - or a date only, `2024-05-01`, meaning midnight **UTC** of that day (never
 *   the database session's time zone).
 *
 * A date-time without an offset is refused: it names no instant. Every field
 * is range-checked (month 1–12, the real length of the month with Gregorian
 * leap years, hour 0–23, minute and second 0–59 — no leap second — offset up
 * to ±23:59), and the instant must fall in the years 0001–9999 UTC. Anything
 * else is rejected.
 *
 * Values are normalised to UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ` (or `.mmmuuuZ`
 * when microseconds are given), and bound as `CAST(:p AS timestamptz)`, so
 * the session's time zone never matters.
 */
export interface ParsedTimestamp {
  /** Normalised UTC form, e.g. `2024-05-01T10:30:00.123Z`. */
  canonical: string;
  /** Microseconds since the Unix epoch; exact ordering key. */
  micros: bigint;
}

const TIMESTAMP_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?))?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Epoch milliseconds of a UTC calendar time; correct for years 0–99 too (unlike `Date.UTC`). */
function utcMillis(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

const FIRST_MS = utcMillis(1, 1, 1, 0, 0, 0, 0);
const LAST_MS = utcMillis(9999, 12, 31, 23, 59, 59, 999);

/** Parses the accepted profile (see above); `undefined` for anything else. */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const m = TIMESTAMP_PATTERN.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const dateOnly = m[4] === undefined;
  const hour = dateOnly ? 0 : Number(m[4]);
  const minute = dateOnly ? 0 : Number(m[5]);
  const second = dateOnly || m[6] === undefined ? 0 : Number(m[6]);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const fraction = (m[7] ?? '').padEnd(6, '0');
  const ms = Number(fraction.slice(0, 3));
  const extraMicros = Number(fraction.slice(3, 6));
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11] ?? 0);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const epochMs = utcMillis(year, month, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  if (epochMs < FIRST_MS || epochMs > LAST_MS) return undefined;
  const iso = new Date(epochMs).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ for years 0001–9999
  const canonical = extraMicros === 0 ? iso : `${iso.slice(0, 23)}${String(extraMicros).padStart(3, '0')}Z`;
  return { canonical, micros: BigInt(epochMs) * 1000n + BigInt(extraMicros) };
}

/** The exact form the API and cursors use for row values: `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
export const ISO_MILLIS_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
