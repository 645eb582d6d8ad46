import { defineEntitySpec, defineField } from '../field-map';

/**
 * A made-up self-referencing entity for the library's own tests: every field
 * type, each both non-nullable and nullable, plus parent/children relations.
 * (The library knows no real entity; cleanup tasks bring their own map.)
 */
export const SAMPLE_SPEC = defineEntitySpec({
  table: 'items',
  idField: 'id',
  fields: {
    id: defineField({ column: 'id', type: 'string' }),
    parentId: defineField({ column: 'parent_id', type: 'string', nullable: true }),
    name: defineField({ column: 'name', type: 'string' }),
    note: defineField({ column: 'note', type: 'string', nullable: true }),
    kind: defineField({ column: 'kind', type: 'enum', enumValues: ['a', 'b', 'c'] }),
    phase: defineField({ column: 'phase', type: 'enum', enumValues: ['x', 'y'], nullable: true }),
    size: defineField({ column: 'size', type: 'integer' }),
    rank: defineField({ column: 'rank', type: 'integer', nullable: true }),
    createdAt: defineField({ column: 'created_at', type: 'timestamp' }),
    doneAt: defineField({ column: 'done_at', type: 'timestamp', nullable: true }),
    data: defineField({ column: 'data', type: 'json' }),
    extra: defineField({ column: 'extra', type: 'json', nullable: true }),
  },
  relations: {
    parent: { kind: 'to-one', sourceField: 'parentId', targetField: 'id' },
    children: { kind: 'to-many', sourceField: 'id', targetField: 'parentId' },
  },
});
