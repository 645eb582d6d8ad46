import type { NextFunction, Request, Response } from 'express';

/**
 * `Cache-Control: no-store` on API responses: they carry one tenant's tasks
 * and, from `POST /api/tokens`, a secret shown once; no browser or proxy
 * should keep them. Revalidation still works for clients that keep the ETag
 * themselves (`If-None-Match` → 304). Swagger UI's pages and assets under
 * the docs path may be cached.
 */
export function noStoreExceptUnder(...cacheablePrefixes: string[]) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (!cacheablePrefixes.some((prefix) => request.path === prefix || request.path.startsWith(`${prefix}/`))) {
      response.setHeader('Cache-Control', 'no-store');
    }
    next();
  };
}
