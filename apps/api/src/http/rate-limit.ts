import type { Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { PROBLEM_CONTENT_TYPE, problemType } from '@app/common';

const BEARER = /^Bearer +(\S+)$/i;

/**
 * Per-client request budget (429 problem+json beyond, with RateLimit headers).
 * A client is a bearer token that authenticated lately (many services share
 * one egress IP, each with its own budget); anything else (no token, a
 * made-up, revoked or not yet seen one) counts against its IP address, so
 * inventing a new token for each request buys no new budget.
 */
export function createRateLimiter(requestsPerMinute: number, knownClientKey: (bearerSecret: string) => string | undefined) {
  return rateLimit({
    windowMs: 60_000,
    limit: requestsPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (request: Request) => request.path.startsWith('/health'),
    keyGenerator: (request: Request) => {
      const secret = BEARER.exec(request.header('authorization') ?? '')?.[1];
      return (secret && knownClientKey(secret)) ?? `ip:${ipKeyGenerator(request.ip ?? 'unknown')}`;
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
