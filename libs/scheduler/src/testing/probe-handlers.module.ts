import { Module } from '@nestjs/common';
import { ProbeAppHandler, ProbeDatabaseHandler, ProbeElementHandler, ProbeWorkspaceHandler } from './probe.handlers';

/** The probe handlers instead of ResourcesModule's (WORKER_HANDLERS=probe): tests and benchmark only. */
@Module({ providers: [ProbeWorkspaceHandler, ProbeAppHandler, ProbeElementHandler, ProbeDatabaseHandler] })
export class ProbeHandlersModule {}
