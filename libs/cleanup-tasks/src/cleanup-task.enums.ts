export const RESOURCE_TYPES = ['delete_workspace', 'delete_app', 'delete_element', 'delete_database'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const TASK_STATUSES = ['pending', 'in_progress', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** `ct_` + a ULID: URL-safe, and time-sortable in byte order. */
export const TASK_ID_PATTERN = /^ct_[0-9A-HJKMNP-TV-Z]{26}$/;
