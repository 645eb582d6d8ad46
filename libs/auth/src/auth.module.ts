import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiToken } from './api-token.entity';
import { ApiTokensRepository } from './api-tokens.repository';
import { BearerAuthGuard, RolesGuard } from './auth.guards';
import { BearerStrategy } from './bearer.strategy';
import { TokensController } from './tokens.controller';
import { TokensService } from './tokens.service';

@Module({
  imports: [PassportModule.register({ session: false }), TypeOrmModule.forFeature([ApiToken])],
  controllers: [TokensController],
  providers: [
    ApiTokensRepository,
    TokensService,
    BearerStrategy,
    // Order matters: authenticate first, then check the role.
    { provide: APP_GUARD, useClass: BearerAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [TokensService],
})
export class AuthModule {}
