import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './scheduler';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  receivedAt: number;
}

/** What the receiver answers to one request: a status (and headers), or nothing at all. */
export type ReceiverAnswer = { status: number; headers?: Record<string, string> } | 'hang';

/**
 * Listens on a loopback port: in TEST_SERVER_PORTS (`from-to`) when set, so
 * that parallel runs on one machine keep to their own ranges; else any free
 * port.
 */
export async function listenOnLoopback(server: Server): Promise<number> {
  const range = process.env.TEST_SERVER_PORTS?.match(/^(\d+)-(\d+)$/);
  if (!range) return listen(server, 0);
  const [from, to] = [Number(range[1]), Number(range[2])];
  const start = from + Math.floor(Math.random() * (to - from + 1));
  for (let i = 0; i <= to - from; i++) {
    try {
      return await listen(server, from + ((start - from + i) % (to - from + 1)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw new Error(`no free port in TEST_SERVER_PORTS=${process.env.TEST_SERVER_PORTS}`);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** A webhook receiver on loopback that records every request and answers as told (200 by default). */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: (request: ReceivedWebhook) => ReceiverAnswer = () => ({ status: 200 });
  private readonly hanging = new Set<ServerResponse>();
  /** Most requests left unanswered at the same time (answer 'hang'), until their client gave up. */
  maxHanging = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** On `port` if given (a receiver coming back where it was), else on a free one. */
  static async start(port?: number): Promise<WebhookReceiver> {
    const handlers: { handle?: (request: IncomingMessage, response: ServerResponse) => void } = {};
    const server = createServer((request, response) => handlers.handle!(request, response));
    const receiver = new WebhookReceiver(server, port === undefined ? await listenOnLoopback(server) : await listen(server, port));
    handlers.handle = (request, response) => receiver.handle(request, response);
    return receiver;
  }

  /** `http://127.0.0.1:<port><path>` */
  url(path = '/hooks'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Waits until at least `count` requests have arrived matching `which`; returns them. */
  async waitForRequests(count: number, which: (webhook: ReceivedWebhook) => boolean = () => true, timeoutMs = 15_000): Promise<ReceivedWebhook[]> {
    return waitFor(`${count} webhook request(s)`, async () => {
      const matching = this.received.filter(which);
      return matching.length >= count ? matching : undefined;
    }, { timeoutMs });
  }

  async close(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const webhook: ReceivedWebhook = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() };
      this.received.push(webhook);
      const answer = this.answer(webhook);
      if (answer === 'hang') {
        this.hanging.add(response);
        this.maxHanging = Math.max(this.maxHanging, this.hanging.size);
        response.on('close', () => this.hanging.delete(response));
        return;
      }
      response.writeHead(answer.status, answer.headers).end();
    });
  }
}
