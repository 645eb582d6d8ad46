export * from './cleanup-task.entity';
export * from './cleanup-task.enums';
export * from './cleanup-tasks.module';
export * from './cleanup-tasks.service';
export * from './dto/cleanup-task.dto';
export * from './task-scope';
