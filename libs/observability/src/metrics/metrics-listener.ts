import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokensService } from '@app/auth';
import { AppConfig, isDatabaseUnavailable, PROBLEM_CONTENT_TYPE, problemType } from '@app/common';
import { HttpMetrics, UNMATCHED_ROUTE } from './http-metrics';
import { METRICS_ROLES } from './metrics-access';
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './metrics-registry';

const BEARER = /^Bearer +(\S+)$/i;
const METRICS_PATH = '/metrics';

/**
 * `GET /metrics` for a deployable without an API (the worker), on
 * METRICS_PORT: the same exposition and the same token rule as the API's
 * (an admin or `metrics` bearer token), and nothing else on that port.
 */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('MetricsListener');
  private server?: Server;

  constructor(
    private readonly registry: MetricsRegistry,
    private readonly tokens: TokensService,
    private readonly httpMetrics: HttpMetrics,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((request, response) => void this.serve(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.METRICS_PORT, this.config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** `http://host:port/metrics`, once listening. */
  get url(): string | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) return undefined;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}${METRICS_PATH}`;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const path = (request.url ?? '').split('?')[0];
    const matched = path === METRICS_PATH;
    response.once('finish', () =>
      this.httpMetrics.observe(request.method ?? 'GET', matched ? METRICS_PATH : UNMATCHED_ROUTE, response.statusCode, Number(process.hrtime.bigint() - started) / 1e9),
    );
    try {
      if (!matched) return problem(response, 404, 'not-found', `Only GET ${METRICS_PATH} is served on this port.`);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('Allow', 'GET, HEAD');
        return problem(response, 405, 'method-not-allowed', `${METRICS_PATH} answers GET only.`);
      }
      const secret = BEARER.exec(request.headers.authorization ?? '')?.[1];
      const principal = secret ? await this.tokens.authenticate(secret) : null;
      if (!principal) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="cleanup-tasks"');
        return problem(response, 401, 'unauthenticated', 'A valid bearer token is required: send `Authorization: Bearer <token>`.');
      }
      if (!METRICS_ROLES.includes(principal.role)) return problem(response, 403, 'forbidden', 'This operation needs an admin or metrics token.');
      const body = await this.registry.exposition();
      response.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        response.setHeader('Retry-After', '5');
        return problem(response, 503, 'database-unavailable', 'The database is unreachable and this token has not been checked lately; retry later.');
      }
      this.logger.error({ err: error }, 'serving /metrics failed');
      problem(response, 500, 'internal-error', 'The metrics could not be produced.');
    }
  }
}

function problem(response: ServerResponse, status: number, code: string, detail: string): void {
  const body = JSON.stringify({ type: problemType(code), title: STATUS_CODES[status], status, detail, code, instance: METRICS_PATH });
  response.writeHead(status, { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Cache-Control': 'no-store' });
  response.end(body);
}
