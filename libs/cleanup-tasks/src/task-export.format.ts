import { TASK_CONTRACT_FIELDS } from './task-columns';

/**
 * First characters that make a spreadsheet read a cell as a formula (`=`,
 * `+`, `-`, `@`) or that some read past to one (tab, carriage return): the
 * OWASP "CSV Injection" list, also in ASVS 5.0 requirement 1.2.10.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** What forces a field into quotes (RFC 4180 §2.6): the separator, a quote, a line break. */
const NEEDS_QUOTES = /[",\r\n]/;

/** `attempts` comes as PostgreSQL's integer text: a number, never a formula, so it is never neutralised (see csvCell). */
const NUMBER_FIELDS: ReadonlySet<string> = new Set(['attempts']);
const NEUTRALISED: readonly boolean[] = TASK_CONTRACT_FIELDS.map((field) => !NUMBER_FIELDS.has(field));

/**
 * One CSV field (RFC 4180): NULL is an empty field, the empty string `""`
 * (so the two stay apart for a parser that keeps quotes apart); a value with
 * a comma, a double quote, CR or LF is quoted, its quotes doubled.
 *
 * Formula injection (OWASP "CSV Injection"): a text value whose first
 * character is `=`, `+`, `-`, `@`, tab or CR gets a leading `'`, which
 * spreadsheets take as "this is text" and do not show; quoting alone does
 * not stop them from evaluating it. `neutralise` is false for numbers only:
 * PostgreSQL's integer text (`-1`) is a number to a spreadsheet, and a `'`
 * would turn it into text. The change is visible to other CSV readers (a
 * resource id `-1` reads `'-1`); NDJSON has every value exactly.
 */
export function csvCell(value: string | null, neutralise: boolean): string {
  if (value === null) return '';
  const text = neutralise && FORMULA_START.test(value) ? `'${value}` : value;
  return text === '' || NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The header row: the task's field names in the contract's order, CRLF-terminated (RFC 4180 §2.1). */
export const CSV_HEADER = `${TASK_CONTRACT_FIELDS.join(',')}\r\n`;

/** One task's row from its field texts in the contract's order (see taskContractTexts), CRLF-terminated. */
export function csvRow(values: readonly (string | null)[]): string {
  let row = '';
  for (let i = 0; i < values.length; i++) row += (i === 0 ? '' : ',') + csvCell(values[i], NEUTRALISED[i]);
  return `${row}\r\n`;
}

/**
 * The CSV of a stream of batches: the header with the first batch's rows,
 * then one chunk of rows per batch (the header alone when there are none).
 * Its first chunk already reads from `batches`, so a consumer that takes
 * one chunk and stops also ends the iteration of `batches`.
 */
export async function* csvChunks(batches: AsyncIterable<(string | null)[][]>): AsyncGenerator<string> {
  let chunk = CSV_HEADER;
  for await (const batch of batches) {
    for (const row of batch) chunk += csvRow(row);
    yield chunk;
    chunk = '';
  }
  if (chunk !== '') yield chunk;
}

/** NDJSON of a stream of batches of task JSON texts (JSON text holds no raw line break): one line per task, one chunk per batch. */
export async function* ndjsonChunks(batches: AsyncIterable<{ task: string }[]>): AsyncGenerator<string> {
  for await (const batch of batches) {
    let chunk = '';
    for (const row of batch) chunk += `${row.task}\n`;
    yield chunk;
  }
}
