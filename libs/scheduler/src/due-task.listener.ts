import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import { DataSource } from 'typeorm';

/** The channel the NOTIFY triggers of migration SchedulerQueue1764489600000 send on. */
export const DUE_TASKS_CHANNEL = 'cleanup_tasks_due';

/** The connection settings of TypeORM's PostgreSQL options that a listener needs. */
interface PostgresOptions {
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: unknown;
  database?: string;
  applicationName?: string;
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

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

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

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
    const options = this.dataSource.options as PostgresOptions;
    const client = new pg.Client({
      connectionString: options.url,
      host: options.host,
      port: options.port,
      user: options.username,
      password: typeof options.password === 'string' ? options.password : undefined,
      database: options.database,
      application_name: `${options.applicationName ?? 'cleanup-tasks'}:listener`,
      keepAlive: true,
    });
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
    this.onDue();
  }

  private lost(client: pg.Client, error?: unknown): void {
    // One reconnect at a time; 'error' and 'end' of one client both land here.
    if (!this.running || this.reconnectTimer !== undefined || (this.client !== undefined && this.client !== client)) return;
    this.client = undefined;
    this.logger.warn({ msg: 'LISTEN connection lost; polling until it is back', err: error instanceof Error ? error.message : error, retryInMs: this.reconnectDelay });
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running) void this.connect();
    }, delay);
  }
}
