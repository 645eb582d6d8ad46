import { applyDecorators, Injectable, type PipeTransform } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { ValidationFailedError } from '@app/common';
import {
  ApiFilterQuery,
  ApiIdsQuery,
  ApiOrderByQuery,
  ApiShortcutQueries,
  SELECTION_QUERY_PARAMETERS,
  nonEmptyParameter,
  parseSelection,
  readQueryParameters,
  type TaskSelectionQuery,
} from './list-cleanup-tasks.query';

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_QUERY_PARAMETERS = ['format', 'orderBy', ...SELECTION_QUERY_PARAMETERS] as const;

const NO_PAGING = 'not taken by the export: it sends every matching task, in one response';
/** The list's paging parameters: named in the 400 rather than called unknown. */
const REFUSED = { limit: NO_PAGING, after: NO_PAGING, before: NO_PAGING } as const;

/** `GET /api/cleanup-tasks/export`: the selection, its order (raw JSON text) and the format. */
export interface ExportCleanupTasksQuery extends TaskSelectionQuery {
  format: ExportFormat;
  orderBy?: string;
}

/**
 * Checks the export's query and collects every problem before answering 400:
 * the selection and `orderBy` as for the list, `limit`/`after`/`before`
 * refused by name, `format` one of EXPORT_FORMATS (default `ndjson`).
 */
export function parseExportQuery(raw: Record<string, unknown>): ExportCleanupTasksQuery {
  const read = readQueryParameters(raw, EXPORT_QUERY_PARAMETERS, REFUSED);
  const query: ExportCleanupTasksQuery = { format: 'ndjson', ...parseSelection(read) };
  const format = read.values.get('format');
  if (format !== undefined) {
    if ((EXPORT_FORMATS as readonly string[]).includes(format)) query.format = format as ExportFormat;
    else read.errors.push({ path: 'format', message: `expected one of ${EXPORT_FORMATS.join(', ')}` });
  }
  const orderBy = nonEmptyParameter(read, 'orderBy');
  if (orderBy !== undefined) query.orderBy = orderBy;
  if (read.errors.length > 0) throw new ValidationFailedError(read.errors);
  return query;
}

/** `@Query(ParseExportQueryPipe)`: the raw query object → ExportCleanupTasksQuery, or 400. */
@Injectable()
export class ParseExportQueryPipe implements PipeTransform<Record<string, unknown>, ExportCleanupTasksQuery> {
  transform(value: Record<string, unknown>): ExportCleanupTasksQuery {
    return parseExportQuery(value ?? {});
  }
}

/** OpenAPI for the export's query parameters. */
export function ApiExportCleanupTasksQuery() {
  return applyDecorators(
    ApiQuery({
      name: 'format',
      required: false,
      description: '`ndjson`: one task JSON per line (`application/x-ndjson`); `csv`: RFC 4180 with a header row (`text/csv`).',
      schema: { type: 'string', enum: [...EXPORT_FORMATS], default: 'ndjson' },
    }),
    ApiIdsQuery(),
    ApiFilterQuery(),
    ApiOrderByQuery(),
    ApiShortcutQueries(),
  );
}
