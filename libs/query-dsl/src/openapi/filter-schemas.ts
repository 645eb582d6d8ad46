import type { EntitySpec, FieldSpec, Operator } from '../field-map';
import { DEFAULT_FILTER_LIMITS } from '../filter/parse-filter';
import { ORDER_DIRECTIONS } from '../order-by/order-by';

/** An OpenAPI 3.0 schema object (plain JSON; no Nest types, the library knows no framework). */
export type JsonSchema = { [key: string]: unknown };

export interface FilterSchemaNames {
  /** Prefix of the entity's schemas, e.g. `CleanupTask` → `CleanupTaskFilter`, `CleanupTaskOrderBy`. */
  entity: string;
  /** Where component schemas live; default `#/components/schemas/`. */
  refPrefix?: string;
}

const OPERATOR_DOCS: Record<Operator, string> = {
  eq: 'Equal to the value. `null` is not a value: use `isNull`.',
  neq: 'Not equal to the value; true for NULL (`IS DISTINCT FROM`).',
  in: 'Equal to one of the values.',
  notIn: 'Equal to none of the values; true for NULL.',
  lt: 'Less than (strings: byte order).',
  lte: 'Less than or equal.',
  gt: 'Greater than.',
  gte: 'Greater than or equal.',
  isNull: '`true`: the field is NULL; `false`: it is not.',
  contains: 'Contains the text literally (case-sensitive; `%` and `_` match themselves).',
  startsWith: 'Starts with the text, literally.',
  endsWith: 'Ends with the text, literally.',
  like: 'SQL LIKE pattern: `%` any run, `_` one character, `\\` escapes.',
  ilike: 'Like `like`, ignoring ASCII case.',
  hasKey: 'The JSON object has this top-level key.',
};

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The operator object's schema name for a field: one per type, one per enum field. */
function operatorsSchemaName(names: FilterSchemaNames, fieldName: string, field: FieldSpec): string {
  if (field.type === 'enum') return `${names.entity}${capitalize(fieldName)}Operators`;
  return `${capitalize(field.type)}Operators`;
}

function scalarSchema(field: FieldSpec): JsonSchema {
  switch (field.type) {
    case 'string':
      return { type: 'string' };
    case 'enum':
      return { type: 'string', enum: [...field.enumValues!] };
    case 'integer':
      return { type: 'integer' };
    case 'timestamp':
      return { type: 'string', description: 'ISO 8601 date-time with an offset (e.g. `2026-11-29T10:15:30.123Z`, `2026-11-29T11:15+01:00`; seconds optional, up to 6 fraction digits), or a date alone (`2026-11-29` = UTC midnight).' };
    case 'json':
      return { type: 'object' };
  }
}

function operatorSchema(field: FieldSpec, operator: Operator): JsonSchema {
  const description = OPERATOR_DOCS[operator];
  switch (operator) {
    case 'isNull':
      return { type: 'boolean', description };
    case 'in':
    case 'notIn':
      return { type: 'array', items: scalarSchema(field), minItems: 1, maxItems: DEFAULT_FILTER_LIMITS.maxListItems, description };
    case 'contains':
      return field.type === 'json'
        ? { type: 'object', additionalProperties: true, description: 'JSON containment (`@>`): the document contains this object.' }
        : { type: 'string', description };
    case 'startsWith':
    case 'endsWith':
    case 'like':
    case 'ilike':
    case 'hasKey':
      return { type: 'string', description };
    default:
      return { ...scalarSchema(field), description: field.type === 'timestamp' ? `${description} ${String(scalarSchema(field).description)}` : description };
  }
}

/**
 * OpenAPI component schemas describing an entity's filter and orderBy, derived
 * from its field map (so the documentation cannot drift from what the parser
 * accepts): `<Entity>Filter` (recursive: AND/OR/NOT, one operator object per
 * field, relations), `<Entity><Relation>Filter` for to-many relations
 * (some/every/none), one operator-object schema per field type (per field for
 * enums), `<Entity>OrderBy` (one element of the orderBy array) and
 * `OrderDirection`.
 */
export function filterOpenApiSchemas(spec: EntitySpec, names: FilterSchemaNames): Record<string, JsonSchema> {
  const ref = (name: string) => ({ $ref: `${names.refPrefix ?? '#/components/schemas/'}${name}` });
  const filterName = `${names.entity}Filter`;
  const schemas: Record<string, JsonSchema> = {};
  const filterProperties: Record<string, JsonSchema> = {
    AND: { type: 'array', items: ref(filterName), description: 'Every filter matches (`[]`: always true).' },
    OR: { type: 'array', items: ref(filterName), description: 'At least one filter matches (`[]`: never).' },
    NOT: { ...ref(filterName) },
  };

  for (const [fieldName, field] of Object.entries(spec.fields)) {
    const name = operatorsSchemaName(names, fieldName, field);
    if (!schemas[name]) {
      const properties = Object.fromEntries(field.operators.map((operator) => [operator, operatorSchema(field, operator)]));
      schemas[name] = {
        type: 'object',
        description: `Operators on a ${field.type === 'enum' ? `\`${fieldName}\`` : field.type} field; several are ANDed.`,
        properties,
        additionalProperties: false,
      };
    }
    filterProperties[fieldName] = ref(name);
  }
  for (const [relationName, relation] of Object.entries(spec.relations)) {
    if (relation.kind === 'to-one') {
      filterProperties[relationName] = { ...ref(filterName) };
      continue;
    }
    const quantifiersName = `${names.entity}${capitalize(relationName)}Filter`;
    schemas[quantifiersName] = {
      type: 'object',
      description: `Quantifiers over the \`${relationName}\` (only those the caller may see); several are ANDed.`,
      properties: {
        some: { ...ref(filterName) },
        every: { ...ref(filterName) },
        none: { ...ref(filterName) },
      },
      additionalProperties: false,
    };
    filterProperties[relationName] = ref(quantifiersName);
  }

  const relationDocs = Object.entries(spec.relations)
    .map(([relationName, relation]) =>
      relation.kind === 'to-one'
        ? `\`${relationName}: F\` — the related row exists and matches F`
        : `\`${relationName}: {some|every|none: F}\` — at least one / all (true without any) / none of the related rows match F`,
    )
    .join('; ');
  schemas[filterName] = {
    type: 'object',
    description:
      'A filter: keys of one object are ANDed. `AND`/`OR` take arrays of filters, `NOT` one filter (its exact complement). ' +
      `Each field takes an object of operators. Relations: ${relationDocs}; relations nest. ` +
      'A comparison on a NULL field is false, except `neq` and `notIn`, which are true for NULL. ' +
      `Limits: nesting depth ≤ ${DEFAULT_FILTER_LIMITS.maxDepth}, ≤ ${DEFAULT_FILTER_LIMITS.maxNodes} nodes, ` +
      `≤ ${DEFAULT_FILTER_LIMITS.maxBytes / 1024} KiB of JSON.`,
    properties: filterProperties,
    additionalProperties: false,
  };

  schemas.OrderDirection = {
    type: 'string',
    enum: [...ORDER_DIRECTIONS],
    description: 'Plain `asc` puts NULLs last, plain `desc` first (PostgreSQL\'s default); the `_nulls_` variants say where explicitly.',
  };
  const sortable = Object.keys(spec.fields).filter((fieldName) => spec.fields[fieldName].sortable);
  schemas[`${names.entity}OrderBy`] = {
    type: 'object',
    description: `One sort key: exactly one field and its direction. \`${spec.idField}\` (asc) is appended as the final tie-breaker unless present.`,
    properties: Object.fromEntries(sortable.map((fieldName) => [fieldName, ref('OrderDirection')])),
    minProperties: 1,
    maxProperties: 1,
    additionalProperties: false,
  };
  return schemas;
}
