import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ALLOWED_ROLES_KEY, describeRoles, IS_PUBLIC_KEY, LAST_KNOWN_GOOD_KEY } from './auth.decorators';
import { ACCEPTS_LAST_KNOWN_GOOD } from './bearer.strategy';
import { API_ROLES, type Principal, type Role } from './principal';

const MISSING_TOKEN = 'A valid bearer token is required: send `Authorization: Bearer <token>`.';

function carriesAccessToken(source: unknown): boolean {
  return typeof source === 'object' && source !== null && Object.hasOwn(source, 'access_token');
}

/** Global: every route needs a valid bearer token unless marked `@Public()`. */
@Injectable()
export class BearerAuthGuard extends AuthGuard('bearer') {
  constructor(private readonly reflector: Reflector) {
    super({ session: false });
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    // passport-http-bearer also takes `access_token` from the query string or
    // the body (RFC 6750 §2.2–2.3). Not here: URLs end up in proxy and access
    // logs, and the contract asks for the header.
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; query?: unknown; body?: unknown }>();
    if (carriesAccessToken(request.query) || carriesAccessToken(request.body)) {
      throw new UnauthorizedException('Tokens are accepted only in the `Authorization: Bearer <token>` header, not as an `access_token` parameter.');
    }
    if (request.headers.authorization === undefined) throw new UnauthorizedException(MISSING_TOKEN);
    if (this.reflector.getAllAndOverride<boolean>(LAST_KNOWN_GOOD_KEY, [context.getHandler(), context.getClass()])) {
      (request as { [ACCEPTS_LAST_KNOWN_GOOD]?: boolean })[ACCEPTS_LAST_KNOWN_GOOD] = true;
    }
    return super.canActivate(context);
  }

  /**
   * 401 only for a token that is missing, malformed, unknown or revoked. A
   * token that could not be checked (the database is down: 503
   * database-unavailable; no connection free: 503 busy) is the server's
   * problem, not the client's: the error goes on to the problem filter.
   */
  override handleRequest<TUser = Principal>(error: unknown, user: TUser | false): TUser {
    if (error) throw error;
    if (!user) throw new UnauthorizedException(MISSING_TOKEN);
    return user;
  }
}

/**
 * Global, after authentication: a route needs a token of one of the roles
 * its `@Authenticated` names (else 403). A route that names none admits the
 * API_ROLES: a `metrics` token is refused everywhere except on the routes
 * that list `metrics` explicitly, whether or not they carry the decorator.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const roles = this.reflector.getAllAndOverride<readonly Role[] | undefined>(ALLOWED_ROLES_KEY, targets) ?? API_ROLES;
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (principal && roles.includes(principal.role)) return true;
    throw new ForbiddenException(`This operation needs ${describeRoles(roles)} token.`);
  }
}
