import { ApiToken } from '@app/auth/api-token.entity';
import { CleanupTask } from '@app/cleanup-tasks/cleanup-task.entity';
import { App } from '@app/resources/app.entity';
import { Element } from '@app/resources/element.entity';
import { WorkspaceDatabase } from '@app/resources/workspace-database.entity';
import { Workspace } from '@app/resources/workspace.entity';

/** Every TypeORM entity, listed explicitly (no globs: they break in bundles and tests). */
export const ENTITIES = [CleanupTask, ApiToken, Workspace, App, Element, WorkspaceDatabase];
