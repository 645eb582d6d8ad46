import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './app-config';

/** Provides the validated `AppConfig` to every module. */
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: AppConfigModule, global: true, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}
