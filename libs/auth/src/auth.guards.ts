import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC_KEY, REQUIRES_ADMIN_KEY } from './auth.decorators';
import { isAdmin, type Principal } from './principal';

/** Global: every route needs a valid bearer token unless marked `@Public()`. */
@Injectable()
export class BearerAuthGuard extends AuthGuard('bearer') {
  constructor(private readonly reflector: Reflector) {
    super({ session: false });
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    return isPublic ? true : super.canActivate(context);
  }

  override handleRequest<TUser = Principal>(error: unknown, user: TUser | false): TUser {
    if (error || !user) {
      throw new UnauthorizedException('A valid bearer token is required: send `Authorization: Bearer <token>`.');
    }
    return user;
  }
}

/** Global, after authentication: routes marked `@Authenticated({ admin: true })` need an admin token. */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const requiresAdmin = this.reflector.getAllAndOverride<boolean>(REQUIRES_ADMIN_KEY, [context.getHandler(), context.getClass()]);
    if (!requiresAdmin) return true;
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (principal && isAdmin(principal)) return true;
    throw new ForbiddenException('This operation needs an admin token.');
  }
}
