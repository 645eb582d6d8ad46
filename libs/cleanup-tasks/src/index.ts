export * from './cleanup-task.entity';
export * from './cleanup-task.enums';
export { CLEANUP_TASK_FILTER_SCHEMAS } from './cleanup-task.query-fields';
export * from './cleanup-tasks.module';
export * from './cleanup-tasks.service';
export * from './dto/cleanup-task.dto';
export * from './task-scope';
