import { columnRef } from '@app/query-dsl';

/** The `cleanup_tasks` columns behind the contract's fields (the scheduler's columns excluded). */
export const TASK_CONTRACT_COLUMNS = [
  'id', 'parent_id', 'workspace_id', 'source_event_id', 'resource_type', 'resource_id',
  'metadata', 'status', 'attempts', 'last_error', 'created_at', 'completed_at',
] as const;

const TIMESTAMP_COLUMNS: ReadonlySet<string> = new Set(['created_at', 'completed_at']);

/** `parent_id` → `parentId`: the API's name of a column. */
function fieldOf(column: string): string {
  return column.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/**
 * SQL for the JSON text of the task in `alias`, exactly as the API shows it
 * (`CleanupTaskDto`: the same fields in the same order, timestamps as
 * ISO 8601 UTC with milliseconds, `…T10:15:30.123Z`), or NULL when
 * `alias.id` is NULL (an outer join's missing row). Cast to text, so the
 * driver hands it over without parsing it: Node neither parses the row nor
 * serialises it again. (TypeORM looks for `:name` placeholders in the whole
 * statement, string literals included: the format's `:MI` and `:SS` are no
 * parameter of ours, whose names are `p1`, `p2`, ….)
 */
export function taskContractJson(alias: string): string {
  const fields = TASK_CONTRACT_COLUMNS.map((column) => {
    const ref = columnRef(alias, column);
    const value = TIMESTAMP_COLUMNS.has(column) ? `to_char(${ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : ref;
    return `${value} AS "${fieldOf(column)}"`;
  }).join(', ');
  return `CASE WHEN ${columnRef(alias, 'id')} IS NULL THEN NULL ELSE (SELECT CAST(row_to_json(task) AS text) FROM (SELECT ${fields}) AS task) END`;
}
