export const ROLES = ['admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: attached to the request by the bearer strategy. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Workspaces a member may see; `null` for an admin, who sees all. */
  workspaceIds: readonly string[] | null;
}

export function isAdmin(principal: Principal): boolean {
  return principal.role === 'admin';
}
