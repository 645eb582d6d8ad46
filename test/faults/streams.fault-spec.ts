import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { newId } from '@app/common';
import { waitFor } from '../support/scheduler';
import { FAULT_PG_PORT, OwnPostgres } from './support/own-postgres';
import { assertBuildsAreFresh, startApi, stopApis, type ApiProcess } from './support/processes';

const ADMIN = `ctk_fault_admin_${'s'.repeat(32)}`;
const TREE_SIZE = 60_000;

interface Download {
  status: number;
  /** The whole body arrived (a clean end of the HTTP message). */
  complete: boolean;
  bytes: number;
  body: string;
}

/**
 * PostgreSQL stopped (`pg_ctl -m immediate`) while the API streams a task
 * tree to a client and while lists are being answered: the client gets a
 * clean end — 503 before the first byte, or a cut connection after it,
 * never a body that looks whole — and once the server is back the pools
 * serve again without a restart of the API.
 */
describe('PostgreSQL stopped during a tree download and during lists', () => {
  const server = new OwnPostgres('streams', FAULT_PG_PORT + 1);
  let api: ApiProcess;
  let rootId: string;

  beforeAll(async () => {
    assertBuildsAreFresh();
    await server.init();
    await server.start();
    await server.createDatabase('cleanup_tasks');
    // The token stays cached through the outage, so that what answers is the download's and the list's own way to the database.
    api = await startApi({ DATABASE_URL: server.url('cleanup_tasks'), SCHEDULER_ENABLED: 'false', BOOTSTRAP_ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_MINUTE: '1000000', AUTH_CACHE_TTL_MS: '60000' });
    rootId = newId('ct');
    const client = new pg.Client({ connectionString: server.url('cleanup_tasks') });
    await client.connect();
    try {
      await client.query(`INSERT INTO cleanup_tasks (id, workspace_id, resource_type, resource_id) VALUES ($1, 'ws_tree', 'delete_workspace', 'ws_tree')`, [rootId]);
      await client.query(
        `INSERT INTO cleanup_tasks (id, parent_id, workspace_id, resource_type, resource_id, metadata)
         SELECT id, $1, 'ws_tree', 'delete_app', 'app_' || n, jsonb_build_object('note', repeat('x', 200))
           FROM unnest($2::text[]) WITH ORDINALITY AS c(id, n)`,
        [rootId, Array.from({ length: TREE_SIZE }, () => newId('ct'))],
      );
      await client.query('ANALYZE cleanup_tasks');
    } finally {
      await client.end();
    }
  });
  afterAll(async () => {
    await stopApis();
    await server.destroy();
  });

  const headers = { authorization: `Bearer ${ADMIN}` };

  /** GET the tree; `beforeReading` runs after the first chunk, while the client has stopped reading. */
  const download = async (beforeReading?: () => Promise<void>): Promise<Download> => {
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.get(`${api.base}/api/cleanup-tasks/${rootId}/tree`, { headers }, resolve);
      request.on('error', reject);
      request.setTimeout(30_000, () => request.destroy(new Error('no answer within 30 s')));
    });
    const chunks: Buffer[] = [];
    // A cut connection emits 'error' (aborted) before 'close': that is an outcome here, not a failure.
    response.on('error', () => undefined);
    const closed = new Promise((resolve) => response.once('close', resolve));
    const first = new Promise((resolve) => response.once('data', resolve));
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    if (beforeReading) {
      await first;
      response.pause();
      await beforeReading();
      response.resume();
    }
    await closed;
    const body = Buffer.concat(chunks).toString('utf8');
    return { status: response.statusCode!, complete: response.complete, bytes: body.length, body };
  };

  it('cuts the connection of a download in progress, answers 503 before the first byte while down, and streams whole trees again once it is back', async () => {
    const whole = await download();
    expect(whole.status).toBe(200);
    expect(whole.complete).toBe(true);
    expect(JSON.parse(whole.body)).toHaveLength(TREE_SIZE + 1);

    const cut = await download(async () => {
      // Let the server fill the socket and wait for the reader (backpressure): the rest is still in the cursor.
      await sleep(500);
      await server.crash();
    });
    expect({ status: cut.status, complete: cut.complete }).toEqual({ status: 200, complete: false });
    expect(cut.bytes).toBeLessThan(whole.bytes);
    expect(() => JSON.parse(cut.body)).toThrow();

    const whileDown = await download();
    expect({ status: whileDown.status, complete: whileDown.complete, code: JSON.parse(whileDown.body).code }).toEqual({ status: 503, complete: true, code: 'database-unavailable' });

    await server.start();
    const again = await waitFor('a whole tree again', async () => {
      const attempt = await download();
      return attempt.status === 200 ? attempt : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    expect(again.complete).toBe(true);
    expect(JSON.parse(again.body)).toHaveLength(TREE_SIZE + 1);
  });

  it('answers lists in flight and during the outage 200 or 503 database-unavailable (never a hang, a 500 or a cut connection), and serves lists again once it is back', async () => {
    const answers: { status: number | string; code?: string }[] = [];
    let running = true;
    // A list that reads every task of the tree (a LIKE over resource ids, and the exact total): some are always in flight.
    const url = `${api.base}/api/cleanup-tasks?${new URLSearchParams({ filter: JSON.stringify({ resourceId: { contains: '9' } }), limit: '100' })}`;
    const loop = async () => {
      for (let i = 0; running && i < 10_000; i++) {
        try {
          const response = await fetch(url, { headers, signal: AbortSignal.timeout(20_000) });
          const body = (await response.json()) as { code?: string };
          answers.push({ status: response.status, code: body.code });
        } catch (error) {
          answers.push({ status: String(error) });
        }
      }
    };
    const loops = Promise.all(Array.from({ length: 6 }, loop));
    await waitFor('lists to be answered', async () => answers.length >= 12, { timeoutMs: 20_000, intervalMs: 50 });
    await server.crash();
    await sleep(2000);
    await server.start();
    const restartedAt = answers.length;
    await waitFor('lists to be answered again', async () => answers.slice(restartedAt).filter((answer) => answer.status === 200).length >= 6, { timeoutMs: 20_000, intervalMs: 100 });
    running = false;
    await loops;

    expect(answers.filter((answer) => !(answer.status === 200 || (answer.status === 503 && answer.code === 'database-unavailable')))).toEqual([]);
    expect(answers.some((answer) => answer.status === 503)).toBe(true);
    expect(api.child.exitCode).toBeNull();
  });
});
