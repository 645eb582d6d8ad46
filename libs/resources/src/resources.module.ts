import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { App } from './app.entity';
import { Element } from './element.entity';
import { WorkspaceDatabase } from './workspace-database.entity';
import { Workspace } from './workspace.entity';
import { DeleteAppHandler } from './handlers/delete-app.handler';
import { DeleteDatabaseHandler } from './handlers/delete-database.handler';
import { DeleteElementHandler } from './handlers/delete-element.handler';
import { DeleteWorkspaceHandler } from './handlers/delete-workspace.handler';
import { ResourcesRepository } from './resources.repository';
import { ResourcesService } from './resources.service';

/**
 * The reference resource model and its four cleanup handlers, found by the
 * scheduler at boot. A team with its own resources replaces this module with
 * one providing its own @CleanupHandler classes.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Workspace, App, Element, WorkspaceDatabase])],
  providers: [ResourcesRepository, ResourcesService, DeleteWorkspaceHandler, DeleteAppHandler, DeleteElementHandler, DeleteDatabaseHandler],
  exports: [ResourcesService],
})
export class ResourcesModule {}
