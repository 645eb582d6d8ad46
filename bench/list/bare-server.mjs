// The comparison server for bench:list: the list request's own work (the DSL
// parsed, the statement built and run, the same body: tasks' JSON from
// PostgreSQL plus pageInfo with signed cursors) behind a bare node:http server
// over a pg pool, in a process of its own, without Nest, Express, middleware
// or authentication. What it adds to the direct SQL is the HTTP hop and that
// work; what the API adds beyond it is the framework's and the middleware's.
//
// Usage: node bench/list/bare-server.mjs <database url> <cursor secret> — prints
// "listening on http://127.0.0.1:<port>" and serves until SIGTERM. Every caller
// is an admin, unless the header `x-bench-scope` lists workspace ids (a member).
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { resolve } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';

const dist = resolve(import.meta.dirname, '../../dist/apps/api');
const { CursorCodec, cursorValuesOf, resolvePage } = await import(`${dist}/libs/query-dsl/src/index.js`);
const { parseListQuery } = await import(`${dist}/libs/cleanup-tasks/src/dto/list-cleanup-tasks.query.js`);
const { prepareTaskList } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-tasks.service.js`);
const { listStatement, DEFAULT_TASK_LIST_OPTIONS, listStatementCache } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-tasks.repository.js`);
const { CLEANUP_TASK_QUERY_FIELDS } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-task.query-fields.js`);
const { CleanupTask } = await import(`${dist}/libs/cleanup-tasks/src/cleanup-task.entity.js`);
const { databaseSettingsFor, poolConfig } = await import(`${dist}/libs/database/src/database-settings.js`);

const [databaseUrl, secret] = process.argv.slice(2);
// The app's session settings (they shape the plans: random_page_cost), from the app's own definition.
const pool = new pg.Pool(poolConfig(databaseSettingsFor(databaseUrl), { name: 'bare', max: 10 }));
// The task entity's DataSource, as the app's repository has it: the statement
// of each request shape is built with its QueryBuilder (its metadata) once
// and kept in `statements`; statements run on the pool above.
const dataSource = await new DataSource({ type: 'postgres', url: databaseUrl, entities: [CleanupTask], poolSize: 1 }).initialize();
const codec = new CursorCodec(secret);
const statements = listStatementCache();

async function page(url, scope) {
  const { criteria, fingerprint } = prepareTaskList(parseListQuery(Object.fromEntries(url.searchParams)), scope, codec);
  const statement = listStatement(dataSource, criteria, DEFAULT_TASK_LIST_OPTIONS, statements);
  const { rows } = await pool.query({ text: statement.query, values: statement.parameters });
  const tasks = rows[0].task === null ? [] : rows.map((row) => row.task);
  const resolved = resolvePage(statement.page, tasks, { hasPrevious: rows[0].has_previous, hasNext: rows[0].has_next });
  const cursor = (task) => (task === undefined ? null : codec.encode(cursorValuesOf(JSON.parse(task), criteria.orderBy, CLEANUP_TASK_QUERY_FIELDS), fingerprint));
  const pageInfo = {
    total: Number(rows[0].total),
    hasNextPage: resolved.hasNextPage,
    hasPreviousPage: resolved.hasPreviousPage,
    startCursor: cursor(resolved.rows[0]),
    endCursor: cursor(resolved.rows[resolved.rows.length - 1]),
  };
  return `{"data":[${resolved.rows.join(',')}],"pageInfo":${JSON.stringify(pageInfo)}}`;
}

const server = http.createServer((request, response) => {
  const scope = request.headers['x-bench-scope'];
  page(new URL(request.url, 'http://localhost'), typeof scope === 'string' ? scope.split(',') : null).then(
    (body) => {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    },
    (error) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error?.message ?? error));
    },
  );
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.once('SIGTERM', () => {
  server.close();
  Promise.allSettled([pool.end(), dataSource.destroy()]).finally(() => process.exit(0));
});
