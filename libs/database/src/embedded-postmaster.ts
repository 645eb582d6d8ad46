import { type ChildProcess, spawn } from 'node:child_process';

export interface EmbeddedPostmasterOptions {
  /** The `postgres` binary. */
  binary: string;
  dataDir: string;
  port: number;
  /** The OS user to run as (as root: PostgreSQL refuses to run as root). */
  runAs?: { uid: number; gid: number };
  /** PostgreSQL's own output (route it to debug). */
  onLog: (message: string) => void;
  /** What the supervision does: a server that died, a restart, a server back. */
  logger: { log(message: string): void; warn(message: string): void };
  /** Delay before the first restart after a death, doubled after each start that fails, up to `maxRestartDelayMs`. */
  minRestartDelayMs?: number;
  maxRestartDelayMs?: number;
}

const READY = 'database system is ready to accept connections';
/** The first start may replay WAL after an unclean stop; longer than this is a server that will not come up. */
const FIRST_START_TIMEOUT_MS = 300_000;
/** After SIGINT (fast shutdown), then SIGQUIT (immediate), before SIGKILL. */
const STOP_GRACE_MS = 30_000;
const STOP_QUICK_MS = 10_000;

/**
 * The embedded PostgreSQL server process, kept running. It is this process's
 * child, in a process group of its own, so that a terminal's Ctrl-C reaches
 * only this process, which stops it in order on shutdown. If it exits
 * otherwise (killed, crashed, stopped by hand) it is started again, after
 * 1 s, doubling after each start that fails, up to 30 s; a start that
 * reaches "ready" brings the delay back to 1 s.
 *
 * Never two postmasters on one data directory: a restart begins only after
 * the previous postmaster exited, and PostgreSQL's own interlock
 * (postmaster.pid, and its shared memory while backends of a killed
 * postmaster survive) makes a start over a directory still in use exit at
 * once — it is retried with the backoff.
 */
export class EmbeddedPostmaster {
  private child?: ChildProcess;
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private delayMs: number;
  private readonly stopOnExit = () => this.child?.kill('SIGINT');

  constructor(private readonly options: EmbeddedPostmasterOptions) {
    this.minDelayMs = options.minRestartDelayMs ?? 1000;
    this.maxDelayMs = options.maxRestartDelayMs ?? 30_000;
    this.delayMs = this.minDelayMs;
  }

  /** The server's pid while one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server and resolves once it accepts connections; rejects (with its output) if it exits first. */
  async start(): Promise<void> {
    // An exit of this process that skips the shutdown hooks (process.exit) still asks the server to stop.
    process.on('exit', this.stopOnExit);
    await this.firstStart().catch(async (error: unknown) => {
      await this.stop();
      throw error;
    });
  }

  private firstStart(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`PostgreSQL did not accept connections within ${FIRST_START_TIMEOUT_MS} ms:\n${output}`)), FIRST_START_TIMEOUT_MS);
      this.spawn({
        onOutput: (text) => (output += text),
        onReady: () => {
          clearTimeout(timer);
          resolve();
        },
        onExitBeforeReady: (how) => {
          clearTimeout(timer);
          reject(new Error(`PostgreSQL exited (${how}) before accepting connections:\n${output}`));
        },
      });
    });
  }

  /** Stops the server for good (fast shutdown; immediate, then SIGKILL, if it lingers); no restart follows. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    process.off('exit', this.stopOnExit);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const escalate = [
      setTimeout(() => child.kill('SIGQUIT'), STOP_GRACE_MS),
      setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS + STOP_QUICK_MS),
    ];
    child.kill('SIGINT');
    await exited;
    for (const timer of escalate) clearTimeout(timer);
  }

  private spawn(events: { onOutput?: (text: string) => void; onReady: () => void; onExitBeforeReady?: (how: string) => void }): void {
    const { binary, dataDir, port, runAs, onLog } = this.options;
    const child = spawn(binary, ['-D', dataDir, '-p', String(port)], {
      ...runAs,
      env: { ...process.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    let ready = false;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      onLog(text);
      events.onOutput?.(text);
      if (!ready && text.includes(READY)) {
        ready = true;
        this.delayMs = this.minDelayMs;
        events.onReady();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let ended = false;
    const end = (how: string) => {
      if (ended) return;
      ended = true;
      if (this.child === child) this.child = undefined;
      if (!ready && events.onExitBeforeReady) {
        // The first start failed: the caller reports it; nothing to keep running.
        events.onExitBeforeReady(how);
        return;
      }
      if (!this.stopping) this.scheduleRestart(`pid ${child.pid} ${ready ? 'exited' : 'failed to start'} (${how})`);
    };
    child.on('error', (error) => {
      onLog(`[error] PostgreSQL process: ${error.message}`);
      // Not started at all (no pid): no 'exit' follows. Otherwise (a failed kill) it still runs.
      if (child.pid === undefined) end(`could not run it: ${error.message}`);
    });
    child.once('exit', (code, signal) => end(signal ? `signal ${signal}` : `code ${code}`));
  }

  private scheduleRestart(what: string): void {
    const delayMs = this.delayMs;
    this.delayMs = Math.min(this.maxDelayMs, this.delayMs * 2);
    this.options.logger.warn(`embedded PostgreSQL ${what}; starting it again in ${delayMs} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.spawn({ onReady: () => this.options.logger.log(`embedded PostgreSQL is back (pid ${this.child?.pid}) and accepts connections`) });
    }, delayMs);
  }
}
