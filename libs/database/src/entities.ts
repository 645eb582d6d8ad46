import { ApiToken } from '@app/auth/api-token.entity';
import { CleanupTask } from '@app/cleanup-tasks/cleanup-task.entity';

/** Every TypeORM entity, listed explicitly (no globs: they break in bundles and tests). */
export const ENTITIES = [CleanupTask, ApiToken];
