/**
 * - `admin`: everything — read all tasks, enqueue, retry, trees, tokens.
 * - `service`: a producer of work (e.g. the workspace-deletion service): enqueue, and read all tasks.
 * - `member`: read the tasks of its workspaces only.
 */
export const ROLES = ['admin', 'member', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that see every workspace; the others are scoped by the token's workspace ids. */
export const UNSCOPED_ROLES: readonly Role[] = ['admin', 'service'];

/** Who is calling: attached to the request by the bearer strategy. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Workspaces a member may see; `null` for admin and service tokens, which see all. */
  workspaceIds: readonly string[] | null;
}

export function isUnscopedRole(role: Role): boolean {
  return UNSCOPED_ROLES.includes(role);
}
