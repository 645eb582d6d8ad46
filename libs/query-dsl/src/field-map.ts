/**
 * The field map: what an entity exposes to the DSL. The library knows no
 * entity; a feature library describes its table with `defineEntitySpec` and
 * everything else (parsing, SQL, cursors, the reference evaluator) reads it.
 */

export type FieldType = 'string' | 'enum' | 'integer' | 'timestamp' | 'json';

export type Operator =
  | 'eq'
  | 'neq'
  | 'in'
  | 'notIn'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'isNull'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'like'
  | 'ilike'
  | 'hasKey';

export const ALL_OPERATORS: readonly Operator[] = [
  'eq', 'neq', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull',
  'contains', 'startsWith', 'endsWith', 'like', 'ilike', 'hasKey',
];

/**
 * Operators each field type takes (the contract's operator table). `contains`
 * means literal substring on strings and JSON containment (`@>`) on json.
 */
export const OPERATORS_BY_TYPE: Readonly<Record<FieldType, readonly Operator[]>> = {
  string: ['eq', 'neq', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull', 'contains', 'startsWith', 'endsWith', 'like', 'ilike'],
  enum: ['eq', 'neq', 'in', 'notIn', 'isNull'],
  integer: ['eq', 'neq', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'],
  timestamp: ['eq', 'neq', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'],
  json: ['contains', 'hasKey', 'isNull'],
};

/** A scalar filter value after validation (timestamps in normalised UTC ISO form). */
export type ScalarValue = string | number;

export interface FieldSpec {
  /** Column name in the table (unquoted). */
  readonly column: string;
  readonly type: FieldType;
  readonly nullable: boolean;
  /** Allowed values of an `enum` field, in no particular order. */
  readonly enumValues?: readonly string[];
  /** May appear in `orderBy` (never for json). */
  readonly sortable: boolean;
  /** Operators the field takes; a subset of `OPERATORS_BY_TYPE[type]`. */
  readonly operators: readonly Operator[];
  /**
   * Optional extra check of scalar values of eq/neq/in/notIn/lt/lte/gt/gte
   * (after the type check): return an error message or `undefined`. Pattern
   * operators are not checked. Note that id-like fields deliberately do NOT
   * check their format in filters: any string is simply compared.
   */
  readonly validate?: (value: ScalarValue) => string | undefined;
}

/**
 * A relation of an entity to itself (the only kind needed so far; the
 * translator and the scope apply the same spec on both ends).
 * `to-one`: the related row is the one whose `targetField` equals this row's
 * `sourceField` (parent: parentId → id). `to-many`: the related rows are those
 * whose `targetField` equals this row's `sourceField` (children: id → parentId).
 * Both fields must be in the field map.
 */
export interface RelationSpec {
  readonly kind: 'to-one' | 'to-many';
  readonly sourceField: string;
  readonly targetField: string;
}

export interface EntitySpec {
  /** Table name (unquoted; quoted in SQL). */
  readonly table: string;
  /** The unique, non-null tie-breaker field, appended to every orderBy. */
  readonly idField: string;
  readonly fields: Readonly<Record<string, FieldSpec>>;
  readonly relations: Readonly<Record<string, RelationSpec>>;
}

export interface FieldOptions {
  column: string;
  type: FieldType;
  nullable?: boolean;
  enumValues?: readonly string[];
  /** Defaults to `true`, `false` for json (json cannot be sorted). */
  sortable?: boolean;
  /** Defaults to every operator of the type. */
  operators?: readonly Operator[];
  validate?: (value: ScalarValue) => string | undefined;
}

/** Keys with a meaning of their own in a filter object; no field or relation may use them. */
export const RESERVED_KEYS: readonly string[] = ['AND', 'OR', 'NOT', '__proto__', 'constructor', 'prototype'];

/** Builds one field spec, deriving its operators from its type. */
export function defineField(options: FieldOptions): FieldSpec {
  const allowed = OPERATORS_BY_TYPE[options.type];
  const operators = options.operators ?? allowed;
  for (const op of operators) {
    if (!allowed.includes(op)) throw new Error(`operator ${op} does not apply to ${options.type} field ${options.column}`);
  }
  if (options.type === 'enum' && !(options.enumValues && options.enumValues.length > 0)) {
    throw new Error(`enum field ${options.column} needs enumValues`);
  }
  if (options.type === 'json' && options.sortable) throw new Error(`json field ${options.column} cannot be sortable`);
  return Object.freeze({
    column: options.column,
    type: options.type,
    nullable: options.nullable ?? false,
    ...(options.enumValues ? { enumValues: Object.freeze([...options.enumValues]) } : {}),
    sortable: options.sortable ?? options.type !== 'json',
    operators: Object.freeze([...operators]),
    ...(options.validate ? { validate: options.validate } : {}),
  });
}

/**
 * Builds and checks an entity spec: the id field exists, is non-null,
 * sortable and not json; relation fields exist; no reserved key is used.
 * Field and relation maps get a null prototype, so `fields['constructor']`
 * is never an inherited property.
 */
export function defineEntitySpec(spec: {
  table: string;
  idField: string;
  fields: Record<string, FieldSpec>;
  relations?: Record<string, RelationSpec>;
}): EntitySpec {
  const fields = Object.assign(Object.create(null) as Record<string, FieldSpec>, spec.fields);
  const relations = Object.assign(Object.create(null) as Record<string, RelationSpec>, spec.relations ?? {});
  for (const name of [...Object.keys(fields), ...Object.keys(relations)]) {
    if (RESERVED_KEYS.includes(name)) throw new Error(`${name} is reserved in filters`);
  }
  for (const name of Object.keys(relations)) {
    if (Object.hasOwn(fields, name)) throw new Error(`${name} is both a field and a relation`);
    const relation = relations[name];
    if (!Object.hasOwn(fields, relation.sourceField) || !Object.hasOwn(fields, relation.targetField)) {
      throw new Error(`relation ${name} refers to an unknown field`);
    }
  }
  const id = fields[spec.idField];
  if (!id || id.nullable || !id.sortable || id.type === 'json') {
    throw new Error(`idField ${spec.idField} must be a non-null, sortable, non-json field`);
  }
  return Object.freeze({ table: spec.table, idField: spec.idField, fields: Object.freeze(fields), relations: Object.freeze(relations) });
}
