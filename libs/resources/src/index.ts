export * from './app.entity';
export * from './element.entity';
export * from './injected-failure';
export * from './resources.module';
export * from './resources.service';
export * from './workspace-database.entity';
export * from './workspace.entity';
