export * from './config/app-config';
export * from './config/app-config.module';
export * from './errors/domain-errors';
export * from './errors/problem';
export * from './errors/problem-details.filter';
export * from './ids';
export * from './openapi/problem-details.dto';
export * from './validation/validation-pipe';
