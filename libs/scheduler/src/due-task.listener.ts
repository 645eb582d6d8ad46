import { Injectable, Logger } from '@nestjs/common';
import type pg from 'pg';
import { SqlExecutor } from '@app/database/sql-executor';

/** The channel the NOTIFY triggers of migration SchedulerQueue1764489600000 send on. */
export const DUE_TASKS_CHANNEL = 'cleanup_tasks_due';

const RECONNECT_MIN_MS = 250;
/** Kept short so that LISTEN is back within a couple of seconds of the server (the contract: the scheduler resumes within 5 s). */
const RECONNECT_MAX_MS = 2000;

/**
 * LISTEN cleanup_tasks_due on a connection of its own (a pooled one could be
 * handed to someone else). Calls `onDue` for every notification and after
 * each (re)connect, since notifications sent while disconnected are lost.
 * While disconnected, the worker's poll interval is the safety net.
 */
@Injectable()
export class DueTaskListener {
  private readonly logger = new Logger('Scheduler');
  private client?: pg.Client;
  private onDue: () => void = () => undefined;
  private running = false;
  private reconnectTimer?: NodeJS.Timeout;
  private reconnectDelay = RECONNECT_MIN_MS;
  /** Lost and not yet back: reconnect failures are not logged again. */
  private disconnected = false;

  constructor(private readonly db: SqlExecutor) {}

  async start(onDue: () => void): Promise<void> {
    this.onDue = onDue;
    this.running = true;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = this.db.createClient('listener');
    client.on('notification', () => this.onDue());
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${DUE_TASKS_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      this.lost(client, error);
      return;
    }
    if (!this.running) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.reconnectDelay = RECONNECT_MIN_MS;
    if (this.disconnected) {
      this.disconnected = false;
      this.logger.log('LISTEN connection restored');
    }
    this.onDue();
  }

  private lost(client: pg.Client, error?: unknown): void {
    // One reconnect at a time; 'error' and 'end' of one client both land here.
    if (!this.running || this.reconnectTimer !== undefined || (this.client !== undefined && this.client !== client)) return;
    this.client = undefined;
    if (!this.disconnected) {
      this.disconnected = true;
      this.logger.warn({ msg: 'LISTEN connection lost; polling until it is back', err: error instanceof Error ? error.message : error, retryInMs: this.reconnectDelay });
    }
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running) void this.connect();
    }, delay);
  }
}
