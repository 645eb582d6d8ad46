import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { BearerAuthGuard, RolesGuard } from './auth.guards';
import { BearerStrategy } from './bearer.strategy';
import { TokensController } from './tokens.controller';
import { TokensModule } from './tokens.module';

@Module({
  imports: [PassportModule.register({ session: false }), TokensModule],
  controllers: [TokensController],
  providers: [
    BearerStrategy,
    // Order matters: authenticate first, then check the role.
    { provide: APP_GUARD, useClass: BearerAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [TokensModule],
})
export class AuthModule {}
