import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, chownSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { embeddedBinaries, makeTraversable, postgresOsUser, quoteIdentifier } from '@app/database/embedded-postgres';

const run = promisify(execFile);

/** First port of the fault tests' servers (FAULT_PG_PORT); each test file adds its own offset. */
export const FAULT_PG_PORT = Number(process.env.FAULT_PG_PORT ?? 55210);

/**
 * A PostgreSQL of one test's own: its own data directory under
 * `.data/faults/` and its own port, started as the test's child process
 * (as the `postgres` OS user when root), which the test stops with
 * `pg_ctl stop -m immediate` (a crash, as far as clients can tell) and
 * starts again. Never the shared test server.
 */
export class OwnPostgres {
  readonly dataDir: string;
  private child?: ChildProcess;
  private runAs?: { uid: number; gid: number };
  private binaries!: { initdb: string; postgres: string; pg_ctl: string };

  constructor(
    name: string,
    readonly port: number,
  ) {
    this.dataDir = resolve('.data/faults', `${name}-${port}`);
  }

  /** A connection string for `database` (trust authentication, loopback only). */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  /** One statement on `database` (default the app's, cleanup_tasks) over a connection of its own; its rows. */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], database = 'cleanup_tasks'): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** The postmaster's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** A fresh cluster (a leftover of an interrupted run is stopped and removed first). */
  async init(): Promise<void> {
    this.binaries = await embeddedBinaries();
    this.runAs = process.getuid?.() === 0 ? await postgresOsUser() : undefined;
    await this.stopLeftover();
    rmSync(this.dataDir, { recursive: true, force: true });
    mkdirSync(this.dataDir, { recursive: true });
    if (this.runAs) {
      makeTraversable(dirname(this.dataDir));
      chownSync(this.dataDir, this.runAs.uid, this.runAs.gid);
    }
    await run(this.binaries.initdb, [`--pgdata=${this.dataDir}`, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C', '--lc-messages=C'], {
      ...this.runAs,
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
  }

  /**
   * Starts the server (a crash recovery first, after a crash) and resolves
   * once it accepts connections. The port lies in the range the kernel also
   * hands out to outgoing connections: if one holds it for a moment, try again.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce();
      } catch (error) {
        if (attempt >= 20 || !String(error).includes('Address already in use')) throw error;
        await new Promise((done) => setTimeout(done, 500));
      }
    }
  }

  private async startOnce(): Promise<void> {
    const child = spawn(
      this.binaries.postgres,
      // fsync off: a stopped server's writes are in the OS cache, which these tests never lose; it spares a shared machine's disk.
      ['-D', this.dataDir, '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'max_connections=200'],
      { ...this.runAs, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`PostgreSQL on ${this.port} did not start within 60 s:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolveReady();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`PostgreSQL on ${this.port} exited (${signal ?? code}) while starting:\n${output}`));
      });
    });
  }

  /** `pg_ctl stop -m immediate`: every backend ends at once, nothing is flushed or checkpointed. */
  async crash(): Promise<void> {
    await this.pgCtlStop('immediate');
  }

  /** Stops the server (if it runs) and removes its data directory. */
  async destroy(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) await this.pgCtlStop('immediate');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async createDatabase(name: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    } finally {
      await client.end();
    }
  }

  private async pgCtlStop(mode: 'immediate' | 'fast'): Promise<void> {
    const child = this.child;
    const exited = child && child.exitCode === null && child.signalCode === null ? new Promise((done) => child.once('exit', done)) : Promise.resolve();
    await run(this.binaries.pg_ctl, ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '30'], { ...this.runAs });
    await exited;
    this.child = undefined;
  }

  /** A postmaster an interrupted run left on this data directory. */
  private async stopLeftover(): Promise<void> {
    if (!existsSync(`${this.dataDir}/postmaster.pid`)) return;
    const pid = Number.parseInt(readFileSync(`${this.dataDir}/postmaster.pid`, 'utf8').split('\n')[0] ?? '', 10);
    if (!Number.isInteger(pid) || pid <= 0) return;
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      return;
    }
    for (let waited = 0; waited < 10_000; waited += 100) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  }
}
