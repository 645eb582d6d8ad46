import type { NestExpressApplication } from '@nestjs/platform-express';
import { NestFactory } from '@nestjs/core';
import { TokensService } from '@app/auth';
import { createLogger } from '@app/common';
import { HttpMetrics, UNMATCHED_ROUTE } from '@app/observability';
import helmet from 'helmet';
import { AppModule, type AppModuleOptions } from './app.module';
import { noStoreExceptUnder } from './http/cache-control';
import { CleanupTasksExpressAdapter, rejectLongRequestLines } from './http/http-server';
import { rejectDeeplyNestedBodies } from './http/json-depth';
import { createRateLimiter } from './http/rate-limit';
import { SharedRateLimitStore } from './http/shared-rate-limit.store';
import { requestContext } from './http/request-context';
import { buildOpenApiDocument, DOCS_JSON_PATH, DOCS_PATH, setupSwaggerUi } from './openapi';

/**
 * The configured application, not yet listening: used by `main.ts` and by
 * the e2e tests alike, so that tests exercise exactly what runs.
 */
export async function createApp(options: AppModuleOptions): Promise<NestExpressApplication> {
  const adapter = new CleanupTasksExpressAdapter();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(options), adapter, {
    logger: createLogger(options.config.LOG_LEVEL),
    bodyParser: false,
    // Let start-up errors reach the caller (main prints a clear message; tests see the cause).
    abortOnError: false,
  });
  // On SIGTERM/SIGINT: shut down in order (scheduler, pools, the embedded PostgreSQL), then exit 0, as the worker does.
  app.enableShutdownHooks([], { useProcessExit: true });
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // request.ip: the connection's address, or the client X-Forwarded-For names when the connection comes from a proxy TRUST_PROXY trusts.
  app.set('trust proxy', options.config.TRUST_PROXY);
  // No ETag: API answers are no-store (see noStoreExceptUnder) and live, so
  // nothing revalidates them, and hashing every body (~40 KB for a page of
  // 100 tasks) cost ~0.09 ms of CPU per request (docs/benchmarks.md).
  app.set('etag', false);
  // First: the request metrics see every answer, those of the middlewares below included (429, 414…).
  const httpMetrics = app.get(HttpMetrics);
  app.use(httpMetrics.middleware());
  adapter.onParserRefusal = ({ method, status, seconds }) => httpMetrics.observe(method, UNMATCHED_ROUTE, status, seconds);
  app.use(requestContext());
  app.use(rejectLongRequestLines);
  const tokens = app.get(TokensService);
  app.use(
    createRateLimiter({
      requestsPerMinute: options.config.RATE_LIMIT_PER_MINUTE,
      store: app.get(SharedRateLimitStore),
      knownClientKey: (secret) => tokens.knownClientKey(secret),
    }),
  );
  // Swagger UI runs inline scripts and styles; the API itself returns JSON only.
  app.use(helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false }));
  app.use(noStoreExceptUnder(`/${DOCS_PATH}`, `/${DOCS_JSON_PATH}`));
  app.useBodyParser('json', { limit: '64kb', type: ['application/json', 'application/*+json'] });
  app.use(rejectDeeplyNestedBodies);
  setupSwaggerUi(app, buildOpenApiDocument(app));
  return app;
}
