import { Module } from '@nestjs/common';
import { ProbeAppHandler, ProbeDatabaseHandler, ProbeElementHandler, ProbeWorkspaceHandler } from './probe.handlers';

/** The probe handlers in place of ResourcesModule's: the probe worker of the tests and the benchmark. */
@Module({ providers: [ProbeWorkspaceHandler, ProbeAppHandler, ProbeElementHandler, ProbeDatabaseHandler] })
export class ProbeHandlersModule {}
