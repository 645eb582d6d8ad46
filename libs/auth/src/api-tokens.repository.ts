import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { SqlExecutor } from '@app/database/sql-executor';
import { ApiToken } from './api-token.entity';

/** What authentication reads of an active token. */
export type ActiveToken = Pick<ApiToken, 'id' | 'name' | 'role' | 'workspaceIds'>;

/** All SQL on `api_tokens`. */
@Injectable()
export class ApiTokensRepository {
  constructor(
    @InjectRepository(ApiToken) private readonly tokens: Repository<ApiToken>,
    private readonly db: SqlExecutor,
  ) {}

  async insert(token: ApiToken): Promise<ApiToken> {
    await this.tokens.insert(token);
    return token;
  }

  /**
   * The active token with this hash (api_tokens_token_hash_key), or null.
   * Every request whose token is not cached asks this: on the executor's
   * main pool, as a named prepared statement, so that what it finds about
   * the database counts in the process's availability like any other call.
   */
  async findActiveByHash(tokenHash: string): Promise<ActiveToken | null> {
    const { rows } = await this.db.query<{ id: string; name: string; role: ApiToken['role']; workspace_ids: string[] }>({
      name: 'api_tokens_find_active',
      text: 'SELECT id, name, role, workspace_ids FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      values: [tokenHash],
    });
    const row = rows[0];
    return row ? { id: row.id, name: row.name, role: row.role, workspaceIds: row.workspace_ids } : null;
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
