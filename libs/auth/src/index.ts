export * from './api-token.entity';
export * from './auth.decorators';
export * from './auth.module';
export * from './principal';
export * from './token-secret';
export * from './tokens.module';
export * from './tokens.service';
