import type { NextFunction, Request, Response } from 'express';
import { jsonValueProblem, MAX_JSON_DEPTH, ValidationFailedError } from '@app/common';

/**
 * Express middleware after the JSON body parser: 400 for a body whose
 * fields nest arrays and objects more than MAX_JSON_DEPTH levels. It runs
 * before anything recursive walks the body (class-transformer overflows the
 * call stack a few thousand levels down, a 500), with a walk that cannot
 * overflow; the DTOs check the rest of each field.
 */
export function rejectDeeplyNestedBodies(request: Request, _response: Response, next: NextFunction): void {
  const body: unknown = request.body;
  if (typeof body !== 'object' || body === null) return next();
  // The body itself is one level: each field may nest MAX_JSON_DEPTH below it.
  const problem = jsonValueProblem(body, { maxDepth: MAX_JSON_DEPTH + 1, text: false });
  if (!problem) return next();
  next(new ValidationFailedError([{ path: problem.path.replace(/^\./, ''), message: `must not nest arrays and objects more than ${MAX_JSON_DEPTH} levels deep` }]));
}
