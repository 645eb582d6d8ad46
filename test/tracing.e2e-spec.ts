import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFor } from '@app/database';
import { waitFor } from './support/scheduler';
import { createTestDatabase } from './support/test-app';

/** The built API (npm run build; `npm test` builds first): auto-instrumentation needs Node's own module loading, which Jest's ESM mode bypasses. */
const MAIN = join(process.cwd(), 'dist/apps/api/apps/api/src/main.js');
const ADMIN_TOKEN = `ctk_tracing_test_${randomBytes(16).toString('hex')}`;

/** A span as OTLP/JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  scope: string;
  service: string;
}

/** An OTLP/HTTP collector on loopback: keeps the spans of every export request (JSON encoding). */
async function startCollector(): Promise<{ server: Server; endpoint: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { scope: { name: string }; spans: Omit<OtlpSpan, 'scope' | 'service'>[] }[] }[];
        };
        for (const resourceSpans of payload.resourceSpans) {
          const service = String(resourceSpans.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue);
          for (const scopeSpans of resourceSpans.scopeSpans) {
            for (const span of scopeSpans.spans) spans.push({ ...span, scope: scopeSpans.scope.name, service });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

const attribute = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes.find((candidate) => candidate.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
};

describe('Tracing [OTEL_EXPORTER_OTLP_ENDPOINT] (built API, in a child process)', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: DataSource;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let child: ChildProcess;
  let output = '';
  let exited: Promise<void>;
  let base: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await new DataSource(buildDataSourceOptions(databaseSettingsFor(database.url))).initialize();
    collector = await startCollector();
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: database.url,
        PORT: '0',
        BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) => child.once('close', () => resolve()));
    base = (await waitFor('the API to listen', async () => {
      if (child.exitCode !== null) throw new Error(`the API exited:\n${output}`);
      return /listening on (http:\/\/\S+)/.exec(output)?.[1];
    }, { timeoutMs: 30_000 }))!;
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000, undefined).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await new Promise<void>((resolve) => collector?.server.close(() => resolve()));
    await db?.destroy();
    await database?.drop();
  });

  it("exports an enqueue's trace: the caller's traceparent, its SQL under the HTTP span, the task's attempt (and its SQL) in the same trace under it; logs carry the trace id", async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const response = await fetch(`${base}/api/cleanup-tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpanId}-01` },
      body: JSON.stringify({ resourceType: 'delete_workspace', resourceId: 'ws_traced', workspaceId: 'ws_traced', sourceEventId: 'evt_traced' }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };

    const inTrace = () => collector.spans.filter((span) => span.traceId === traceId);
    const attempt = await waitFor('the attempt span to be exported', async () => inTrace().find((span) => span.name === 'attempt delete_workspace'), { timeoutMs: 20_000 });
    const spans = inTrace();
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const isUnder = (span: OtlpSpan, ancestor: OtlpSpan): boolean => {
      for (let parent = span.parentSpanId && byId.get(span.parentSpanId); parent; parent = parent.parentSpanId && byId.get(parent.parentSpanId)) {
        if (parent.spanId === ancestor.spanId) return true;
      }
      return false;
    };

    // The HTTP span continues the caller's trace and is named by the route template.
    const http = spans.find((span) => span.scope === '@opentelemetry/instrumentation-http' && span.name === 'POST /api/cleanup-tasks');
    expect(http).toBeDefined();
    expect(http!.parentSpanId).toBe(callerSpanId);
    expect(attribute(http!, 'http.route')).toBe('/api/cleanup-tasks');
    expect(http!.service).toBe('cleanup-tasks-api');

    // The request's SQL under it: among them the insert of the task.
    const sql = spans.filter((span) => span.scope === '@opentelemetry/instrumentation-pg');
    const insert = sql.find((span) => String(attribute(span, 'db.query.text') ?? attribute(span, 'db.statement')).startsWith('INSERT INTO cleanup_tasks'));
    expect(insert && isUnder(insert, http!)).toBe(true);

    // The attempt ran later (the scheduler), yet belongs to the request that enqueued it, with its own SQL under it.
    expect(isUnder(attempt, http!)).toBe(true);
    expect(attribute(attempt, 'cleanup_task.id')).toBe(id);
    expect(attribute(attempt, 'cleanup_task.outcome')).toBe('success');
    expect(sql.filter((span) => isUnder(span, attempt)).length).toBeGreaterThan(0);
    const [stored] = await db.query(`SELECT trace_parent FROM cleanup_tasks WHERE id = $1`, [id]);
    expect(stored.trace_parent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    // Log lines written inside the trace carry its id: the request's access line, for one.
    const accessLine = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { context?: string; traceId?: string; message?: { path?: string } })
      .find((line) => line.context === 'HTTP' && line.message?.path === '/api/cleanup-tasks');
    expect(accessLine?.traceId).toBe(traceId);
  });
});
