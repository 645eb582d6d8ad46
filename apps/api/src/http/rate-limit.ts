import type { NextFunction, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { PROBLEM_CONTENT_TYPE, problemType } from '@app/common';
import type { SharedRateLimitStore } from './shared-rate-limit.store';

const BEARER = /^Bearer +(\S+)$/i;

export interface RateLimiterOptions {
  requestsPerMinute: number;
  /** Where budgets are counted (shared by every API process). */
  store: SharedRateLimitStore;
  /** `token:<hash>` for a bearer secret that authenticated in this process lately, else undefined (no database read). */
  knownClientKey: (bearerSecret: string) => string | undefined;
}

/**
 * Per-client request budget (429 problem+json beyond, with RateLimit headers),
 * one budget per client across all API processes. The rule (README, "Rate
 * limits"):
 *
 * - A request whose bearer token authenticated in this process lately is
 *   counted against the token (many services share one egress IP, each with
 *   its own budget).
 * - Anything else (no token, a made-up or revoked one, one this process has
 *   not seen yet) is counted against its client address, with no token
 *   look-up before the decision: inventing a new token for each request buys
 *   no new budget, and costs no database read once the address's budget is
 *   spent.
 * - A request counted against its address that then authenticates is moved
 *   to its token's budget when it ends: whichever process serves a token's
 *   requests, every one of them spends the token's budget and none its
 *   address's.
 */
export function createRateLimiter({ requestsPerMinute, store, knownClientKey }: RateLimiterOptions) {
  const bearerSecret = (request: Request) => BEARER.exec(request.header('authorization') ?? '')?.[1];
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: requestsPerMinute,
    store,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (request: Request) => request.path.startsWith('/health'),
    keyGenerator: (request: Request) => {
      const secret = bearerSecret(request);
      // request.ip is the client address as TRUST_PROXY says (Express's trust proxy).
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
  return (request: Request, response: Response, next: NextFunction): void => {
    void limiter(request, response, (error?: unknown) => {
      if (error !== undefined) return next(error);
      const counted = (request as Request & { rateLimit?: RateLimitInfo }).rateLimit;
      const secret = bearerSecret(request);
      if (secret && counted?.resetTime && counted.key.startsWith('ip:')) {
        const { key, resetTime } = counted;
        response.once('close', () => {
          // Passport sets `user` once the token authenticated.
          const tokenKey = request.user ? knownClientKey(secret) : undefined;
          if (tokenKey) store.transfer(key, tokenKey, resetTime);
        });
      }
      next();
    });
  };
}
