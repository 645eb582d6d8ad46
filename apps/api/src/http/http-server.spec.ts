import { afterEach, describe, expect, it } from '@jest/globals';
import type { Express, Request, Response } from 'express';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CleanupTasksExpressAdapter } from './http-server';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('CleanupTasksExpressAdapter', () => {
  let server: http.Server | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(): Promise<{ app: Express; port: number; born: Array<{ request: object; response: object }> }> {
    const adapter = new CleanupTasksExpressAdapter();
    adapter.initHttpServer({});
    const app = adapter.getInstance<Express>();
    server = adapter.getHttpServer() as http.Server;
    // Runs before Express's own listener: the objects exactly as Node created them.
    const born: Array<{ request: object; response: object }> = [];
    server.prependListener('request', (request: object, response: object) => born.push({ request: Object.getPrototypeOf(request) as object, response: Object.getPrototypeOf(response) as object }));
    app.get('/echo', (request: Request, response: Response) => {
      response.json({ query: request.query, host: request.get('host') !== undefined, sameApp: request.app === app });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { app, port: (server.address() as AddressInfo).port, born };
  }

  it("creates requests and responses with Express's prototypes, so Express need not switch them per request", async () => {
    const { app, port, born } = await serve();
    await get(port, '/echo?a=1');
    await get(port, '/echo?a=2');
    expect(born).toHaveLength(2);
    for (const { request, response } of born) {
      expect(request).toBe(app.request);
      expect(response).toBe(app.response);
    }
  });

  it('serves Express requests as before (query, helpers, app reference)', async () => {
    const { port } = await serve();
    const answer = await get(port, '/echo?a=1&b=two');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ query: { a: '1', b: 'two' }, host: true, sameApp: true });
  });
});
