import { describe, expect, it } from '@jest/globals';
import { ValidationFailedError } from '@app/common';
import { parseExportQuery } from './export-cleanup-tasks.query';

function errorsOf(raw: Record<string, unknown>) {
  try {
    parseExportQuery(raw);
  } catch (error) {
    if (error instanceof ValidationFailedError) return error.errors;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('parseExportQuery', () => {
  it('defaults to NDJSON and takes orderBy and the selection of the list', () => {
    expect(parseExportQuery({})).toEqual({ format: 'ndjson' });
    expect(parseExportQuery({ format: 'csv', orderBy: '[{"createdAt":"desc"}]', filter: '{}', workspace_id: 'ws' })).toEqual({
      format: 'csv', orderBy: '[{"createdAt":"desc"}]', filter: '{}', workspaceId: 'ws',
    });
  });

  it('names the paging parameters it does not take, an unknown format and an empty orderBy', () => {
    expect(errorsOf({ limit: '5', after: 'a', before: 'b', format: 'CSV', orderBy: '' })).toEqual([
      { path: 'limit', message: 'not taken by the export: it sends every matching task, in one response' },
      { path: 'after', message: 'not taken by the export: it sends every matching task, in one response' },
      { path: 'before', message: 'not taken by the export: it sends every matching task, in one response' },
      { path: 'format', message: 'expected one of ndjson, csv' },
      { path: 'orderBy', message: 'must not be empty' },
    ]);
  });
});
