import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppConfig, ResourceNotFoundError, ValidationFailedError, asDatabaseUnavailable, newId, storableTextProblem } from '@app/common';
import { SqlExecutor } from '@app/database/sql-executor';
import { DataSource } from 'typeorm';
import { ApiToken } from './api-token.entity';
import { ApiTokensRepository } from './api-tokens.repository';
import type { CreateTokenDto } from './dto/token.dto';
import { type Principal, workspaceScopeOf } from './principal';
import { PrincipalCache } from './principal-cache';
import { generateTokenSecret, hashTokenSecret, tokenHint } from './token-secret';

/** How long a token that authenticated counts as a known client for rate limiting. */
const KNOWN_CLIENT_TTL_MS = 10 * 60_000;

/** Serialises the bootstrap check across processes starting together. */
const BOOTSTRAP_LOCK_KEY = 0x43_54_4b_42; // 'CTKB'

export interface BootstrapResult {
  /** The secret of an admin token created by this start, to print once; undefined when none was created. */
  createdSecret?: string;
}

@Injectable()
export class TokensService {
  private readonly logger = new Logger(TokensService.name);
  private readonly principals: PrincipalCache;
  /**
   * Principals as this process last found them in the database, kept for
   * AUTH_OUTAGE_GRACE_MS: what routes that need nothing else from the
   * database (`/metrics`) accept while it cannot be asked.
   */
  private readonly lastKnownGood: PrincipalCache;
  /** Tokens that authenticated lately, by hash: the rate limiter's known clients. */
  private readonly knownClients = new PrincipalCache(KNOWN_CLIENT_TTL_MS);
  /** When this process last recorded each token's use (lastUsedAt is kept to the minute). */
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly tokens: ApiTokensRepository,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly db: SqlExecutor,
    config: AppConfig,
  ) {
    this.principals = new PrincipalCache(config.AUTH_CACHE_TTL_MS);
    this.lastKnownGood = new PrincipalCache(config.AUTH_OUTAGE_GRACE_MS);
  }

  async create(input: CreateTokenDto): Promise<{ token: ApiToken; secret: string }> {
    const workspaceIds = input.workspaceIds ?? [];
    if (input.role === 'member' && workspaceIds.length === 0) {
      throw new ValidationFailedError([{ path: 'workspaceIds', message: 'a member token needs at least one workspace id' }]);
    }
    if (input.role !== 'member' && workspaceIds.length > 0) {
      const reach = input.role === 'metrics' ? 'reads /metrics only' : 'sees every workspace';
      throw new ValidationFailedError([{ path: 'workspaceIds', message: `a ${input.role} token ${reach}; omit workspaceIds` }]);
    }
    const secret = generateTokenSecret();
    const token = await this.tokens.insert(this.newToken(input.name, input.role, [...new Set(workspaceIds)], secret));
    return { token: (await this.tokens.findById(token.id)) ?? token, secret };
  }

  list(): Promise<ApiToken[]> {
    return this.tokens.list();
  }

  async revoke(id: string): Promise<ApiToken> {
    // An id PostgreSQL cannot even compare (NUL, a lone surrogate) names no token.
    const token = storableTextProblem(id) ? null : await this.tokens.revoke(id);
    if (!token) throw new ResourceNotFoundError('Token', id);
    this.principals.forgetToken(id);
    this.lastKnownGood.forgetToken(id);
    this.knownClients.forgetToken(id);
    return token;
  }

  /**
   * The rate limiter's key for a bearer secret that authenticated in this
   * process within the last 10 minutes (`token:` + its hash), else undefined:
   * made-up or revoked secrets are no client of their own, and are counted
   * by address instead. No database read.
   */
  knownClientKey(secret: string): string | undefined {
    const tokenHash = hashTokenSecret(secret);
    return this.knownClients.get(tokenHash) ? `token:${tokenHash}` : undefined;
  }

  /**
   * The principal of an active token with this secret, or null when there is
   * none (unknown or revoked: 401). Principals are cached for
   * AUTH_CACHE_TTL_MS (revocation reaches other processes within that time),
   * and use is recorded at most once a minute per token.
   *
   * When the database cannot be asked, that is not an unknown token: throws
   * DatabaseUnavailableError (503), unless `acceptLastKnownGood` (routes
   * that need nothing else from the database) and this process found the
   * token active within AUTH_OUTAGE_GRACE_MS: then that principal.
   */
  async authenticate(secret: string, { acceptLastKnownGood = false }: { acceptLastKnownGood?: boolean } = {}): Promise<Principal | null> {
    const tokenHash = hashTokenSecret(secret);
    const cached = this.principals.get(tokenHash);
    if (cached) {
      this.recordUse(cached.tokenId);
      return cached;
    }
    let token;
    try {
      token = await this.tokens.findActiveByHash(tokenHash);
    } catch (error) {
      const unavailable = asDatabaseUnavailable(error, this.db.availability);
      if (!unavailable) throw error;
      const lastKnown = acceptLastKnownGood ? this.lastKnownGood.get(tokenHash) : undefined;
      if (lastKnown) return lastKnown;
      throw unavailable;
    }
    if (!token) return null;
    const principal: Principal = {
      tokenId: token.id,
      name: token.name,
      role: token.role,
      workspaceIds: workspaceScopeOf(token.role, token.workspaceIds),
    };
    this.principals.set(tokenHash, principal);
    this.lastKnownGood.set(tokenHash, principal);
    this.knownClients.set(tokenHash, principal);
    this.recordUse(token.id);
    return principal;
  }

  private recordUse(tokenId: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(tokenId) ?? 0) < 60_000) return;
    this.lastTouched.set(tokenId, now);
    this.tokens.touch(tokenId).catch((error: unknown) => {
      // During an outage a later use records it; a warning per token a minute would only repeat the outage.
      if (asDatabaseUnavailable(error, this.db.availability)) return;
      this.logger.warn({ err: error }, 'could not record token use');
    });
  }

  /**
   * With BOOTSTRAP_ADMIN_TOKEN: an admin token with exactly that secret exists
   * afterwards (idempotent). Without it: the first start, finding no active
   * admin token, creates one and returns its secret to print once.
   */
  async ensureBootstrapAdmin(bootstrapSecret: string | undefined): Promise<BootstrapResult> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      const repository = manager.getRepository(ApiToken);
      if (bootstrapSecret) {
        const existing = await repository.findOneBy({ tokenHash: hashTokenSecret(bootstrapSecret) });
        if (existing?.revokedAt) {
          this.logger.warn(`BOOTSTRAP_ADMIN_TOKEN names token ${existing.id}, which was revoked; it stays revoked. Remove or change the variable.`);
        } else if (existing && existing.role !== 'admin') {
          this.logger.warn(`BOOTSTRAP_ADMIN_TOKEN is the secret of ${existing.role} token ${existing.id}; it is not made an admin.`);
        } else if (!existing) {
          await repository.insert(this.newToken('bootstrap admin (BOOTSTRAP_ADMIN_TOKEN)', 'admin', [], bootstrapSecret));
          this.logger.log('Admin token from BOOTSTRAP_ADMIN_TOKEN registered.');
        }
        return {};
      }
      const hasActiveAdmin = await repository.createQueryBuilder('t').where("t.role = 'admin' AND t.revoked_at IS NULL").getExists();
      if (hasActiveAdmin) return {};
      const secret = generateTokenSecret();
      await repository.insert(this.newToken('first-start admin', 'admin', [], secret));
      return { createdSecret: secret };
    });
  }

  private newToken(name: string, role: ApiToken['role'], workspaceIds: string[], secret: string): ApiToken {
    return Object.assign(new ApiToken(), {
      id: newId('tok'),
      name,
      role,
      workspaceIds,
      tokenHash: hashTokenSecret(secret),
      tokenHint: tokenHint(secret),
      createdAt: new Date(),
      lastUsedAt: null,
      revokedAt: null,
    });
  }
}
