import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiProblem } from '@app/common/openapi/api-problem.decorator';
import { API_ROLES, type Principal, type Role } from './principal';

/** "an admin", "an admin or service", "an admin, member or service" */
export function describeRoles(roles: readonly Role[]): string {
  const names = roles.length > 1 ? `${roles.slice(0, -1).join(', ')} or ${roles.at(-1)}` : roles[0];
  return `${/^[aeiou]/.test(roles[0]) ? 'an' : 'a'} ${names}`;
}

export const IS_PUBLIC_KEY = 'auth:public';
export const ALLOWED_ROLES_KEY = 'auth:roles';
export const BEARER_SCHEME = 'bearer';

/** The route needs no token (health checks, API docs). Everything else does. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);

/**
 * The route needs a bearer token: with `admin: true` an admin one, with
 * `roles` one of those roles, else one of the API_ROLES (any token but a
 * `metrics` one). One decorator sets the guard's metadata and the OpenAPI
 * security together.
 */
export function Authenticated(options: { admin?: boolean; roles?: readonly Role[] } = {}) {
  const roles = options.roles ?? (options.admin ? (['admin'] as const) : API_ROLES);
  return applyDecorators(
    SetMetadata(ALLOWED_ROLES_KEY, roles),
    ApiBearerAuth(BEARER_SCHEME),
    ApiProblem(401, 'No token, a malformed `Authorization` header, or an unknown or revoked token.'),
    ApiProblem(403, `This operation needs ${describeRoles(roles)} token.`),
    ApiProblem(429, 'Too many requests from this token; retry after the time in the `RateLimit` header.'),
  );
}

/** The authenticated caller of this request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ user: Principal }>().user;
});
