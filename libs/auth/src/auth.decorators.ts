import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiProblem } from '@app/common/openapi/api-problem.decorator';
import type { Principal, Role } from './principal';

/** "an admin", "an admin or service" */
export function describeRoles(roles: readonly Role[]): string {
  return `${/^[aeiou]/.test(roles[0]) ? 'an' : 'a'} ${roles.join(' or ')}`;
}

export const IS_PUBLIC_KEY = 'auth:public';
export const ALLOWED_ROLES_KEY = 'auth:roles';
export const BEARER_SCHEME = 'bearer';

/** The route needs no token (health checks, API docs). Everything else does. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);

/**
 * The route needs a bearer token; with `admin: true` an admin one, with
 * `roles` one of those roles. One decorator sets the guard's metadata and the
 * OpenAPI security together.
 */
export function Authenticated(options: { admin?: boolean; roles?: readonly Role[] } = {}) {
  const roles = options.roles ?? (options.admin ? (['admin'] as const) : undefined);
  const decorators = [
    SetMetadata(ALLOWED_ROLES_KEY, roles),
    ApiBearerAuth(BEARER_SCHEME),
    ApiProblem(401, 'No token, a malformed `Authorization` header, or an unknown or revoked token.'),
    ApiProblem(429, 'Too many requests from this token; retry after the time in the `RateLimit` header.'),
  ];
  if (roles) {
    decorators.push(ApiProblem(403, `This operation needs ${describeRoles(roles)} token.`));
  }
  return applyDecorators(...decorators);
}

/** The authenticated caller of this request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ user: Principal }>().user;
});
