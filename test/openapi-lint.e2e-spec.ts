import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/test-app';

describe('OpenAPI document [/api/docs-json]', () => {
  let sut: TestApp;
  let directory: string;

  beforeAll(async () => {
    sut = await createTestApp();
    directory = mkdtempSync(join(tmpdir(), 'cleanup-tasks-openapi-'));
  });
  afterAll(async () => {
    rmSync(directory, { recursive: true, force: true });
    await sut.close();
  });

  it('passes `redocly lint` with the recommended rules and no warnings', async () => {
    const response = await request(sut.server).get('/api/docs-json');
    expect(response.status).toBe(200);
    const file = join(directory, 'openapi.json');
    writeFileSync(file, JSON.stringify(response.body, null, 2));
    if (process.env.OPENAPI_OUT) writeFileSync(process.env.OPENAPI_OUT, JSON.stringify(response.body, null, 2));

    const lint = spawnSync(join(process.cwd(), 'node_modules/.bin/redocly'), ['lint', file, '--config', join(process.cwd(), 'redocly.yaml'), '--format', 'stylish'], {
      encoding: 'utf8',
      timeout: 50_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const output = `${lint.stdout}\n${lint.stderr}`;
    expect({ status: lint.status, problems: output.split('\n').filter((line) => /^\s*\d+:\d+\s+(error|warning)\b/.test(line)) }).toEqual({ status: 0, problems: [] });
  });
});
