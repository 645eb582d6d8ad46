// First: tracing must patch http and pg before anything loads them.
import { tracing } from '../../../apps/worker/src/tracing';
import 'reflect-metadata';
import { runWorker } from '../../../apps/worker/src/run-worker';
import { ProbeHandlersModule } from './probe-handlers.module';

/**
 * The worker of the multi-process tests, the fault tests and the scheduler
 * benchmark: the worker deployable with the instrumented probe handlers in
 * place of the reference ones. Built by `npm run build:test`, never part of
 * the production build.
 */
void runWorker({ handlers: ProbeHandlersModule, description: 'probe', tracing });
