import { describe, expect, it } from '@jest/globals';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import { filterOpenApiSchemas } from './filter-schemas';

describe('filterOpenApiSchemas', () => {
  const sut = filterOpenApiSchemas(SAMPLE_SPEC, { entity: 'Item' });

  it('describes the filter object: logic keys, every field by its operator schema, relations', () => {
    const filter = sut.ItemFilter as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(filter.properties)).toEqual(['AND', 'OR', 'NOT', ...Object.keys(SAMPLE_SPEC.fields), 'parent', 'children']);
    expect(filter.additionalProperties).toBe(false);
    expect(filter.properties.NOT).toEqual({ $ref: '#/components/schemas/ItemFilter' });
    expect(filter.properties.size).toEqual({ $ref: '#/components/schemas/IntegerOperators' });
    expect(filter.properties.kind).toEqual({ $ref: '#/components/schemas/ItemKindOperators' });
    expect(filter.properties.parent).toEqual({ $ref: '#/components/schemas/ItemFilter' });
    expect(filter.properties.children).toEqual({ $ref: '#/components/schemas/ItemChildrenFilter' });
    expect(Object.keys((sut.ItemChildrenFilter as { properties: object }).properties)).toEqual(['some', 'every', 'none']);
  });

  it('lists exactly the operators each field takes, with typed values', () => {
    const operators = (name: string) => (sut[name] as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(Object.keys(operators('StringOperators'))).toEqual(SAMPLE_SPEC.fields.name.operators);
    expect(Object.keys(operators('JsonOperators'))).toEqual(['contains', 'hasKey', 'isNull']);
    expect(operators('JsonOperators').contains).toMatchObject({ type: 'object' });
    expect(operators('StringOperators').contains).toMatchObject({ type: 'string' });
    expect(operators('ItemKindOperators').in).toMatchObject({ type: 'array', items: { type: 'string', enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 100 });
    expect(operators('IntegerOperators').gt).toMatchObject({ type: 'integer' });
    expect(operators('TimestampOperators').isNull).toMatchObject({ type: 'boolean' });
  });

  it('describes one orderBy element: exactly one sortable field (json excluded) and a direction', () => {
    const orderBy = sut.ItemOrderBy as { properties: Record<string, unknown>; minProperties: number; maxProperties: number };
    expect(Object.keys(orderBy.properties)).not.toContain('data');
    expect(orderBy.properties.createdAt).toEqual({ $ref: '#/components/schemas/OrderDirection' });
    expect([orderBy.minProperties, orderBy.maxProperties]).toEqual([1, 1]);
    expect(sut.OrderDirection).toMatchObject({ enum: ['asc', 'desc', 'asc_nulls_first', 'asc_nulls_last', 'desc_nulls_first', 'desc_nulls_last'] });
  });
});
