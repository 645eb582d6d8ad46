import type { OnApplicationShutdown, Provider } from '@nestjs/common';

/** Runs a deployable's last step on shutdown (e.g. stopping the embedded PostgreSQL), after every module's own hooks. */
export class ShutdownCallback implements OnApplicationShutdown {
  constructor(private readonly callback?: () => Promise<void>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.callback?.();
  }

  /** The provider a deployable's root module lists. */
  static provider(callback?: () => Promise<void>): Provider {
    return { provide: ShutdownCallback, useValue: new ShutdownCallback(callback) };
  }
}
