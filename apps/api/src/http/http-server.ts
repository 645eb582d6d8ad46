import { ExpressAdapter } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, problemType } from '@app/common';

/** The contract: request lines up to 64 KiB are served (long filters fit URL-encoded); longer → 414. */
export const MAX_REQUEST_LINE_BYTES = 64 * 1024;
/** Node's parser limit for request line + headers; above the request-line limit so that 414 is ours to answer. */
const MAX_HEADER_BYTES = 128 * 1024;

function problemBody(status: number, code: string, title: string, detail: string): string {
  return JSON.stringify({ type: problemType(code), title, status, detail, code });
}

/** A request the HTTP parser refused (it never reached Express): for the request metrics. */
export interface ParserRefusal {
  /** The request's method when the refused bytes begin with a known one, else `UNKNOWN`. */
  method: string;
  status: number;
  /** Since the connection opened: the request's whole time on a connection's first request. */
  seconds: number;
}

/**
 * Express adapter whose HTTP server accepts request lines past Node's 16 KiB
 * default, answers parser-level rejections as problem+json too (and reports
 * them to `onParserRefusal`), and creates requests and responses that are
 * born with Express's prototypes.
 */
export class CleanupTasksExpressAdapter extends ExpressAdapter {
  onParserRefusal?: (refusal: ParserRefusal) => void;

  override initHttpServer(options: { forceCloseConnections?: boolean } = {}): void {
    const app = this.getInstance<{ request: http.IncomingMessage; response: http.ServerResponse }>();
    const server = http.createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        // Express gives every request and response its own prototypes with
        // Object.setPrototypeOf; done on an object that already exists, that
        // makes V8 keep most of each request's short-lived objects past the
        // young-generation collections (3–4 ms pauses every ~40 requests of a
        // page of 100 tasks instead of ~0.2 ms; docs/benchmarks.md). Objects
        // created with those prototypes make Express's call a no-op.
        IncomingMessage: withPrototype(http.IncomingMessage, app.request),
        ServerResponse: withPrototype(http.ServerResponse, app.response),
      },
      this.getInstance(),
    );
    const connectedAt = new WeakMap<Socket, bigint>();
    server.on('connection', (socket: Socket) => connectedAt.set(socket, process.hrtime.bigint()));
    server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
      const status = onClientError(error, socket);
      if (status === undefined) return;
      const since = connectedAt.get(socket);
      this.onParserRefusal?.({ method: methodOf(error.rawPacket), status, seconds: since === undefined ? 0 : Number(process.hrtime.bigint() - since) / 1e9 });
    });
    this.httpServer = server;
    if (options.forceCloseConnections) {
      (this as unknown as { trackOpenConnections(): void }).trackOpenConnections();
    }
  }
}

/**
 * A constructor for `base` whose instances have `prototype` (which inherits
 * from `base.prototype`) from birth, as Node's `createServer` options expect.
 * It runs `base` on the new object: Node's IncomingMessage and ServerResponse
 * are plain constructor functions. (`Reflect.construct` with this function as
 * `newTarget` would work for classes too, but measured as slow as Express's
 * own prototype switch.)
 */
function withPrototype<T extends typeof http.IncomingMessage | typeof http.ServerResponse>(base: T, prototype: object): T {
  if (!(prototype instanceof base)) throw new TypeError(`Express's ${base.name} prototype does not inherit from Node's`);
  const construct = function (this: object, ...args: unknown[]): void {
    Reflect.apply(base, this, args);
  };
  construct.prototype = prototype;
  return construct as unknown as T;
}

/**
 * Whether Node's header-size overflow happened in the request line (414)
 * rather than in the header fields (431). The parser hands over only the
 * chunk it was reading (`rawPacket`), often the last of several:
 * - no line end in it: the chunk lies inside one long line; taken as the
 *   request line (a single header field that long is answered 414 too);
 * - its first line is a whole request line: its length decides;
 * - its first line ends a request line that began in an earlier chunk: where
 *   it ends in the connection's byte stream is its length (exact on a
 *   connection's first request; earlier requests on it only add to it);
 * - else the request line ended in an earlier chunk: the header fields
 *   overflowed.
 */
function overflowInRequestLine(packet: Buffer | undefined, bytesRead: number): boolean {
  if (!packet) return true;
  const lineEnd = packet.indexOf('\r\n');
  if (lineEnd < 0) return true;
  const firstLine = packet.subarray(0, lineEnd).toString('latin1');
  if (!/ HTTP\/\d\.\d$/.test(firstLine)) return false;
  if (/^[A-Z]+ \S+ HTTP\/\d\.\d$/.test(firstLine)) return lineEnd > MAX_REQUEST_LINE_BYTES;
  return bytesRead - packet.length + lineEnd > MAX_REQUEST_LINE_BYTES;
}

/** Answers a request the parser refused; returns the status sent, or undefined when the connection was only closed. */
function onClientError(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket): number | undefined {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return undefined;
  }
  let status = 400;
  let body = problemBody(400, 'bad-request', 'Bad Request', 'The HTTP request could not be parsed.');
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const requestLineTooLong = overflowInRequestLine(error.rawPacket, socket.bytesRead);
    status = requestLineTooLong ? 414 : 431;
    body = requestLineTooLong
      ? problemBody(414, 'uri-too-long', 'URI Too Long', `The request line exceeds ${MAX_REQUEST_LINE_BYTES} bytes.`)
      : problemBody(431, 'headers-too-large', 'Request Header Fields Too Large', 'The request headers are too large.');
  }
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  return status;
}

function methodOf(packet: Buffer | undefined): string {
  const token = packet?.toString('latin1', 0, 20).split(' ')[0] ?? '';
  return http.METHODS.includes(token) ? token : 'UNKNOWN';
}

/** Express middleware: 414 for a request line (method, URL, version) over the limit. */
export function rejectLongRequestLines(request: Request, response: Response, next: NextFunction): void {
  // `METHOD SP request-target SP HTTP/1.1`: the request line of RFC 9112, without its CRLF.
  const lineLength = request.method.length + request.originalUrl.length + 10;
  if (lineLength > MAX_REQUEST_LINE_BYTES) {
    response.status(414).type(PROBLEM_CONTENT_TYPE).send(problemBody(414, 'uri-too-long', 'URI Too Long', `The request line exceeds ${MAX_REQUEST_LINE_BYTES} bytes.`));
    return;
  }
  next();
}
