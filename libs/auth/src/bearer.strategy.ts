import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-http-bearer';
import type { Principal } from './principal';
import { TokensService } from './tokens.service';

/** `Authorization: Bearer <secret>` → the token's principal, or 401. */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  constructor(private readonly tokens: TokensService) {
    super();
  }

  async validate(secret: string): Promise<Principal | false> {
    return (await this.tokens.authenticate(secret)) ?? false;
  }
}
