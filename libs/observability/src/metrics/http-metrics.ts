import { Injectable } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { Histogram } from 'prom-client';
import { MetricsRegistry } from './metrics-registry';

/** The `route` of requests that matched no route, or were refused before routing: one series, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * `http_request_duration_seconds{method, route, status_code}`. `route` is
 * the matched route's template (`/api/cleanup-tasks/:id`), never the path,
 * so the series stay bounded: a request that matched no route (404, or
 * refused before routing: rate limit, over-long request line, parse errors)
 * counts as `unmatched`. `method` is bounded too: Node's parser accepts only
 * the methods it knows.
 */
@Injectable()
export class HttpMetrics {
  private readonly duration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(registry: MetricsRegistry) {
    this.duration = registry.histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests: time from arrival to the end of the response, by route template',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
  }

  /**
   * Express middleware, first in the chain (so that requests refused by the
   * middlewares after it are counted too). The route template also names the
   * request's trace span (`GET /api/cleanup-tasks/:id`), which the HTTP
   * instrumentation alone would call `GET`.
   */
  middleware(): (request: Request, response: Response, next: NextFunction) => void {
    return (request, response, next) => {
      const started = process.hrtime.bigint();
      const span = trace.getActiveSpan();
      response.once('finish', () => {
        const route = request.route ? `${request.baseUrl}${(request.route as { path: string }).path}` : UNMATCHED_ROUTE;
        this.observe(request.method, route, response.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
        if (span && route !== UNMATCHED_ROUTE) {
          span.setAttribute('http.route', route);
          span.updateName(`${request.method} ${route}`);
        }
      });
      next();
    };
  }

  /** A request answered outside Express (the HTTP parser refused it, or a listener of our own served it). */
  observe(method: string, route: string, statusCode: number, seconds: number): void {
    this.duration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }
}
