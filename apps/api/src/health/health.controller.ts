import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblem, isDatabaseUnavailable, sqlStateOf } from '@app/common';
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
  @ApiProblem(503, 'Not ready: `checks` names the state of each check, `reasons` why each one that is down is.', {
    detail: 'Not ready: database down (unreachable: ECONNREFUSED), migrations down (not checked: the database is unreachable).',
    checks: { database: 'down', migrations: 'down' },
    reasons: { database: 'unreachable: ECONNREFUSED', migrations: 'not checked: the database is unreachable' },
  })
  ready() {
    return this.health.check([
      () =>
        this.indicators
          .check('database')
          .attempt(() => explained(async () => void (await this.db.query('SELECT 1'))))
          .withTimeout(3000),
      () =>
        this.indicators
          .check('migrations')
          .attempt(() =>
            explained(
              async () => {
                if (await this.dataSource.showMigrations()) throw new ReadinessProblem('migrations pending');
              },
              () => 'not checked: the database is unreachable',
            ),
          )
          .withTimeout(3000),
    ]);
  }
}

/** A readiness check's failure, worded to be shown to anyone. */
class ReadinessProblem extends Error {}

/**
 * Runs a check, turning its failure into a reason fit for an anonymous
 * caller (the filter shows it under `reasons`): the kind of failure and a
 * code, never a host, a query or server text beyond PostgreSQL's fixed
 * messages of a server stopping, starting or recovering.
 */
async function explained(check: () => Promise<void>, whenUnreachable: (error: unknown) => string = (error) => `unreachable: ${unreachableReason(error)}`): Promise<void> {
  try {
    await check();
  } catch (error) {
    if (error instanceof ReadinessProblem) throw error;
    if (isDatabaseUnavailable(error)) throw new ReadinessProblem(whenUnreachable(error));
    const state = sqlStateOf(error);
    throw new ReadinessProblem(`query failed${state ? ` (SQLSTATE ${state})` : ''}`);
  }
}

/** What a lost or refused connection says: the socket error code, or PostgreSQL's message for a server stopping, starting or recovering. */
function unreachableReason(error: unknown): string {
  const state = sqlStateOf(error);
  const message = String((error as { message?: unknown }).message ?? '');
  if (state && /^57P0[1-3]$/.test(state)) return `${state} ${message}`;
  if (state && /^E[A-Z]+$/.test(state)) return state;
  if (state) return `SQLSTATE ${state}`;
  return /^(Connection terminated|Client has encountered a connection error)/.test(message) ? message : 'connection lost';
}
