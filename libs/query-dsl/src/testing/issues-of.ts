import { QueryDslError, type QueryDslIssue } from '../errors';

/** The issues of the QueryDslError that `run` throws; fails when it throws none (or another error). */
export function issuesOf(run: () => unknown): QueryDslIssue[] {
  try {
    run();
  } catch (error) {
    if (error instanceof QueryDslError) return [...error.errors];
    throw error;
  }
  throw new Error('expected a QueryDslError');
}
