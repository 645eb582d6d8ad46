/**
 * Which workspaces a caller may see: `null` for all (admins), otherwise the
 * member token's workspace ids. Every read of tasks on a caller's behalf takes one.
 */
export type WorkspaceScope = readonly string[] | null;
