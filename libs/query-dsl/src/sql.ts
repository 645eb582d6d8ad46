import type { ObjectLiteral, QueryBuilder } from 'typeorm';

/**
 * The named parameters of one statement, from a counter: `p1`, `p2`, … in the
 * order they are bound, so the same input always gives the same SQL and
 * parameters (snapshot-testable). They are set on the statement's outermost
 * builder, whose `getQueryAndParameters()` turns them into `$n` (TypeORM's
 * own parameter handling); one instance per statement, shared by every
 * builder composed into it.
 *
 * Placeholders are always followed by a space, `)` or `,`, never by `.` or
 * `::` (TypeORM reads `:p1.x` as the parameter `p1.x`); casts are written
 * `CAST(:p1 AS jsonb)`. No name is bound twice: a clash with a parameter the
 * builder already has is an error, not a silent overwrite.
 */
export class QueryParameters {
  private counter = 0;
  private readonly memo = new WeakMap<object, string>();

  constructor(
    private readonly statement: QueryBuilder<ObjectLiteral>,
    private readonly prefix = 'p',
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) throw new Error(`invalid parameter prefix ${prefix}`);
  }

  /** Binds `value` and returns its placeholder, e.g. `:p3`. */
  bind(value: unknown): string {
    this.counter += 1;
    const name = `${this.prefix}${this.counter}`;
    if (this.statement.hasParameter(name)) throw new Error(`parameter ${name} is already bound in this statement`);
    this.statement.setParameter(name, value);
    return `:${name}`;
  }

  /**
   * Binds `value()` the first time `key` is seen and returns the same
   * placeholder ever after: a condition applied to several parts of one
   * statement (page, count, probes) binds its value once.
   */
  bindOnce(key: object, value: () => unknown): string {
    let placeholder = this.memo.get(key);
    if (placeholder === undefined) {
      placeholder = this.bind(value());
      this.memo.set(key, placeholder);
    }
    return placeholder;
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

/** `"alias"."column"` (quoted, so TypeORM's property-path replacement never touches it). */
export function columnRef(alias: string, column: string): string {
  return `${quoteIdent(alias)}.${quoteIdent(column)}`;
}
