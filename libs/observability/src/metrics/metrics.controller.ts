import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '@app/auth';
import { METRICS_ROLES } from './metrics-access';
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './metrics-registry';

@ApiTags('Metrics')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: MetricsRegistry) {}

  @Get()
  // A scrape during an outage is when /metrics matters most: a token this process checked before is trusted (AUTH_OUTAGE_GRACE_MS).
  @Authenticated({ roles: METRICS_ROLES, lastKnownGood: true })
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'The Prometheus text format: queue, tasks, scheduler, HTTP and connection-pool metrics of this process, and the runtime defaults (`process_*`, `nodejs_*`); see the README, section Metrics. An admin or `metrics` token. Gauges that need SQL are read at most every 5 s and cached; while the database is unreachable the last values are served and `cleanup_database_up` is 0.',
  })
  @ApiProduces(PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'The exposition.', schema: { type: 'string', example: '# TYPE cleanup_queue_ready_tasks gauge\ncleanup_queue_ready_tasks 12\n' } })
  @Header('Content-Type', PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.exposition();
  }
}
