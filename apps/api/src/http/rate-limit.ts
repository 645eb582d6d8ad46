import type { Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { createHash } from 'node:crypto';
import { PROBLEM_CONTENT_TYPE, problemType } from '@app/common';

/**
 * Per-client request budget (429 problem+json beyond, with RateLimit headers).
 * Clients are told apart by their bearer token when they send one (many
 * services share one egress IP), else by IP address.
 */
export function createRateLimiter(requestsPerMinute: number) {
  return rateLimit({
    windowMs: 60_000,
    limit: requestsPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (request: Request) => request.path.startsWith('/health'),
    keyGenerator: (request: Request) => {
      const authorization = request.header('authorization');
      if (authorization) return `token:${createHash('sha256').update(authorization).digest('base64url')}`;
      return `ip:${ipKeyGenerator(request.ip ?? 'unknown')}`;
    },
    handler: (request: Request, response: Response) => {
      response
        .status(429)
        .type(PROBLEM_CONTENT_TYPE)
        .send(
          JSON.stringify({
            type: problemType('rate-limited'),
            title: 'Too Many Requests',
            status: 429,
            detail: `More than ${requestsPerMinute} requests a minute; retry after the time in the RateLimit header.`,
            code: 'rate-limited',
            instance: request.path,
          }),
        );
    },
  });
}
