/** One validation problem: where in the request it is, and what is wrong. */
export interface QueryDslIssue {
  /** Path into the request, e.g. `filter.OR[1].attempts.gt`, `orderBy[0].status`, `after`. */
  path: string;
  message: string;
}

/**
 * Bad input to the query DSL (filter, orderBy, cursor). Always the client's
 * fault: the HTTP layer maps it to 400 with `errors` as the problem's
 * `errors: [{path, message}]`. Messages never contain SQL.
 */
export class QueryDslError extends Error {
  readonly errors: readonly QueryDslIssue[];

  constructor(errors: readonly QueryDslIssue[]) {
    super(errors.map((e) => `${e.path}: ${e.message}`).join('; ') || 'invalid query');
    this.name = 'QueryDslError';
    this.errors = errors;
  }

  static at(path: string, message: string): QueryDslError {
    return new QueryDslError([{ path, message }]);
  }
}
