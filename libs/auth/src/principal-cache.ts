import type { Principal } from './principal';

interface Entry {
  principal: Principal;
  expiresAt: number;
}

/**
 * Authenticated principals by token hash, for a few seconds: saves a database
 * round trip on every request. Bounded in size (oldest entry evicted first).
 * A revocation clears the entry in the process that handled it at once; other
 * processes follow within the TTL.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(tokenHash: string): Principal | undefined {
    const entry = this.entries.get(tokenHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return entry.principal;
  }

  set(tokenHash: string, principal: Principal): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(tokenHash);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(tokenHash, { principal, expiresAt: this.now() + this.ttlMs });
  }

  forgetToken(tokenId: string): void {
    for (const [hash, entry] of this.entries) {
      if (entry.principal.tokenId === tokenId) this.entries.delete(hash);
    }
  }
}
