/** The `cleanup_tasks` columns behind the contract's fields (the scheduler's columns excluded). */
export const TASK_CONTRACT_COLUMNS = [
  'id', 'parent_id', 'workspace_id', 'source_event_id', 'resource_type', 'resource_id',
  'metadata', 'status', 'attempts', 'last_error', 'created_at', 'completed_at',
] as const;

/** Those columns of `alias`, named as the API's fields, so rows come back in the contract's shape. */
export function taskContractOutput(alias: string): string {
  return TASK_CONTRACT_COLUMNS.map((column) => {
    const field = column.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
    return field === column ? `${alias}.${column}` : `${alias}.${column} AS "${field}"`;
  }).join(', ');
}
