import { Module } from '@nestjs/common';
import { CleanupTasksController } from './cleanup-tasks.controller';
import { CleanupTasksRepository } from './cleanup-tasks.repository';
import { CleanupTasksService } from './cleanup-tasks.service';

@Module({
  controllers: [CleanupTasksController],
  providers: [CleanupTasksRepository, CleanupTasksService],
  exports: [CleanupTasksService],
})
export class CleanupTasksModule {}
