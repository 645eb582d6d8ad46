import { describe, expect, it } from '@jest/globals';
import type { Principal } from './principal';
import { PrincipalCache } from './principal-cache';

const principal = (tokenId: string): Principal => ({ tokenId, name: tokenId, role: 'member', workspaceIds: ['ws_a'] });

describe('PrincipalCache', () => {
  it('serves an entry until its TTL has passed, then forgets it', () => {
    let now = 1_000;
    const sut = new PrincipalCache(5_000, 10, () => now);
    sut.set('h1', principal('tok_1'));
    now += 4_999;
    expect(sut.get('h1')?.tokenId).toBe('tok_1');
    now += 1;
    expect(sut.get('h1')).toBeUndefined();
  });

  it('forgets a revoked token at once', () => {
    const sut = new PrincipalCache(5_000);
    sut.set('h1', principal('tok_1'));
    sut.set('h2', principal('tok_2'));
    sut.forgetToken('tok_1');
    expect(sut.get('h1')).toBeUndefined();
    expect(sut.get('h2')?.tokenId).toBe('tok_2');
  });

  it('evicts the oldest entry beyond its size', () => {
    const sut = new PrincipalCache(5_000, 2);
    sut.set('h1', principal('tok_1'));
    sut.set('h2', principal('tok_2'));
    sut.set('h3', principal('tok_3'));
    expect([sut.get('h1'), sut.get('h2')?.tokenId, sut.get('h3')?.tokenId]).toEqual([undefined, 'tok_2', 'tok_3']);
  });

  it('caches nothing with a TTL of 0', () => {
    const sut = new PrincipalCache(0);
    sut.set('h1', principal('tok_1'));
    expect(sut.get('h1')).toBeUndefined();
  });
});
