import { columnRef } from '@app/query-dsl';

/** The `cleanup_tasks` columns behind the contract's fields (the scheduler's columns excluded). */
export const TASK_CONTRACT_COLUMNS = [
  'id', 'parent_id', 'workspace_id', 'source_event_id', 'resource_type', 'resource_id',
  'metadata', 'status', 'attempts', 'last_error', 'created_at', 'completed_at',
] as const;

const TIMESTAMP_COLUMNS: ReadonlySet<string> = new Set(['created_at', 'completed_at']);
/** Columns that are not text (jsonb, integer): cast for taskContractTexts. */
const NON_TEXT_COLUMNS: ReadonlySet<string> = new Set(['metadata', 'attempts']);

/** `parent_id` → `parentId`: the API's name of a column. */
function fieldOf(column: string): string {
  return column.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** The contract's field names, in the contract's order: `id`, `parentId`, …, `completedAt`. */
export const TASK_CONTRACT_FIELDS: readonly string[] = TASK_CONTRACT_COLUMNS.map(fieldOf);

/**
 * Each field of the task in `alias` as SQL, as the API shows it: timestamps
 * as ISO 8601 UTC text with milliseconds (`…T10:15:30.123Z`), the rest as
 * the column is. (TypeORM looks for `:name` placeholders in the whole
 * statement, string literals included: the format's `:MI` and `:SS` are no
 * parameter of ours, whose names are `p1`, `p2`, ….)
 */
function contractValues(alias: string): { field: string; value: string; text: boolean }[] {
  return TASK_CONTRACT_COLUMNS.map((column) => {
    const ref = columnRef(alias, column);
    return TIMESTAMP_COLUMNS.has(column)
      ? { field: fieldOf(column), value: `to_char(${ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`, text: true }
      : { field: fieldOf(column), value: ref, text: !NON_TEXT_COLUMNS.has(column) };
  });
}

/**
 * SQL for the JSON text of the task in `alias`, exactly as the API shows it
 * (`CleanupTaskDto`: the same fields in the same order), or NULL when
 * `alias.id` is NULL (an outer join's missing row). Cast to text, so the
 * driver hands it over without parsing it: Node neither parses the row nor
 * serialises it again.
 */
export function taskContractJson(alias: string): string {
  const fields = contractValues(alias).map(({ field, value }) => `${value} AS "${field}"`).join(', ');
  return `CASE WHEN ${columnRef(alias, 'id')} IS NULL THEN NULL ELSE (SELECT CAST(row_to_json(task) AS text) FROM (SELECT ${fields}) AS task) END`;
}

/**
 * Select expressions of the task in `alias`, one per field in the contract's
 * order, each as the text of its JSON value (`metadata` as JSON text,
 * `attempts` as a decimal integer, timestamps as in the JSON) or NULL:
 * what a CSV row is written from, so the driver parses nothing.
 */
export function taskContractTexts(alias: string): string[] {
  return contractValues(alias).map(({ field, value, text }) => `${text ? value : `CAST(${value} AS text)`} AS "${field}"`);
}
