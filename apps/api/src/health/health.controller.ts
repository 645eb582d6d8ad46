import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblem } from '@app/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { Public } from '@app/auth';
import { SqlExecutor } from '@app/database/sql-executor';
import { DataSource } from 'typeorm';

const HEALTH_SCHEMA = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok'] },
    details: { type: 'object', additionalProperties: { type: 'object', properties: { status: { type: 'string', enum: ['up', 'down'] } } } },
  },
  example: { status: 'ok', details: { database: { status: 'up' }, migrations: { status: 'up' } } },
};

@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly db: SqlExecutor,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness', description: 'The process is up and serving HTTP. No token needed.' })
  @ApiOkResponse({ description: 'Alive.', schema: HEALTH_SCHEMA })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness', description: 'The database answers and every migration is applied. No token needed.' })
  @ApiOkResponse({ description: 'Ready.', schema: HEALTH_SCHEMA })
  @ApiProblem(503, 'Not ready: `checks` names the state of each check.', { detail: 'Not ready: migrations down.', checks: { database: 'up', migrations: 'down' } })
  ready() {
    return this.health.check([
      () =>
        this.indicators
          .check('database')
          .attempt(async () => {
            await this.db.query('SELECT 1');
          })
          .withTimeout(3000),
      () =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            if (await this.dataSource.showMigrations()) throw new Error('pending migrations');
          })
          .withTimeout(3000),
    ]);
  }
}
