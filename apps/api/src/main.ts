// First: tracing must patch http and pg before anything loads them.
import { tracing } from './tracing';
import 'reflect-metadata';
import { TokensService } from '@app/auth';
import { applyV8Tuning, ConfigValidationError, validateEnvironment } from '@app/common';
import { startConfiguredDatabase } from '@app/database';
import { createApp } from './create-app';
import { DOCS_PATH } from './openapi';

async function main(): Promise<void> {
  applyV8Tuning();
  const config = validateEnvironment(process.env);

  const { url: databaseUrl, embedded } = await startConfiguredDatabase(config);

  const onShutdown = async () => {
    await embedded?.stop();
    // The last spans (this shutdown's included) go out before the process ends.
    await tracing?.shutdown().catch(() => undefined);
  };
  const app = await createApp({ config, databaseUrl, onShutdown }).catch(async (error: unknown) => {
    await embedded?.stop();
    throw error;
  });
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
    `  Database:      ${embedded ? `embedded PostgreSQL, data in ${config.EMBEDDED_POSTGRES_DIR}` : config.DATABASE_DIRECT_URL ? 'DATABASE_URL (a pooler; sessions of their own on DATABASE_DIRECT_URL)' : 'DATABASE_URL'}`,
    ...(config.DATABASE_READ_URL ? [`  Reads:         DATABASE_READ_URL while it lags by at most ${config.READ_REPLICA_MAX_LAG_MS} ms, else the primary`] : []),
    `  Scheduler:     ${config.SCHEDULER_ENABLED ? 'enabled in this process' : 'disabled (SCHEDULER_ENABLED=false)'}`,
    `  Metrics:       ${base}/metrics   (an admin or metrics token)`,
    `  Tracing:       ${tracing ? `OTLP to ${config.OTEL_EXPORTER_OTLP_ENDPOINT}` : 'off (set OTEL_EXPORTER_OTLP_ENDPOINT)'}`,
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
  const lines: string[] = [];
  if (error instanceof ConfigValidationError) {
    lines.push(error.message);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`Start-up failed: ${redactCredentials(message)}`);
    if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|password authentication|does not exist|timeout/i.test(message)) {
      lines.push('Check DATABASE_URL: the PostgreSQL server must be reachable with those credentials.');
    }
  }
  // Exit once stderr is flushed: a pipe write is asynchronous.
  process.stderr.write(`${lines.join('\n')}\n`, () => process.exit(1));
});

/** Never print a password from a connection string. */
function redactCredentials(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@');
}
