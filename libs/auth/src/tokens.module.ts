import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiToken } from './api-token.entity';
import { ApiTokensRepository } from './api-tokens.repository';
import { TokensService } from './tokens.service';

/**
 * Tokens without HTTP: checking a bearer secret (TokensService.authenticate)
 * and managing tokens. AuthModule builds the API's guards and routes on it;
 * a deployable with no API of its own (the worker's metrics listener)
 * imports it alone.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiToken])],
  providers: [ApiTokensRepository, TokensService],
  exports: [TokensService],
})
export class TokensModule {}
