export const RESOURCE_TYPES = ['delete_workspace', 'delete_app', 'delete_element', 'delete_database'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const TASK_STATUSES = ['pending', 'in_progress', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** `ct_` + a ULID: URL-safe, and time-sortable in byte order. */
export const TASK_ID_PATTERN = /^ct_[0-9A-HJKMNP-TV-Z]{26}$/;

/** What a 400 says of a value that is not a task id (path, query, or body). */
export const TASK_ID_MESSAGE = 'expected a cleanup task id: ct_ followed by 26 ULID characters';
