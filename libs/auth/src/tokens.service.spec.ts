import { describe, expect, it } from '@jest/globals';
import { AppConfig, DatabaseUnavailableError, validateEnvironment } from '@app/common';
import type { SqlExecutor } from '@app/database/sql-executor';
import type { DataSource } from 'typeorm';
import type { ActiveToken, ApiTokensRepository } from './api-tokens.repository';
import { hashTokenSecret } from './token-secret';
import { TokensService } from './tokens.service';

const SECRET = `ctk_${'a'.repeat(43)}`;
const TOKEN: ActiveToken = { id: 'tok_1', name: 'scraper', role: 'admin', workspaceIds: [] };
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** TokensService on an in-memory stand-in for the token table that can be made unreachable. */
function setup(env: Record<string, string> = {}) {
  /** `down`: lookups fail with `failure()`; `foundDown`: what the process's other calls last found (default: the same). */
  const state = { down: false, foundDown: undefined as boolean | undefined, lookups: 0, tokens: new Map([[hashTokenSecret(SECRET), TOKEN]]), failure: refused as () => Error };
  const repository = {
    findActiveByHash: async (hash: string) => {
      state.lookups++;
      if (state.down) throw state.failure();
      return state.tokens.get(hash) ?? null;
    },
    touch: async () => undefined,
    revoke: async (id: string) => ({ id }),
  } as unknown as ApiTokensRepository;
  const availability = {
    get isUp() {
      return !(state.foundDown ?? state.down);
    },
  };
  const config: AppConfig = validateEnvironment({ AUTH_CACHE_TTL_MS: '0', ...env });
  const sut = new TokensService(repository, {} as DataSource, { availability } as unknown as SqlExecutor, config);
  return { sut, state };
}

describe('TokensService.authenticate', () => {
  it('returns the principal of an active token, and null for an unknown one (a 401)', async () => {
    const { sut } = setup();
    expect(await sut.authenticate(SECRET)).toMatchObject({ tokenId: 'tok_1', role: 'admin', workspaceIds: null });
    expect(await sut.authenticate(`ctk_${'b'.repeat(43)}`)).toBeNull();
  });

  it('throws DatabaseUnavailableError (503), not null, when the token cannot be checked', async () => {
    const { sut, state } = setup();
    state.down = true;
    await expect(sut.authenticate(SECRET)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(sut.authenticate(`ctk_${'b'.repeat(43)}`)).rejects.toBeInstanceOf(DatabaseUnavailableError);
  });

  it('says database-unavailable for a wait for a pooled connection that ran out while the database is down; passes it on while it is up (503 busy, from the filter)', async () => {
    const timeout = new Error('timeout exceeded when trying to connect');
    const down = setup();
    Object.assign(down.state, { down: true, failure: () => timeout });
    await expect(down.sut.authenticate(SECRET)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    const busy = setup();
    Object.assign(busy.state, { down: true, foundDown: false, failure: () => timeout });
    await expect(busy.sut.authenticate(SECRET)).rejects.toBe(timeout);
  });

  it('accepts the last known good principal during an outage only where asked (routes needing nothing else from the database), within AUTH_OUTAGE_GRACE_MS', async () => {
    const { sut, state } = setup({ AUTH_OUTAGE_GRACE_MS: '60000' });
    expect(await sut.authenticate(SECRET)).not.toBeNull();
    state.down = true;
    await expect(sut.authenticate(SECRET)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(await sut.authenticate(SECRET, { acceptLastKnownGood: true })).toMatchObject({ tokenId: 'tok_1' });
    // Never checked before: nothing known to fall back on.
    await expect(sut.authenticate(`ctk_${'b'.repeat(43)}`, { acceptLastKnownGood: true })).rejects.toBeInstanceOf(DatabaseUnavailableError);
  });

  it('keeps no last known good state with AUTH_OUTAGE_GRACE_MS=0, and forgets a token revoked in this process', async () => {
    const none = setup({ AUTH_OUTAGE_GRACE_MS: '0' });
    await none.sut.authenticate(SECRET);
    none.state.down = true;
    await expect(none.sut.authenticate(SECRET, { acceptLastKnownGood: true })).rejects.toBeInstanceOf(DatabaseUnavailableError);

    const revoked = setup({ AUTH_OUTAGE_GRACE_MS: '60000' });
    await revoked.sut.authenticate(SECRET);
    await revoked.sut.revoke('tok_1');
    revoked.state.down = true;
    await expect(revoked.sut.authenticate(SECRET, { acceptLastKnownGood: true })).rejects.toBeInstanceOf(DatabaseUnavailableError);
  });

  it('answers from the cache within AUTH_CACHE_TTL_MS without asking the database, outage or not', async () => {
    const { sut, state } = setup({ AUTH_CACHE_TTL_MS: '60000' });
    await sut.authenticate(SECRET);
    state.down = true;
    expect(await sut.authenticate(SECRET)).toMatchObject({ tokenId: 'tok_1' });
    expect(state.lookups).toBe(1);
  });
});
