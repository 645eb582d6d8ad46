import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ description: 'Where the input is wrong, as a path into the request.', example: 'filter.OR[1].attempts.gt' })
  path: string;

  @ApiProperty({ example: 'expected integer' })
  message: string;
}

/** RFC 9457 problem details: the body of every error response (`application/problem+json`). */
export class ProblemDetailsDto {
  @ApiProperty({ description: 'URI naming the kind of problem; stable, one per `code`.', example: 'urn:problem-type:cleanup-tasks:validation-failed' })
  type: string;

  @ApiProperty({ example: 'Invalid request' })
  title: string;

  @ApiProperty({ description: 'The HTTP status code.', example: 400 })
  status: number;

  @ApiProperty({ description: 'What went wrong, for a person.', example: 'filter.OR[1].attempts.gt: expected integer' })
  detail: string;

  @ApiProperty({ description: 'Stable machine-readable code.', example: 'validation-failed' })
  code: string;

  @ApiPropertyOptional({ description: 'The request path.', example: '/api/cleanup-tasks' })
  instance?: string;

  @ApiPropertyOptional({ description: 'Correlation id of the request, also in the logs.', example: 'req-7' })
  requestId?: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Each invalid input (validation problems only).' })
  errors?: FieldErrorDto[];

  @ApiPropertyOptional({ description: 'The task\'s status when it cannot take the operation (409 only).', example: 'pending' })
  currentStatus?: string;

  @ApiPropertyOptional({ description: 'The task created first for this event key (409 `idempotency-conflict` only).', example: 'ct_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' })
  existingTaskId?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'The time limit the query ran into, in milliseconds (504 `query-timeout` only).', example: 15000 })
  limitMs?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'The most groups a counts request answers (400 `too-many-groups` only).', example: 1000 })
  maxGroups?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', enum: ['up', 'down'] },
    description: 'State of each readiness check (503 from `/health/ready` only).',
    example: { database: 'up', migrations: 'down' },
  })
  checks?: Record<string, string>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Why each readiness check that is down is (503 from `/health/ready` only), e.g. `unreachable: ECONNREFUSED` or `migrations pending`.',
    example: { database: 'unreachable: ECONNREFUSED' },
  })
  reasons?: Record<string, string>;
}
