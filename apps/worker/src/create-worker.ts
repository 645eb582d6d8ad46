import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createLogger } from '@app/common';
import { WorkerModule, type WorkerModuleOptions } from './worker.module';

/**
 * A started worker (no HTTP): used by `main.ts` and by the scheduler
 * benchmark alike. Shutdown hooks are the caller's choice (main enables them).
 */
export async function createWorker(options: WorkerModuleOptions): Promise<INestApplicationContext> {
  const worker = await NestFactory.createApplicationContext(WorkerModule.register(options), {
    logger: createLogger(options.config.LOG_LEVEL),
    abortOnError: false,
  });
  await worker.init();
  return worker;
}
