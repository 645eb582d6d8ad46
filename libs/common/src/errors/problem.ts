/** One invalid input, named by its path (e.g. `filter.OR[1].attempts.gt`). */
export interface FieldError {
  path: string;
  message: string;
}

/** RFC 9457 problem details, as every error response of the API carries them. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The stable, documented problem type URI of an error code. */
export function problemType(code: string): string {
  return `urn:problem-type:cleanup-tasks:${code}`;
}
