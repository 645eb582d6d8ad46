import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import type { DomainError } from '../errors/domain-errors';
import { problemType, PROBLEM_CONTENT_TYPE } from '../errors/problem';
import { ProblemDetailsDto } from './problem-details.dto';

const CODES: Record<number, string> = {
  400: 'validation-failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'payload-too-large',
  414: 'uri-too-long',
  429: 'rate-limited',
  503: 'unavailable',
};

/**
 * Documents an error response: problem+json with the ProblemDetails schema and
 * an example of this status (not one generic example for every error).
 */
export function ApiProblem(status: number, description: string, example: Partial<ProblemDetailsDto> & Record<string, unknown> = {}) {
  const code = example.code ?? CODES[status] ?? 'error';
  return applyDecorators(
    ApiExtraModels(ProblemDetailsDto),
    ApiResponse({
      status,
      description,
      content: {
        [PROBLEM_CONTENT_TYPE]: {
          schema: { $ref: getSchemaPath(ProblemDetailsDto) },
          example: {
            type: problemType(code),
            title: status === 400 ? 'Invalid request' : STATUS_CODES[status],
            status,
            detail: description,
            code,
            requestId: '5f0c2d7e-0d7c-4d0b-9a59-8f4a1c3e2b10',
            ...example,
          },
        },
      },
    }),
  );
}

/**
 * Documents the answer to a domain error with that error itself as the
 * example (status, code, title, detail and extension members exactly as the
 * server sends them), so the two cannot drift apart.
 */
export function ApiDomainProblem(description: string, error: DomainError) {
  return ApiProblem(error.status, description, { code: error.code, title: error.title, detail: error.message, ...error.extensions });
}
