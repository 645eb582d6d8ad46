/**
 * - `admin`: everything — read all tasks, enqueue, retry, trees, tokens, metrics.
 * - `service`: a producer of work (e.g. the workspace-deletion service): enqueue, and read all tasks.
 * - `member`: read the tasks of its workspaces only.
 * - `metrics`: a monitoring system's scraper: `GET /metrics` and nothing else.
 */
export const ROLES = ['admin', 'member', 'service', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that see every workspace; the others are scoped by the token's workspace ids. */
export const UNSCOPED_ROLES: readonly Role[] = ['admin', 'service'];

/**
 * Roles that may use the API at all: a route that names no roles of its own
 * (`@Authenticated()`, or no decorator) admits these. `metrics` is left out
 * on purpose: it reaches only routes that list it (`GET /metrics`), so a
 * leaked scraper token reads no task and manages no token.
 */
export const API_ROLES: readonly Role[] = ['admin', 'member', 'service'];

/** Who is calling: attached to the request by the bearer strategy. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /**
   * Workspaces a member may see; `null` for admin and service tokens, which
   * see all; empty for metrics tokens, which see no task.
   */
  workspaceIds: readonly string[] | null;
}

export function isUnscopedRole(role: Role): boolean {
  return UNSCOPED_ROLES.includes(role);
}

/** The workspace scope of a token of this role: null (every workspace), its own list (members), or none. */
export function workspaceScopeOf(role: Role, workspaceIds: readonly string[]): readonly string[] | null {
  if (isUnscopedRole(role)) return null;
  return role === 'member' ? workspaceIds : [];
}
