import { describe, expect, it } from '@jest/globals';
import { OPERATORS_BY_TYPE, parseFilter, parseOrderBy } from '@app/query-dsl';
import { getMetadataArgsStorage } from 'typeorm';
import { CleanupTask } from './cleanup-task.entity';
import { RESOURCE_TYPES, TASK_STATUSES } from './cleanup-task.enums';
import { CLEANUP_TASK_DEFAULT_ORDER_BY, CLEANUP_TASK_FILTER_SCHEMAS, CLEANUP_TASK_QUERY_FIELDS } from './cleanup-task.query-fields';

const sut = CLEANUP_TASK_QUERY_FIELDS;

describe('CLEANUP_TASK_QUERY_FIELDS (the list field map)', () => {
  it('exposes exactly the contract fields, with their type and nullability', () => {
    const shape = Object.fromEntries(Object.entries(sut.fields).map(([name, field]) => [name, `${field.type}${field.nullable ? '?' : ''}`]));
    expect(shape).toEqual({
      id: 'string',
      parentId: 'string?',
      workspaceId: 'string',
      sourceEventId: 'string?',
      resourceType: 'enum',
      resourceId: 'string',
      metadata: 'json',
      status: 'enum',
      attempts: 'integer',
      lastError: 'string?',
      createdAt: 'timestamp',
      completedAt: 'timestamp?',
    });
    expect(sut.idField).toBe('id');
    expect(sut.fields.status.enumValues).toEqual(TASK_STATUSES);
    expect(sut.fields.resourceType.enumValues).toEqual(RESOURCE_TYPES);
  });

  it('maps each field to the column of the same property on the entity (and nothing of the scheduler)', () => {
    const columns = Object.fromEntries(
      getMetadataArgsStorage()
        .columns.filter((column) => column.target === CleanupTask)
        .map((column) => [column.propertyName, column.options.name ?? column.propertyName]),
    );
    for (const [name, field] of Object.entries(sut.fields)) expect({ name, column: field.column }).toEqual({ name, column: columns[name] });
    for (const hidden of ['run_at', 'locked_by', 'locked_until', 'awaiting_children', 'attempts_base', 'updated_at']) {
      expect(Object.values(sut.fields).some((field) => field.column === hidden)).toBe(false);
    }
  });

  it('gives every field the operators of the contract table for its type', () => {
    for (const field of Object.values(sut.fields)) expect(field.operators).toEqual(OPERATORS_BY_TYPE[field.type]);
    expect(sut.fields.status.operators).toEqual(['eq', 'neq', 'in', 'notIn', 'isNull']);
    expect(sut.fields.metadata.operators).toEqual(['contains', 'hasKey', 'isNull']);
    expect(sut.fields.lastError.operators).toEqual(expect.arrayContaining(['like', 'ilike', 'contains', 'lt']));
  });

  it('sorts by every field but metadata; the default order is createdAt then id', () => {
    expect(Object.keys(sut.fields).filter((name) => sut.fields[name].sortable)).toEqual(Object.keys(sut.fields).filter((name) => name !== 'metadata'));
    expect(parseOrderBy(undefined, sut, { defaultOrderBy: CLEANUP_TASK_DEFAULT_ORDER_BY })).toEqual([
      { field: 'createdAt', direction: 'asc', nulls: 'last' },
      { field: 'id', direction: 'asc', nulls: 'last' },
    ]);
  });

  it('has parent (to-one) and children (to-many) relations through parentId', () => {
    expect(sut.relations).toEqual({
      parent: { kind: 'to-one', sourceField: 'parentId', targetField: 'id' },
      children: { kind: 'to-many', sourceField: 'id', targetField: 'parentId' },
    });
    expect(() => parseFilter({ children: { some: { parent: { status: { eq: 'failed' } } } } }, sut)).not.toThrow();
  });

  it('documents the filter as OpenAPI schemas generated from the same map', () => {
    expect(Object.keys(CLEANUP_TASK_FILTER_SCHEMAS)).toEqual(
      expect.arrayContaining(['CleanupTaskFilter', 'CleanupTaskChildrenFilter', 'CleanupTaskOrderBy', 'CleanupTaskStatusOperators', 'CleanupTaskResourceTypeOperators', 'StringOperators', 'IntegerOperators', 'TimestampOperators', 'JsonOperators', 'OrderDirection']),
    );
  });
});
