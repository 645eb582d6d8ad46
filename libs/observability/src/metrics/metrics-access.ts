import type { Role } from '@app/auth';

/** Who may read `/metrics`: admins, and the `metrics` role, which may read nothing else. */
export const METRICS_ROLES: readonly Role[] = ['admin', 'metrics'];
