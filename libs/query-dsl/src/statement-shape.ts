import type { ConditionNode, FilterNode } from './filter/filter-ast';
import type { CursorValue } from './pagination/keyset';

/**
 * Statement shapes: one statement text for every request that differs only
 * in the values it binds.
 *
 * A list request such as `resourceId eq "app_1"` and one for `"app_2"` give
 * the same SQL and different parameters. Building that SQL with TypeORM's
 * QueryBuilder costs 20–90 µs a request; building it once per *shape* and
 * binding each request's values into it costs a look-up. The shape of a
 * request is the request with every value the statement binds replaced by a
 * `ParameterSlot` (its index in the request's `values`): the statement is
 * built from the shape, so its parameters are slots, and `compileParameters`
 * turns them into a function from any same-shaped request's values to the
 * statement's parameters.
 *
 * Correct by construction as long as a builder only *binds* a slot (as a
 * parameter, possibly inside an array or through `deriveParameter`) and
 * never reads it: the cache key (`shapeKey`) serialises everything else the
 * builder is given, so two requests with one key build the same text. A slot
 * refuses to become text (`${slot}`, `+`, JSON), so a builder that writes one
 * into SQL fails at once instead of writing a wrong statement.
 */
export class ParameterSlot {
  constructor(readonly index: number) {
    Object.freeze(this);
  }

  [Symbol.toPrimitive](): never {
    throw new Error(`parameter slot ${this.index} stands for a bound value: it has no text (bind it, or derive it with deriveParameter)`);
  }

  toJSON(): never {
    return this[Symbol.toPrimitive]();
  }
}

/** A parameter computed from a slotted value (a LIKE pattern, a JSON text): its recipe. Never a function: TypeORM would inline a function's result as SQL. */
class DerivedParameter {
  constructor(
    readonly source: unknown,
    readonly derive: (value: never) => unknown,
  ) {
    Object.freeze(this);
  }
}

/** Whether `value` is, or holds, a slot (arrays are bound as one parameter: a scope's list of ids). */
function holdsSlot(value: unknown): boolean {
  if (value instanceof ParameterSlot || value instanceof DerivedParameter) return true;
  return Array.isArray(value) && value.some(holdsSlot);
}

/**
 * The parameter `derive(value)`: computed now for a real value, and for a
 * slot recorded, to be computed from each request's own value. Builders call
 * it wherever they transform a value before binding it.
 */
export function deriveParameter<T>(value: T, derive: (value: T) => unknown): unknown {
  return holdsSlot(value) ? new DerivedParameter(value, derive as (value: never) => unknown) : derive(value);
}

/** The values of one request, collected in order while its shape is made; each becomes a slot. */
export class ShapeValues {
  readonly values: unknown[] = [];

  slot(value: unknown): ParameterSlot {
    this.values.push(value);
    return new ParameterSlot(this.values.length - 1);
  }
}

/**
 * The filter's shape: every condition's value becomes a slot (a list as one
 * slot: it is bound as one array parameter), except `isNull`'s, which the
 * translator writes as `IS NULL` / `IS NOT NULL`.
 *
 * The result is typed as a FilterNode for the translator, which only ever
 * binds condition values (`translate-filter.ts`); do not evaluate it.
 */
export function filterShape(node: FilterNode, values: ShapeValues): FilterNode {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, items: node.items.map((item) => filterShape(item, values)) };
    case 'not':
      return { kind: 'not', item: filterShape(node.item, values) };
    case 'condition':
      if (node.operator === 'isNull') return node;
      return { ...node, value: values.slot(node.value) as unknown as ConditionNode['value'] };
    case 'relation':
      return { ...node, filter: filterShape(node.filter, values) };
  }
}

/** A cursor's shape: each value a slot, except NULLs (the keyset predicate is written differently for a NULL key). */
export function cursorShape(cursor: readonly CursorValue[] | undefined, values: ShapeValues): CursorValue[] | undefined {
  return cursor?.map((value) => (value === null ? null : (values.slot(value) as unknown as CursorValue)));
}

/**
 * The cache key of a shape: its canonical text, slots written as `$n` (not
 * JSON, so no literal can read the same). Object keys in insertion order:
 * shapes are made by one function per statement, so equal shapes have
 * equal key orders; `undefined` members are left out.
 */
export function shapeKey(shape: unknown): string {
  if (shape instanceof ParameterSlot) return `$${shape.index}`;
  if (shape === null || typeof shape !== 'object') {
    if (shape === undefined || typeof shape === 'function' || typeof shape === 'symbol' || typeof shape === 'bigint') {
      throw new Error(`a statement shape holds JSON values and slots, not ${typeof shape}`);
    }
    return JSON.stringify(shape);
  }
  if (Array.isArray(shape)) return `[${shape.map(shapeKey).join(',')}]`;
  const members: string[] = [];
  for (const [key, value] of Object.entries(shape)) {
    if (value !== undefined) members.push(`${JSON.stringify(key)}:${shapeKey(value)}`);
  }
  return `{${members.join(',')}}`;
}

/** Builds one parameter of a same-shaped request from its values. */
type ParameterRecipe = (values: readonly unknown[]) => unknown;

function recipeOf(bound: unknown): ParameterRecipe {
  if (bound instanceof ParameterSlot) {
    const { index } = bound;
    return (values) => {
      if (index >= values.length) throw new Error(`the request has no value for parameter slot ${index}`);
      return values[index];
    };
  }
  if (bound instanceof DerivedParameter) {
    const source = recipeOf(bound.source);
    const derive = bound.derive as (value: unknown) => unknown;
    return (values) => derive(source(values));
  }
  if (Array.isArray(bound) && bound.some(holdsSlot)) {
    const items = bound.map(recipeOf);
    return (values) => items.map((item) => item(values));
  }
  // A constant of the shape (part of its key): the same for every request of it.
  return () => bound;
}

/**
 * From the parameters of a statement built from a shape (slots, values
 * derived from slots, arrays of slots, constants), the function that gives a
 * same-shaped request's parameters from its `ShapeValues.values`.
 */
export function compileParameters(bound: readonly unknown[]): (values: readonly unknown[]) => unknown[] {
  const recipes = bound.map(recipeOf);
  return (values) => recipes.map((recipe) => recipe(values));
}

/** How much of a budget a kept template takes (e.g. the characters of its key and SQL). */
export interface StatementCacheBudget<Template> {
  max: number;
  sizeOf: (key: string, template: Template) => number;
}

/**
 * Built statements by shape key, the most recently used kept: at most
 * `capacity` of them and, with a budget, at most `budget.max` of their
 * summed sizes (a client's every filter shape and page size is a key; a
 * flood of distinct or very large shapes costs a build each, as without the
 * cache, evicts the oldest and holds no more than the budget; a template
 * larger than the whole budget is used and not kept).
 */
export class StatementCache<Template> {
  private readonly entries = new Map<string, { template: Template; size: number }>();
  private totalSize = 0;
  private readonly counts = { hits: 0, misses: 0 };

  constructor(
    readonly capacity: number,
    private readonly budget?: StatementCacheBudget<Template>,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error('a statement cache holds at least one statement');
    if (budget && !(budget.max > 0)) throw new Error('a statement cache budget must be positive');
  }

  /** The template of `key`, built by `build` when it is not held. */
  get(key: string, build: () => Template): Template {
    const held = this.entries.get(key);
    if (held !== undefined) {
      // Most recently used last: Map iterates in insertion order.
      this.entries.delete(key);
      this.entries.set(key, held);
      this.counts.hits += 1;
      return held.template;
    }
    const template = build();
    this.counts.misses += 1;
    const size = this.budget ? this.budget.sizeOf(key, template) : 0;
    if (this.budget && size > this.budget.max) return template;
    this.entries.set(key, { template, size });
    this.totalSize += size;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.capacity && (!this.budget || this.totalSize <= this.budget.max)) break;
      this.entries.delete(oldest);
      this.totalSize -= entry.size;
    }
    return template;
  }

  /** How many templates are kept. */
  get count(): number {
    return this.entries.size;
  }

  /** The kept templates' summed sizes (0 without a budget). */
  get size(): number {
    return this.totalSize;
  }

  /** Look-ups so far that found a statement, and that built one. */
  get stats(): { hits: number; misses: number } {
    return { ...this.counts };
  }
}
