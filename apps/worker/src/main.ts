import 'reflect-metadata';
import { ResourcesModule } from '@app/resources';
import { runWorker } from './run-worker';

/**
 * The worker deployable: runs cleanup tasks with the reference handlers,
 * serves no HTTP. Run as many as you like beside the API (which can then set
 * SCHEDULER_ENABLED=false). Same settings as the API.
 */
void runWorker(ResourcesModule, 'reference');
