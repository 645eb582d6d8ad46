import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, DECORATORS, getSchemaPath } from '@nestjs/swagger';
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

/** Response headers a problem comes with, as OpenAPI header objects by name. */
type ProblemHeaders = Record<string, { description: string; schema: { type: string } }>;

/** What the headers of a domain error mean (those it may carry). */
const HEADER_DOCS: Record<string, ProblemHeaders[string]> = {
  'Retry-After': { description: 'Seconds to wait before sending the request again.', schema: { type: 'integer' } },
};

/**
 * Documents an error response: problem+json with the ProblemDetails schema and
 * an example of this status (not one generic example for every error). Two
 * problems of one status on a route (503 `busy` and 503
 * `database-unavailable`) become one response with an example of each,
 * named by code, and the headers of both.
 */
export function ApiProblem(status: number, description: string, example: Partial<ProblemDetailsDto> & Record<string, unknown> = {}, headers: ProblemHeaders = {}) {
  const code = example.code ?? CODES[status] ?? 'error';
  const value = {
    type: problemType(code),
    title: status === 400 ? 'Invalid request' : STATUS_CODES[status],
    status,
    detail: description,
    code,
    requestId: '5f0c2d7e-0d7c-4d0b-9a59-8f4a1c3e2b10',
    ...example,
  };
  const schema = { $ref: getSchemaPath(ProblemDetailsDto) };
  const withHeaders = Object.keys(headers).length > 0 ? { headers } : {};
  const single = ApiResponse({ status, description, ...withHeaders, content: { [PROBLEM_CONTENT_TYPE]: { schema, example: value } } });
  const merged = (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor?.value as object | undefined) ?? target;
    const responses = (Reflect.getMetadata(DECORATORS.API_RESPONSE, holder) ?? {}) as Record<string, DocumentedResponse>;
    const existing = responses[status];
    const media = existing?.content?.[PROBLEM_CONTENT_TYPE];
    if (!existing || !media) return single(target, key!, descriptor!);
    // Decorators apply bottom-up: the one written above comes first, as in the source.
    const below: Record<string, { summary: string; value: unknown }> = media.examples ?? {
      [String((media.example as { code?: unknown })?.code ?? 'first')]: { summary: existing.description, value: media.example },
    };
    const examples = { [below[code] ? `${code}-${Object.keys(below).length + 1}` : code]: { summary: description, value }, ...below };
    Reflect.defineMetadata(
      DECORATORS.API_RESPONSE,
      {
        ...responses,
        [status]: {
          ...existing,
          description: `${description}\n\n${existing.description}`,
          ...(existing.headers || withHeaders.headers ? { headers: { ...existing.headers, ...headers } } : {}),
          content: { [PROBLEM_CONTENT_TYPE]: { schema, examples } },
        },
      },
      holder,
    );
    return descriptor ?? target;
  };
  return applyDecorators(ApiExtraModels(ProblemDetailsDto), merged as MethodDecorator & ClassDecorator);
}

/** What ApiResponse stored for one status (as far as merging problems needs it). */
interface DocumentedResponse {
  description: string;
  headers?: ProblemHeaders;
  content?: Record<string, { schema?: unknown; example?: unknown; examples?: Record<string, { summary: string; value: unknown }> }>;
}

/**
 * Documents the answer to a domain error with that error itself as the
 * example (status, code, title, detail and extension members exactly as the
 * server sends them), so the two cannot drift apart.
 */
export function ApiDomainProblem(description: string, error: DomainError) {
  const headers = Object.fromEntries(Object.keys(error.headers).filter((name) => HEADER_DOCS[name]).map((name) => [name, HEADER_DOCS[name]]));
  return ApiProblem(error.status, description, { code: error.code, title: error.title, detail: error.message, ...error.extensions }, headers);
}
