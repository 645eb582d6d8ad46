import { defineEntitySpec, defineField, filterOpenApiSchemas, type JsonSchema, type OrderByInput } from '@app/query-dsl';
import { RESOURCE_TYPES, TASK_STATUSES } from './cleanup-task.enums';

/**
 * The public query surface of cleanup tasks: API field → column, type,
 * operators (derived from the type, see OPERATORS_BY_TYPE), sortability.
 * This whitelist is all the DSL can ever touch; the scheduler's columns
 * (run_at, locked_by, …) are deliberately absent.
 *
 * Id-like fields (`id`, `parentId`, …) are free strings here: filter values
 * are compared as given, never format-checked (`ids=` is validated by the
 * service instead).
 */
export const CLEANUP_TASK_QUERY_FIELDS = defineEntitySpec({
  table: 'cleanup_tasks',
  idField: 'id',
  fields: {
    id: defineField({ column: 'id', type: 'string' }),
    parentId: defineField({ column: 'parent_id', type: 'string', nullable: true }),
    workspaceId: defineField({ column: 'workspace_id', type: 'string' }),
    sourceEventId: defineField({ column: 'source_event_id', type: 'string', nullable: true }),
    resourceType: defineField({ column: 'resource_type', type: 'enum', enumValues: RESOURCE_TYPES }),
    resourceId: defineField({ column: 'resource_id', type: 'string' }),
    metadata: defineField({ column: 'metadata', type: 'json' }),
    status: defineField({ column: 'status', type: 'enum', enumValues: TASK_STATUSES }),
    attempts: defineField({ column: 'attempts', type: 'integer' }),
    lastError: defineField({ column: 'last_error', type: 'string', nullable: true }),
    createdAt: defineField({ column: 'created_at', type: 'timestamp' }),
    completedAt: defineField({ column: 'completed_at', type: 'timestamp', nullable: true }),
  },
  relations: {
    parent: { kind: 'to-one', sourceField: 'parentId', targetField: 'id' },
    children: { kind: 'to-many', sourceField: 'id', targetField: 'parentId' },
  },
});

/** The contract's default order (`id asc` is appended by parseOrderBy). */
export const CLEANUP_TASK_DEFAULT_ORDER_BY: OrderByInput = [{ createdAt: 'asc' }];

/**
 * OpenAPI component schemas of the list's `filter` and `orderBy`
 * (`CleanupTaskFilter`, `CleanupTaskOrderBy`, the operator objects), derived
 * from the field map above; the document adds them to its components.
 */
export const CLEANUP_TASK_FILTER_SCHEMAS: Record<string, JsonSchema> = filterOpenApiSchemas(CLEANUP_TASK_QUERY_FIELDS, { entity: 'CleanupTask' });
