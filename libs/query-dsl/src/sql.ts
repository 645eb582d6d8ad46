/**
 * A piece of SQL with TypeORM-style named parameters (`:p1`). Works as is in
 * `qb.where(sql, params)`; `toPositional` turns it into `$1…` for
 * `dataSource.query(text, values)`.
 */
export interface SqlFragment {
  sql: string;
  params: Record<string, unknown>;
}

/**
 * Named parameters from a counter: `p1`, `p2`, … in the order they are added,
 * so the same input always gives the same SQL (snapshot-testable). One
 * instance per SQL statement; fragments of one statement must share it.
 *
 * Placeholders are always followed by a space, `)` or `,` and never by `::`
 * (TypeORM's parameter regex would misread `:p1::jsonb`); casts are written
 * `CAST(:p1 AS jsonb)`.
 */
export class SqlParams {
  private counter = 0;
  private readonly store: Record<string, unknown> = Object.create(null) as Record<string, unknown>;

  constructor(private readonly prefix = 'p') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) throw new Error(`invalid parameter prefix ${prefix}`);
  }

  /** Binds `value` and returns its placeholder, e.g. `:p3`. */
  add(value: unknown): string {
    this.counter += 1;
    const name = `${this.prefix}${this.counter}`;
    this.store[name] = value;
    return `:${name}`;
  }

  /** A plain-object copy of every parameter bound so far. */
  get values(): Record<string, unknown> {
    return { ...this.store };
  }
}

/** Table aliases for subqueries from a counter: `t1`, `t2`, … (the root alias is the caller's). */
export class AliasGenerator {
  private counter = 0;

  constructor(private readonly prefix = 't') {}

  next(): string {
    this.counter += 1;
    return `${this.prefix}${this.counter}`;
  }
}

/** Double-quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"alias"."column"` */
export function columnRef(alias: string, column: string): string {
  return `${quoteIdent(alias)}.${quoteIdent(column)}`;
}

/** ANDs conditions once: none → `TRUE`, one → itself, more → `(a AND b …)`. */
export function joinAnd(conditions: readonly string[]): string {
  if (conditions.length === 0) return 'TRUE';
  if (conditions.length === 1) return conditions[0];
  return `(${conditions.join(' AND ')})`;
}

/** ORs conditions once: none → `FALSE`, one → itself, more → `(a OR b …)`. */
export function joinOr(conditions: readonly string[]): string {
  if (conditions.length === 0) return 'FALSE';
  if (conditions.length === 1) return conditions[0];
  return `(${conditions.join(' OR ')})`;
}

/**
 * Converts named placeholders (`:p1`, `:...p2`) to PostgreSQL positional ones
 * (`$1`) for a hand-written statement. Only names present in `params` are
 * replaced (so `::casts` and other colons survive); a name used twice gets one
 * position; `:...name` expands an array into a list `$1, $2` like TypeORM.
 * Only the parameters the text uses are returned (pg rejects extra values).
 */
export function toPositional(fragment: SqlFragment): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const positions = new Map<string, number>();
  const text = fragment.sql.replace(/(?<!:):(\.\.\.)?([A-Za-z_][A-Za-z0-9_]*)/g, (full, spread: string | undefined, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(fragment.params, name)) return full;
    const value = fragment.params[name];
    if (spread) {
      if (!Array.isArray(value)) throw new Error(`parameter ${name} is not an array`);
      return value.map((v) => `$${values.push(v)}`).join(', ');
    }
    let position = positions.get(name);
    if (position === undefined) {
      position = values.push(value);
      positions.set(name, position);
    }
    return `$${position}`;
  });
  return { text, values };
}
