import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[\w.:-]{1,100}$/;

/**
 * Gives each request an id (the caller's `X-Request-Id` when well-formed),
 * echoes it in the response and logs one access line when the response ends.
 * Error documents carry the same id, so a report can be matched to the logs.
 */
export function requestContext(): (request: Request, response: Response, next: NextFunction) => void {
  const logger = new Logger('HTTP');
  return (request, response, next) => {
    const incoming = request.header('x-request-id');
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    (request as Request & { id: string }).id = id;
    response.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      if (request.path.startsWith('/health')) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.log({ requestId: id, method: request.method, path: request.path, status: response.statusCode, ms: Math.round(ms * 10) / 10 });
    });
    next();
  };
}
