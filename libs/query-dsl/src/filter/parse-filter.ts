import { jsonValueProblem, storableTextProblem } from '@app/common/validation/storable';
import { QueryDslError, type QueryDslIssue } from '../errors';
import { ALL_OPERATORS, type EntitySpec, type FieldSpec, type Operator, type ScalarValue } from '../field-map';
import { parseTimestamp } from '../timestamp';
import type { ConditionNode, FilterNode, JsonObject, RelationNode } from './filter-ast';

export interface FilterLimits {
  /** Deepest nesting of filter objects; the root filter is depth 1. */
  maxDepth: number;
  /** Most nodes: every filter object plus every `field: {operator: value}` entry. */
  maxNodes: number;
  /** Longest filter JSON text, in UTF-8 bytes (`parseFilterJson` only). */
  maxBytes: number;
  /** Most items in an `in` / `notIn` list. */
  maxListItems: number;
}

/** The contract's limits: depth ≤ 8, ≤ 200 nodes, ≤ 16 KiB, lists ≤ 100. */
export const DEFAULT_FILTER_LIMITS: Readonly<FilterLimits> = Object.freeze({
  maxDepth: 8,
  maxNodes: 200,
  maxBytes: 16 * 1024,
  maxListItems: 100,
});

/** More problems than this are not worth reporting one by one. */
const MAX_REPORTED_ERRORS = 50;

const TO_MANY_QUANTIFIERS = ['some', 'every', 'none'] as const;

/**
 * Parses the filter's raw JSON text (a query parameter): enforces the byte
 * limit first, then JSON syntax (both reported at `path`, default `filter`),
 * then everything `parseFilter` checks.
 */
export function parseFilterJson(
  raw: string,
  spec: EntitySpec,
  limits: FilterLimits = DEFAULT_FILTER_LIMITS,
  path = 'filter',
): FilterNode {
  const bytes = Buffer.byteLength(raw, 'utf8');
  if (bytes > limits.maxBytes) throw QueryDslError.at(path, `filter JSON is longer than ${limits.maxBytes} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw QueryDslError.at(path, 'malformed JSON');
  }
  return parseFilter(json, spec, limits, path);
}

/**
 * Validates a parsed filter against the field map and returns its AST, or
 * throws `QueryDslError` listing every problem with its path (up to 50); a
 * broken limit (depth, nodes) is reported alone, at once.
 *
 * Semantics chosen where the contract is silent:
 * - Keys of one object are ANDed; `{}` (also `{"attempts": {}}` and
 *   `{"children": {}}`) is an empty AND, i.e. matches everything.
 * - `AND: []` is TRUE and `OR: []` is FALSE (the identities of AND and OR).
 * - `NOT` takes one filter object (not an array).
 * - Keys `__proto__`, `constructor`, `prototype` are unknown fields like any
 *   other; lookups use own properties only, so nothing is polluted.
 * - The AST lists an object's keys (and a field's operators) sorted, so two
 *   filters differing only in key order give the same AST, SQL and cursor
 *   fingerprint.
 * - Depth: the root filter is level 1; each AND/OR item, NOT, `parent` value
 *   and `children.<quantifier>` value is one level deeper. Nodes: every
 *   filter object (root included) plus every key of a field's operator object.
 */
export function parseFilter(
  json: unknown,
  spec: EntitySpec,
  limits: FilterLimits = DEFAULT_FILTER_LIMITS,
  path = 'filter',
): FilterNode {
  const parser = new FilterParser(spec, limits);
  let node: FilterNode;
  try {
    node = parser.parseFilterObject(json, path, 1);
  } catch (error) {
    if (error instanceof TooManyErrors) throw new QueryDslError(parser.errors);
    throw error;
  }
  if (parser.errors.length > 0) throw new QueryDslError(parser.errors);
  return node;
}

class TooManyErrors extends Error {}

/** `filter.a` for identifier-like keys, `filter["a b"]` for the rest. */
function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A LIKE pattern may not end in an unfinished escape (PostgreSQL raises an error). */
function likePatternProblem(pattern: string): string | undefined {
  const trailing = /\\+$/.exec(pattern)?.[0].length ?? 0;
  return trailing % 2 === 1 ? 'LIKE pattern must not end with the escape character \\' : undefined;
}

function byKey<T>(entries: [string, T][]): T[] {
  return entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, node]) => node);
}

function conjunction(items: FilterNode[]): FilterNode {
  return items.length === 1 ? items[0] : { kind: 'and', items };
}

class FilterParser {
  readonly errors: QueryDslIssue[] = [];
  private nodes = 0;

  constructor(
    private readonly spec: EntitySpec,
    private readonly limits: FilterLimits,
  ) {}

  /** Records a problem; returns `undefined` so callers can `return this.fail(…)`. */
  private fail(path: string, message: string): undefined {
    this.errors.push({ path, message });
    if (this.errors.length >= MAX_REPORTED_ERRORS) throw new TooManyErrors();
    return undefined;
  }

  private countNode(): void {
    this.nodes += 1;
    if (this.nodes > this.limits.maxNodes) {
      throw QueryDslError.at('filter', `filter has more than ${this.limits.maxNodes} nodes`);
    }
  }

  parseFilterObject(value: unknown, path: string, depth: number): FilterNode {
    if (depth > this.limits.maxDepth) {
      throw QueryDslError.at(path, `filter is nested deeper than ${this.limits.maxDepth} levels`);
    }
    this.countNode();
    if (!isPlainObject(value)) {
      this.fail(path, 'expected object');
      return { kind: 'and', items: [] };
    }
    const parts: [string, FilterNode][] = [];
    for (const key of Object.keys(value)) {
      const item = value[key];
      const itemPath = childPath(path, key);
      if (key === 'AND' || key === 'OR') {
        if (!Array.isArray(item)) {
          this.fail(itemPath, 'expected array');
          continue;
        }
        const items = item.map((element, i) => this.parseFilterObject(element, `${itemPath}[${i}]`, depth + 1));
        parts.push([key, key === 'AND' ? { kind: 'and', items } : { kind: 'or', items }]);
      } else if (key === 'NOT') {
        parts.push([key, { kind: 'not', item: this.parseFilterObject(item, itemPath, depth + 1) }]);
      } else if (Object.hasOwn(this.spec.relations, key)) {
        parts.push([key, this.parseRelation(key, item, itemPath, depth)]);
      } else if (Object.hasOwn(this.spec.fields, key)) {
        parts.push([key, this.parseField(key, this.spec.fields[key], item, itemPath)]);
      } else {
        this.fail(itemPath, 'unknown field');
      }
    }
    return conjunction(byKey(parts));
  }

  private parseRelation(name: string, value: unknown, path: string, depth: number): FilterNode {
    const relation = this.spec.relations[name];
    if (relation.kind === 'to-one') {
      const filter = this.parseFilterObject(value, path, depth + 1);
      const node: RelationNode = { kind: 'relation', relation: name, quantifier: 'is', filter };
      return node;
    }
    if (!isPlainObject(value)) {
      this.fail(path, 'expected object with some, every or none');
      return { kind: 'and', items: [] };
    }
    const parts: [string, FilterNode][] = [];
    for (const key of Object.keys(value)) {
      const quantifier = TO_MANY_QUANTIFIERS.find((q) => q === key);
      if (!quantifier) {
        this.fail(childPath(path, key), 'unknown quantifier (expected some, every or none)');
        continue;
      }
      const filter = this.parseFilterObject(value[key], childPath(path, key), depth + 1);
      parts.push([key, { kind: 'relation', relation: name, quantifier, filter }]);
    }
    return conjunction(byKey(parts));
  }

  private parseField(name: string, field: FieldSpec, value: unknown, path: string): FilterNode {
    if (!isPlainObject(value)) {
      this.fail(path, 'expected object of operators');
      return { kind: 'and', items: [] };
    }
    const parts: [string, FilterNode][] = [];
    for (const key of Object.keys(value)) {
      this.countNode();
      const opPath = childPath(path, key);
      const operator = ALL_OPERATORS.find((op) => op === key);
      if (!operator) {
        this.fail(opPath, 'unknown operator');
        continue;
      }
      if (!field.operators.includes(operator)) {
        this.fail(opPath, `operator not allowed for this field (allowed: ${field.operators.join(', ')})`);
        continue;
      }
      const parsed = this.parseOperand(field, operator, value[key], opPath);
      if (parsed !== undefined) {
        const node: ConditionNode = { kind: 'condition', field: name, operator, value: parsed };
        parts.push([key, node]);
      }
    }
    return conjunction(byKey(parts));
  }

  private parseOperand(field: FieldSpec, operator: Operator, value: unknown, path: string): ConditionNode['value'] | undefined {
    switch (operator) {
      case 'isNull':
        if (typeof value !== 'boolean') return this.fail(path, 'expected boolean');
        return value;
      case 'eq':
      case 'neq':
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte':
        return this.parseScalar(field, value, path);
      case 'in':
      case 'notIn': {
        if (!Array.isArray(value) || value.length === 0) return this.fail(path, 'expected non-empty array');
        if (value.length > this.limits.maxListItems) {
          return this.fail(path, `expected at most ${this.limits.maxListItems} items`);
        }
        const items = value.map((item, i) => this.parseScalar(field, item, `${path}[${i}]`));
        return items.every((item) => item !== undefined) ? (items as ScalarValue[]) : undefined;
      }
      case 'contains':
        if (field.type === 'json') {
          if (!isPlainObject(value)) return this.fail(path, 'expected JSON object');
          // The value goes to PostgreSQL as jsonb, and into the cursor fingerprint.
          const problem = jsonValueProblem(value);
          if (problem) return this.fail(`${path}${problem.path}`, problem.message);
          return value as JsonObject;
        }
        return this.parseText(value, path);
      case 'startsWith':
      case 'endsWith':
      case 'hasKey':
        return this.parseText(value, path);
      case 'like':
      case 'ilike': {
        const text = this.parseText(value, path);
        if (text === undefined) return undefined;
        const problem = likePatternProblem(text);
        return problem ? this.fail(path, problem) : text;
      }
    }
  }

  parseScalarOperand(field: FieldSpec, value: unknown, path: string): ScalarValue | undefined {
    return this.parseScalar(field, value, path);
  }

  private parseText(value: unknown, path: string): string | undefined {
    if (typeof value !== 'string') return this.fail(path, 'expected string');
    const problem = storableTextProblem(value);
    return problem ? this.fail(path, problem) : value;
  }

  private parseScalar(field: FieldSpec, value: unknown, path: string): ScalarValue | undefined {
    if (value === null) return this.fail(path, 'null is not allowed here, use isNull');
    let parsed: ScalarValue | undefined;
    switch (field.type) {
      case 'string':
        parsed = this.parseText(value, path);
        break;
      case 'enum':
        if (typeof value !== 'string' || !field.enumValues!.includes(value)) {
          return this.fail(path, `expected one of ${field.enumValues!.join(', ')}`);
        }
        parsed = value;
        break;
      case 'integer':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) return this.fail(path, 'expected integer');
        parsed = value === 0 ? 0 : value; // -0 → 0
        break;
      case 'timestamp': {
        const timestamp = typeof value === 'string' ? parseTimestamp(value) : undefined;
        if (!timestamp) {
          return this.fail(path, 'expected an ISO 8601 date-time with an offset (e.g. 2024-05-01T12:00:00.000Z, 2024-05-01T14:00+02:00) or a date (2024-05-01, UTC midnight)');
        }
        parsed = timestamp.canonical;
        break;
      }
      case 'json':
        return this.fail(path, 'operator not allowed for this field');
    }
    if (parsed === undefined) return undefined;
    const problem = field.validate?.(parsed);
    return problem ? this.fail(path, problem) : parsed;
  }
}

/**
 * A query-string equality shortcut (`?status=failed`) as a condition:
 * validated like an `eq` operand (enum values, `^-?\d+$` safe integers,
 * timestamps); errors at `path` (e.g. `status`).
 */
export function parseEqualityShortcut(spec: EntitySpec, fieldName: string, raw: string, path: string): ConditionNode {
  const field = Object.hasOwn(spec.fields, fieldName) ? spec.fields[fieldName] : undefined;
  if (!field || field.type === 'json') throw new Error(`no equality shortcut for ${fieldName}`);
  let value: unknown = raw;
  if (field.type === 'integer') value = /^-?\d+$/.test(raw) ? Number(raw) : raw;
  const parser = new FilterParser(spec, DEFAULT_FILTER_LIMITS);
  const parsed = parser.parseScalarOperand(field, value, path);
  if (parser.errors.length > 0 || parsed === undefined) throw new QueryDslError(parser.errors);
  return { kind: 'condition', field: fieldName, operator: 'eq', value: parsed };
}
