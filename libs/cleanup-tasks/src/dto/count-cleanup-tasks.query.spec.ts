import { describe, expect, it } from '@jest/globals';
import { ValidationFailedError } from '@app/common';
import { parseCountsQuery } from './count-cleanup-tasks.query';

const ID = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV';

function errorsOf(raw: Record<string, unknown>) {
  try {
    parseCountsQuery(raw);
  } catch (error) {
    if (error instanceof ValidationFailedError) return error.errors;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('parseCountsQuery', () => {
  it('takes groupBy (wire names → task fields, in order) and the selection of the list', () => {
    expect(parseCountsQuery({ groupBy: 'workspace_id,status' })).toEqual({ groupBy: ['workspaceId', 'status'] });
    expect(parseCountsQuery({ groupBy: 'resource_type', ids: `${ID},${ID}`, filter: '{}', status: 'failed', resource_type: 'delete_app', workspace_id: 'ws', parent_id: ID, source_event_id: 'e' })).toEqual({
      groupBy: ['resourceType'], ids: [ID], filter: '{}', status: 'failed', resourceType: 'delete_app', workspaceId: 'ws', parentId: ID, sourceEventId: 'e',
    });
  });

  it('requires one or two distinct known fields', () => {
    expect(errorsOf({})).toEqual([{ path: 'groupBy', message: expect.stringContaining('required') }]);
    expect(errorsOf({ groupBy: 'status,Status,' })).toEqual([{ path: 'groupBy', message: 'at most 2 fields (got 3)' }]);
    expect(errorsOf({ groupBy: 'status,nope' })).toEqual([{ path: 'groupBy[1]', message: 'expected status, resource_type or workspace_id' }]);
    expect(errorsOf({ groupBy: 'workspace_id,workspace_id' })).toEqual([{ path: 'groupBy[1]', message: 'workspace_id is already grouped by at groupBy[0]' }]);
    expect(errorsOf({ groupBy: ['status', 'status'] })).toEqual([{ path: 'groupBy', message: expect.stringContaining('more than once') }]);
  });

  it('names the paging and order parameters it does not take, with every other problem', () => {
    expect(errorsOf({ groupBy: 'status', limit: '5', orderBy: '[]', status: 'done', x: '1' })).toEqual([
      { path: 'limit', message: expect.stringContaining('not taken by counts') },
      { path: 'orderBy', message: expect.stringContaining('not taken by counts') },
      { path: 'x', message: expect.stringContaining('unknown query parameter') },
      { path: 'status', message: expect.stringContaining('expected one of') },
    ]);
  });
});
