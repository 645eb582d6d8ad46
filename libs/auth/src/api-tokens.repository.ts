import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { ApiToken } from './api-token.entity';

/** All SQL on `api_tokens`. */
@Injectable()
export class ApiTokensRepository {
  constructor(@InjectRepository(ApiToken) private readonly tokens: Repository<ApiToken>) {}

  async insert(token: ApiToken): Promise<ApiToken> {
    await this.tokens.insert(token);
    return token;
  }

  findActiveByHash(tokenHash: string): Promise<ApiToken | null> {
    return this.tokens.findOneBy({ tokenHash, revokedAt: IsNull() });
  }

  findById(id: string): Promise<ApiToken | null> {
    return this.tokens.findOneBy({ id });
  }

  list(): Promise<ApiToken[]> {
    return this.tokens.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Marks the token revoked; false when it does not exist. Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiToken | null> {
    await this.tokens
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => "date_trunc('milliseconds', now())" })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
    return this.findById(id);
  }

  /** At most one write a minute per token: enough to tell stale tokens, cheap on the hot path. */
  async touch(id: string): Promise<void> {
    await this.tokens
      .createQueryBuilder()
      .update()
      .set({ lastUsedAt: () => "date_trunc('milliseconds', now())" })
      .where("id = :id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", { id })
      .execute();
  }
}
