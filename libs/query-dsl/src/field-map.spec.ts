import { describe, expect, it } from '@jest/globals';
import { OPERATORS_BY_TYPE, defineEntitySpec, defineField } from './field-map';

describe('defineField', () => {
  it('derives operators and sortability from the type', () => {
    const sut = defineField({ column: 'c', type: 'enum', enumValues: ['x'] });
    expect(sut).toEqual({ column: 'c', type: 'enum', nullable: false, enumValues: ['x'], sortable: true, operators: OPERATORS_BY_TYPE.enum });
    expect(defineField({ column: 'j', type: 'json' }).sortable).toBe(false);
  });

  it('matches the contract table of operators per type', () => {
    expect(OPERATORS_BY_TYPE).toEqual({
      string: ['eq', 'neq', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull', 'contains', 'startsWith', 'endsWith', 'like', 'ilike'],
      enum: ['eq', 'neq', 'in', 'notIn', 'isNull'],
      integer: ['eq', 'neq', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'],
      timestamp: ['eq', 'neq', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'],
      json: ['contains', 'hasKey', 'isNull'],
    });
  });

  it('rejects operators the type does not take, enums without values and sortable json', () => {
    expect(() => defineField({ column: 'c', type: 'integer', operators: ['like'] })).toThrow('does not apply');
    expect(() => defineField({ column: 'c', type: 'enum' })).toThrow('needs enumValues');
    expect(() => defineField({ column: 'c', type: 'json', sortable: true })).toThrow('cannot be sortable');
  });
});

describe('defineEntitySpec', () => {
  const id = defineField({ column: 'id', type: 'string' });

  it('rejects reserved names, a bad id field and dangling relations', () => {
    expect(() => defineEntitySpec({ table: 't', idField: 'id', fields: { id, AND: id } })).toThrow('AND is reserved');
    expect(() => defineEntitySpec({ table: 't', idField: 'id', fields: { id: defineField({ column: 'id', type: 'string', nullable: true }) } })).toThrow('idField');
    expect(() => defineEntitySpec({ table: 't', idField: 'nope', fields: { id } })).toThrow('idField');
    expect(() =>
      defineEntitySpec({ table: 't', idField: 'id', fields: { id }, relations: { parent: { kind: 'to-one', sourceField: 'pid', targetField: 'id' } } }),
    ).toThrow('unknown field');
    expect(() =>
      defineEntitySpec({ table: 't', idField: 'id', fields: { id }, relations: { id: { kind: 'to-one', sourceField: 'id', targetField: 'id' } } }),
    ).toThrow('both a field and a relation');
  });

  it('gives the maps no prototype, so inherited names are not fields', () => {
    const sut = defineEntitySpec({ table: 't', idField: 'id', fields: { id } });
    expect(sut.fields['constructor']).toBeUndefined();
    expect(sut.relations['toString']).toBeUndefined();
  });
});
