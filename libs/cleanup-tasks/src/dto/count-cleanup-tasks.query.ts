import { applyDecorators, Injectable, type PipeTransform } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { ValidationFailedError } from '@app/common';
import {
  ApiFilterQuery,
  ApiIdsQuery,
  ApiShortcutQueries,
  SELECTION_QUERY_PARAMETERS,
  parseSelection,
  readQueryParameters,
  type TaskSelectionQuery,
} from './list-cleanup-tasks.query';

/** What counts can be grouped by (wire names), and the task field each one is. */
export const COUNT_GROUP_FIELDS = { status: 'status', resource_type: 'resourceType', workspace_id: 'workspaceId' } as const;
export type CountGroupName = keyof typeof COUNT_GROUP_FIELDS;
export type CountGroupField = (typeof COUNT_GROUP_FIELDS)[CountGroupName];

/** Most fields one request groups by. */
export const COUNT_GROUP_BY_MAX = 2;

const GROUP_NAMES = Object.keys(COUNT_GROUP_FIELDS) as CountGroupName[];
const EXPECTED_GROUPS = `${GROUP_NAMES.slice(0, -1).join(', ')} or ${GROUP_NAMES.at(-1)}`;

export const COUNT_QUERY_PARAMETERS = ['groupBy', ...SELECTION_QUERY_PARAMETERS] as const;

const NO_PAGING = 'not taken by counts: they cover every matching task (no paging, no order)';
/** The list's parameters that make no sense for counts: named in the 400 rather than called unknown. */
const REFUSED = { limit: NO_PAGING, after: NO_PAGING, before: NO_PAGING, orderBy: NO_PAGING } as const;

/** `GET /api/cleanup-tasks/counts`: the selection, and the task fields to group by, in the order given. */
export interface CountCleanupTasksQuery extends TaskSelectionQuery {
  groupBy: CountGroupField[];
}

/**
 * Checks the counts' query and collects every problem before answering 400:
 * the selection as for the list, `limit`/`after`/`before`/`orderBy` refused
 * by name, and `groupBy` required: one or two distinct names of
 * COUNT_GROUP_FIELDS, comma-separated.
 */
export function parseCountsQuery(raw: Record<string, unknown>): CountCleanupTasksQuery {
  const read = readQueryParameters(raw, COUNT_QUERY_PARAMETERS, REFUSED);
  const selection = parseSelection(read);
  const { values, errors } = read;
  const groupBy: CountGroupField[] = [];
  const rawGroupBy = values.get('groupBy');
  if (rawGroupBy === undefined) {
    if (!Object.hasOwn(raw, 'groupBy')) errors.push({ path: 'groupBy', message: `required: one or two of ${EXPECTED_GROUPS}, comma-separated` });
  } else {
    const names = rawGroupBy.split(',');
    if (names.length > COUNT_GROUP_BY_MAX) {
      errors.push({ path: 'groupBy', message: `at most ${COUNT_GROUP_BY_MAX} fields (got ${names.length})` });
    } else {
      names.forEach((name, index) => {
        if (!Object.hasOwn(COUNT_GROUP_FIELDS, name)) {
          errors.push({ path: `groupBy[${index}]`, message: `expected ${EXPECTED_GROUPS}` });
        } else if (names.indexOf(name) !== index) {
          errors.push({ path: `groupBy[${index}]`, message: `${name} is already grouped by at groupBy[${names.indexOf(name)}]` });
        } else {
          groupBy.push(COUNT_GROUP_FIELDS[name as CountGroupName]);
        }
      });
    }
  }
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return { ...selection, groupBy };
}

/** `@Query(ParseCountsQueryPipe)`: the raw query object → CountCleanupTasksQuery, or 400. */
@Injectable()
export class ParseCountsQueryPipe implements PipeTransform<Record<string, unknown>, CountCleanupTasksQuery> {
  transform(value: Record<string, unknown>): CountCleanupTasksQuery {
    return parseCountsQuery(value ?? {});
  }
}

/** OpenAPI for the counts' query parameters. */
export function ApiCountCleanupTasksQuery() {
  return applyDecorators(
    ApiQuery({
      name: 'groupBy',
      required: true,
      description: `One or two of ${EXPECTED_GROUPS}, comma-separated: the groups are sorted by these fields in this order (byte order).`,
      style: 'form',
      explode: false,
      schema: { type: 'array', minItems: 1, maxItems: COUNT_GROUP_BY_MAX, uniqueItems: true, items: { type: 'string', enum: GROUP_NAMES } },
      example: ['status', 'resource_type'],
    }),
    ApiIdsQuery(),
    ApiFilterQuery(),
    ApiShortcutQueries(),
  );
}
