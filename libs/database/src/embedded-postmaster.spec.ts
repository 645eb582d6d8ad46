import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmbeddedPostmaster } from './embedded-postmaster';

/**
 * A stand-in for the `postgres` binary: appends its pid to a journal, says
 * it is ready unless the journal asks it to fail, and exits 0 on SIGINT
 * (fast shutdown).
 */
const FAKE_POSTGRES = `#!/usr/bin/env node
const fs = require('node:fs');
const [, , , dataDir] = process.argv;
fs.appendFileSync(dataDir + '/starts', process.pid + '\\n');
if (fs.existsSync(dataDir + '/fail')) {
  process.stderr.write('FATAL: pre-existing shared memory block is still in use\\n');
  process.exit(1);
}
process.stderr.write('LOG:  database system is ready to accept connections\\n');
process.on('SIGINT', () => process.exit(0));
setInterval(() => undefined, 1000);
`;

describe('EmbeddedPostmaster', () => {
  let directory: string;
  let binary: string;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'cleanup-tasks-postmaster-'));
    binary = join(directory, 'postgres');
    writeFileSync(binary, FAKE_POSTGRES);
    chmodSync(binary, 0o755);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const setup = (name: string) => {
    const dataDir = join(directory, name);
    mkdirSync(dataDir);
    const events: string[] = [];
    const sut = new EmbeddedPostmaster({
      binary,
      dataDir,
      port: 1,
      onLog: () => undefined,
      logger: { log: (message) => events.push(`log: ${message}`), warn: (message) => events.push(`warn: ${message}`) },
      minRestartDelayMs: 50,
      maxRestartDelayMs: 200,
    });
    const starts = () => readFileSync(join(dataDir, 'starts'), 'utf8').trim().split('\n').map(Number);
    return { sut, dataDir, events, starts };
  };

  const until = async (what: string, probe: () => boolean) => {
    for (let waited = 0; !probe(); waited += 20) {
      if (waited > 5000) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  };

  it('starts the server again after it is killed, retrying with backoff while a start fails, and logs each step', async () => {
    const { sut, dataDir, events, starts } = setup('restarts');
    await sut.start();
    const first = sut.pid!;
    writeFileSync(join(dataDir, 'fail'), '');
    process.kill(first, 'SIGKILL');
    await until('two failed restarts', () => starts().length >= 3);
    rmSync(join(dataDir, 'fail'));
    await until('the server to be back', () => events.some((event) => event.startsWith('log: embedded PostgreSQL is back')));
    expect(sut.pid).toBe(starts().at(-1));
    expect(events[0]).toMatch(new RegExp(`^warn: embedded PostgreSQL pid ${first} exited \\(signal SIGKILL\\); starting it again in 50 ms$`));
    expect(events[1]).toMatch(/^warn: embedded PostgreSQL pid \d+ failed to start \(code 1\); starting it again in 100 ms$/);
    await sut.stop();
  });

  it('stops for good: after stop() the server is gone and is not started again', async () => {
    const { sut, events, starts } = setup('stops');
    await sut.start();
    const pid = sut.pid!;
    await sut.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await sleep(300);
    expect(starts()).toEqual([pid]);
    expect(events).toEqual([]);
  });

  it('rejects when the first start fails, with the server output', async () => {
    const { sut, dataDir } = setup('fails');
    writeFileSync(join(dataDir, 'fail'), '');
    await expect(sut.start()).rejects.toThrow(/exited \(code 1\) before accepting connections:\nFATAL: pre-existing shared memory block/);
  });
});
