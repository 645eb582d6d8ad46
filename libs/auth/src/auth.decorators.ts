import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiProblem } from '@app/common/openapi/api-problem.decorator';
import type { Principal } from './principal';

export const IS_PUBLIC_KEY = 'auth:public';
export const REQUIRES_ADMIN_KEY = 'auth:admin';
export const BEARER_SCHEME = 'bearer';

/** The route needs no token (health checks, API docs). Everything else does. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);

/**
 * The route needs a bearer token, and with `admin: true` an admin one. One
 * decorator sets the guard's metadata and the OpenAPI security together.
 */
export function Authenticated(options: { admin?: boolean } = {}) {
  const decorators = [
    SetMetadata(REQUIRES_ADMIN_KEY, options.admin === true),
    ApiBearerAuth(BEARER_SCHEME),
    ApiProblem(401, 'No token, a malformed `Authorization` header, or an unknown or revoked token.'),
    ApiProblem(429, 'Too many requests from this token; retry after the time in the `RateLimit` header.'),
  ];
  if (options.admin) {
    decorators.push(ApiProblem(403, 'This operation needs an admin token.'));
  }
  return applyDecorators(...decorators);
}

/** The authenticated caller of this request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ user: Principal }>().user;
});
