// First: tracing must patch http and pg before anything loads them.
import { tracing } from './tracing';
import 'reflect-metadata';
import { ResourcesModule } from '@app/resources';
import { runWorker } from './run-worker';

/**
 * The worker deployable: runs cleanup tasks with the reference handlers,
 * serves no HTTP (but `/metrics` when METRICS_PORT is set). Run as many as
 * you like beside the API (which can then set SCHEDULER_ENABLED=false). Same
 * settings as the API.
 */
void runWorker({ handlers: ResourcesModule, description: 'reference', tracing });
