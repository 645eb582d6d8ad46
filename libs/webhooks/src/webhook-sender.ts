import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { nonPublicRange } from './webhook-target-policy';

/** Most of a receiver's answer that is read (and thrown away); beyond it the connection is closed. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface WebhookPost {
  url: string;
  body: string;
  /** The signing headers (webhook-id, -timestamp, -signature). */
  headers: Record<string, string>;
}

/** One attempt's outcome, as the deliveries log shows it. */
export interface WebhookAttemptResult {
  /** 2xx: delivered. */
  ok: boolean;
  /** The receiver's status, or null when none came (refused, unreachable, timed out). */
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface WebhookPostOptions {
  timeoutMs: number;
  /** Why an address must not be connected to, or undefined when it may. */
  refuse: (address: string) => string | undefined;
  /** Name resolution (dns.lookup, every address); called once per attempt. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
  /** Aborts the attempt (shutdown). */
  signal?: AbortSignal;
}

/** The policy of WEBHOOKS_ALLOW_PRIVATE_TARGETS: public addresses only, unless allowed. */
export function targetPolicy(allowPrivateTargets: boolean): (address: string) => string | undefined {
  return allowPrivateTargets ? () => undefined : nonPublicRange;
}

const systemResolve = (hostname: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

class TargetRefusedError extends Error {}

/**
 * POSTs one signed webhook. The SSRF guard sits where the connection is made:
 * the target's name is resolved once, every address it resolves to is
 * checked, and the socket connects to one of exactly those addresses (the
 * `lookup` hook of the request), so a name that resolves to a public address
 * for the check and a private one for the connection (DNS rebinding) cannot
 * slip through. An IP literal is checked as it is (Node does not look it
 * up). Redirects are not followed: a 3xx is a failed attempt. TLS verifies
 * the certificate against the URL's host name as usual. No connection is
 * reused (a pooled socket would skip the check).
 */
export function postWebhook(post: WebhookPost, options: WebhookPostOptions): Promise<WebhookAttemptResult> {
  const started = performance.now();
  const outcome = (statusCode: number | null, error: string | null): WebhookAttemptResult => ({
    ok: error === null,
    statusCode,
    durationMs: Math.round(performance.now() - started),
    error,
  });

  let url: URL;
  try {
    url = new URL(post.url);
  } catch {
    return Promise.resolve(outcome(null, 'refused: not a valid URL'));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.resolve(outcome(null, `refused: ${url.protocol} is not http or https`));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) {
    const range = options.refuse(host);
    if (range) return Promise.resolve(outcome(null, `refused: ${host} is a ${range} address (WEBHOOKS_ALLOW_PRIVATE_TARGETS is off)`));
  }

  const resolve = options.resolve ?? systemResolve;
  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (addresses) => {
        for (const { address } of addresses) {
          const range = options.refuse(address);
          if (range) {
            callback(new TargetRefusedError(`refused: ${hostname} resolves to ${address}, a ${range} address (WEBHOOKS_ALLOW_PRIVATE_TARGETS is off)`), '', 4);
            return;
          }
        }
        const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : undefined;
        const usable = family ? addresses.filter((address) => address.family === family) : addresses;
        if (usable.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
        } else if (lookupOptions.all) {
          (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, usable);
        } else {
          callback(null, usable[0].address, usable[0].family);
        }
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 4),
    );
  };

  return new Promise<WebhookAttemptResult>((settle) => {
    let done = false;
    const finish = (statusCode: number | null, error: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      settle(outcome(statusCode, error));
    };
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent: false,
      lookup: guardedLookup,
      signal: options.signal,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(post.body),
        'user-agent': 'cleanup-tasks-webhooks/1',
        ...post.headers,
      },
    });
    const timer = setTimeout(() => request.destroy(new Error(`timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('error', (error: Error) => finish(null, describe(error)));
    request.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const error = status >= 200 && status < 300 ? null : answered(response);
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) response.destroy();
      });
      response.on('end', () => finish(status, error));
      response.on('close', () => finish(status, error));
      response.on('error', () => finish(status, error));
    });
    request.end(post.body);
  });
}

function answered(response: IncomingMessage): string {
  const status = `answered ${response.statusCode}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
  const location = response.headers.location;
  return location ? `${status}; redirect to ${location.slice(0, 200)} not followed` : status;
}

function describe(error: Error): string {
  if (error instanceof TargetRefusedError) return error.message;
  if (error.name === 'AbortError') return 'interrupted: the process was shutting down';
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
