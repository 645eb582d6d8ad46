// Runs the TypeORM CLI against the built ormconfig (dist/apps/api/ormconfig.js).
// Without DATABASE_URL it uses the embedded PostgreSQL of `npm start`: the
// running one if `npm start` is up, else it starts it for the command.
//   npm run migration:run | migration:revert
//   npm run migration:generate -- libs/database/src/migrations/<Name>
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const [command, ...rest] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/typeorm-cli.mjs <typeorm command> [args]');
  process.exit(2);
}

const { validateEnvironment } = await import(`${root}/dist/apps/api/libs/common/src/index.js`);
const { startEmbeddedPostgres } = await import(`${root}/dist/apps/api/libs/database/src/index.js`);
const config = validateEnvironment(process.env);

let embedded;
let databaseUrl = config.DATABASE_URL;
if (!databaseUrl) {
  const url = `postgres://postgres:postgres@127.0.0.1:${config.EMBEDDED_POSTGRES_PORT}/cleanup_tasks`;
  if (await isListening(config.EMBEDDED_POSTGRES_PORT)) {
    databaseUrl = url;
  } else {
    embedded = await startEmbeddedPostgres({ dataDir: config.EMBEDDED_POSTGRES_DIR, port: config.EMBEDDED_POSTGRES_PORT, database: 'cleanup_tasks' });
    databaseUrl = embedded.url;
  }
}

const args = [resolve(root, 'node_modules/typeorm/cli.js'), command, '-d', resolve(root, 'dist/apps/api/ormconfig.js'), ...rest];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, DATABASE_URL: databaseUrl } });
await embedded?.stop();
process.exit(result.status ?? 1);

function isListening(port) {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
    socket.once('timeout', () => (socket.destroy(), done(false)));
  });
}
