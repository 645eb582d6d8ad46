import { Module } from '@nestjs/common';
import { TaskQueueModule } from '@app/scheduler/task-queue.module';
import { CleanupTaskOperationsController } from './cleanup-task-operations.controller';
import { CleanupTaskOperationsService } from './cleanup-task-operations.service';
import { CleanupTasksController } from './cleanup-tasks.controller';
import { CleanupTasksService } from './cleanup-tasks.service';
import { cursorCodecProvider } from './cursor-secret.provider';
import { TaskCountsModule } from './task-counts.module';
import { TaskExportRepository } from './task-export.repository';
import { TaskExportService } from './task-export.service';
import { TaskTreeRepository } from './task-tree.repository';

@Module({
  imports: [TaskCountsModule, TaskQueueModule],
  controllers: [CleanupTasksController, CleanupTaskOperationsController],
  providers: [CleanupTasksService, TaskTreeRepository, CleanupTaskOperationsService, TaskExportRepository, TaskExportService, cursorCodecProvider],
  exports: [CleanupTasksService],
})
export class CleanupTasksModule {}
