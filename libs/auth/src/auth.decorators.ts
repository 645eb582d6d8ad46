import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { DatabaseUnavailableError } from '@app/common/errors/domain-errors';
import { ApiDomainProblem, ApiProblem } from '@app/common/openapi/api-problem.decorator';
import { API_ROLES, type Principal, type Role } from './principal';

/** "an admin", "an admin or service", "an admin, member or service" */
export function describeRoles(roles: readonly Role[]): string {
  const names = roles.length > 1 ? `${roles.slice(0, -1).join(', ')} or ${roles.at(-1)}` : roles[0];
  return `${/^[aeiou]/.test(roles[0]) ? 'an' : 'a'} ${names}`;
}

export const IS_PUBLIC_KEY = 'auth:public';
export const ALLOWED_ROLES_KEY = 'auth:roles';
export const LAST_KNOWN_GOOD_KEY = 'auth:last-known-good';
export const BEARER_SCHEME = 'bearer';

/** The route needs no token (health checks, API docs). Everything else does. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);

/**
 * The route needs a bearer token: with `admin: true` an admin one, with
 * `roles` one of those roles, else one of the API_ROLES (any token but a
 * `metrics` one). One decorator sets the guard's metadata and the OpenAPI
 * security together.
 *
 * Checking a token needs the database (unless this process checked it within
 * AUTH_CACHE_TTL_MS), so every such route documents 503
 * `database-unavailable`. `lastKnownGood: true` is for routes that need
 * nothing else from the database (`/metrics`): while it cannot be asked, a
 * token this process found active within AUTH_OUTAGE_GRACE_MS is accepted as
 * it was then.
 */
export function Authenticated(options: { admin?: boolean; roles?: readonly Role[]; lastKnownGood?: boolean } = {}) {
  const roles = options.roles ?? (options.admin ? (['admin'] as const) : API_ROLES);
  const decorators = [
    SetMetadata(ALLOWED_ROLES_KEY, roles),
    ApiBearerAuth(BEARER_SCHEME),
    ApiProblem(401, 'No token, a malformed `Authorization` header, or an unknown or revoked token.'),
    ApiProblem(403, `This operation needs ${describeRoles(roles)} token.`),
    ApiProblem(429, 'Too many requests from this token; retry after the time in the `RateLimit` header.'),
    ApiDomainProblem(
      'PostgreSQL is unreachable, restarting or in recovery (the token could not be checked, or the operation needs the database): retry after `Retry-After` seconds. Never a 401: the token may well be fine.',
      new DatabaseUnavailableError(),
    ),
  ];
  if (options.lastKnownGood) decorators.push(SetMetadata(LAST_KNOWN_GOOD_KEY, true));
  return applyDecorators(...decorators);
}

/** The authenticated caller of this request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ user: Principal }>().user;
});
