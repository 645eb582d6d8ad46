import type { Operator, ScalarValue } from '../field-map';

/** A JSON object value (`metadata.contains`). */
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/**
 * The validated filter. Every value is already checked against its field:
 * enums are in the enum, integers are safe integers, timestamps are
 * normalised UTC ISO strings (see `timestamp.ts`), lists are non-empty.
 */
export type FilterNode = AndNode | OrNode | NotNode | ConditionNode | RelationNode;

/** All items hold; `items: []` is TRUE (also what `{}` parses to). */
export interface AndNode {
  kind: 'and';
  items: FilterNode[];
}

/** Some item holds; `items: []` is FALSE. */
export interface OrNode {
  kind: 'or';
  items: FilterNode[];
}

export interface NotNode {
  kind: 'not';
  item: FilterNode;
}

/**
 * `eq|neq|lt|lte|gt|gte`: a scalar; `in|notIn`: a non-empty scalar list;
 * `isNull`: boolean; `contains|startsWith|endsWith|like|ilike|hasKey`: string,
 * except json `contains`: a JSON object.
 */
export interface ConditionNode {
  kind: 'condition';
  field: string;
  operator: Operator;
  value: ScalarValue | boolean | ScalarValue[] | JsonObject;
}

/**
 * `is`: the to-one related row exists (in scope) and matches. `some` / `every`
 * / `none`: of the to-many related rows (in scope), at least one / all / none
 * match; `every` is vacuously true without related rows.
 */
export interface RelationNode {
  kind: 'relation';
  relation: string;
  quantifier: 'is' | 'some' | 'every' | 'none';
  filter: FilterNode;
}

/** Builders for programmatic conditions (ids, equality shortcuts) ANDed with the user's filter. */
export const filterNodes = {
  and: (items: FilterNode[]): AndNode => ({ kind: 'and', items }),
  or: (items: FilterNode[]): OrNode => ({ kind: 'or', items }),
  not: (item: FilterNode): NotNode => ({ kind: 'not', item }),
  eq: (field: string, value: ScalarValue): ConditionNode => ({ kind: 'condition', field, operator: 'eq', value }),
  in: (field: string, values: ScalarValue[]): ConditionNode => ({ kind: 'condition', field, operator: 'in', value: values }),
};
