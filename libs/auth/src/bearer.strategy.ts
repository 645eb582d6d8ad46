import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-http-bearer';
import type { Principal } from './principal';
import { TokensService } from './tokens.service';

/** Set on the request by the guard for routes marked `@Authenticated({ lastKnownGood: true })`. */
export const ACCEPTS_LAST_KNOWN_GOOD = Symbol('accepts-last-known-good');

/**
 * `Authorization: Bearer <secret>` → the token's principal, or 401 for a
 * token that does not exist or was revoked. A token that could not be
 * checked (the database is down) is not a bad token: that error goes on to
 * the problem filter (503 database-unavailable), never a 401.
 */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  constructor(private readonly tokens: TokensService) {
    super({ passReqToCallback: true });
  }

  async validate(request: Request, secret: string): Promise<Principal | false> {
    const acceptLastKnownGood = (request as Request & { [ACCEPTS_LAST_KNOWN_GOOD]?: boolean })[ACCEPTS_LAST_KNOWN_GOOD] === true;
    return (await this.tokens.authenticate(secret, { acceptLastKnownGood })) ?? false;
  }
}
