import { describe, expect, it } from '@jest/globals';
import { ValidationFailedError } from '@app/common';
import { parseListQuery } from './list-cleanup-tasks.query';

const ID_A = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV';
const ID_B = 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TW';

function errorsOf(raw: Record<string, unknown>) {
  try {
    parseListQuery(raw);
  } catch (error) {
    if (error instanceof ValidationFailedError) return error.errors;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('parseListQuery', () => {
  it('defaults limit to 100 and passes the rest through, shortcuts renamed', () => {
    expect(parseListQuery({})).toEqual({ limit: 100 });
    expect(
      parseListQuery({
        limit: '7', after: 'a', before: 'b', filter: '{}', orderBy: '[]', ids: `${ID_A},${ID_B},${ID_A}`, status: 'failed',
        resource_type: 'delete_app', workspace_id: 'ws 1', parent_id: ID_B, source_event_id: 'evt_1',
      }),
    ).toEqual({
      limit: 7, after: 'a', before: 'b', filter: '{}', orderBy: '[]', ids: [ID_A, ID_B], status: 'failed',
      resourceType: 'delete_app', workspaceId: 'ws 1', parentId: ID_B, sourceEventId: 'evt_1',
    });
  });

  it.each(['0', '101', 'abc', '1.5', '-1', '+5', ' 5', '05', '', '1e2', '1000'])('rejects limit=%j', (limit) => {
    expect(errorsOf({ limit })).toEqual([{ path: 'limit', message: 'expected an integer from 1 to 100' }]);
  });

  it('accepts limit 1 and 100', () => {
    expect(parseListQuery({ limit: '1' }).limit).toBe(1);
    expect(parseListQuery({ limit: '100' }).limit).toBe(100);
  });

  it('names unknown and repeated parameters, all at once', () => {
    expect(errorsOf({ limti: '5', limit: ['1', '2'], __proto__x: 'y' })).toEqual([
      { path: 'limti', message: expect.stringContaining('unknown query parameter') },
      { path: 'limit', message: 'given more than once; give each parameter at most once' },
      { path: '__proto__x', message: expect.stringContaining('unknown query parameter') },
    ]);
    const raw = Object.create(null) as Record<string, unknown>;
    raw['__proto__'] = 'x';
    expect(errorsOf(raw)).toEqual([{ path: '__proto__', message: expect.stringContaining('unknown') }]);
  });

  it('checks each id and the number of ids', () => {
    expect(errorsOf({ ids: `${ID_A},nope,,${ID_B.toLowerCase()}` })).toEqual([
      { path: 'ids[1]', message: expect.stringContaining('ct_') },
      { path: 'ids[2]', message: expect.stringContaining('ct_') },
      { path: 'ids[3]', message: expect.stringContaining('ct_') },
    ]);
    expect(errorsOf({ ids: '' })).toEqual([{ path: 'ids[0]', message: expect.stringContaining('ct_') }]);
    expect(errorsOf({ ids: Array.from({ length: 101 }, () => ID_A).join(',') })).toEqual([{ path: 'ids', message: 'expected at most 100 comma-separated ids' }]);
    expect(parseListQuery({ ids: Array.from({ length: 100 }, () => ID_A).join(',') }).ids).toEqual([ID_A]);
  });

  it('validates enum shortcuts, the parent id, and rejects empty values', () => {
    expect(errorsOf({ status: 'done', resource_type: 'delete_user', parent_id: 'ct_x', workspace_id: '', source_event_id: '', after: '', before: '', filter: '', orderBy: '' })).toEqual([
      { path: 'status', message: 'expected one of pending, in_progress, completed, failed' },
      { path: 'resource_type', message: 'expected one of delete_workspace, delete_app, delete_element, delete_database' },
      { path: 'parent_id', message: expect.stringContaining('ct_') },
      { path: 'workspace_id', message: 'must not be empty' },
      { path: 'source_event_id', message: 'must not be empty' },
      { path: 'filter', message: 'must not be empty' },
      { path: 'after', message: 'must not be empty' },
      { path: 'before', message: 'must not be empty' },
      { path: 'orderBy', message: 'must not be empty' },
    ]);
  });

  it('shortens a huge unknown parameter name in the error path', () => {
    const [error] = errorsOf({ ['x'.repeat(500)]: '1' });
    expect(error.path).toBe(`${'x'.repeat(64)}…`);
  });
});
