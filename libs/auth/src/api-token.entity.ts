import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Role } from './principal';

/** A bearer token. Only the SHA-256 hash of the secret is stored. */
@Entity({ name: 'api_tokens' })
export class ApiToken {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  role: Role;

  @Column({ name: 'workspace_ids', type: 'text', array: true, default: () => "'{}'" })
  workspaceIds: string[];

  @Column({ name: 'token_hash', type: 'text' })
  tokenHash: string;

  /** The first characters of the secret, to recognise a token in lists and logs. */
  @Column({ name: 'token_hint', type: 'text' })
  tokenHint: string;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', precision: 3, nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', precision: 3, nullable: true })
  revokedAt: Date | null;
}
