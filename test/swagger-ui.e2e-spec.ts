import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import type { Browser, Locator, Page } from 'playwright-core';
import request from 'supertest';
import { launchChromium } from './support/chromium';
import { createTestApp, insertTasks, type TestApp } from './support/test-app';

describe('Swagger UI [/api/docs] in a real browser', () => {
  let sut: TestApp;
  let browser: Browser;
  let baseUrl: string;
  let taskId: string;

  beforeAll(async () => {
    sut = await createTestApp();
    [taskId] = await insertTasks(sut.dataSource, [{ workspaceId: 'ws_alpha', resourceType: 'delete_app', metadata: { shownIn: 'swagger' } }]);
    await sut.app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(sut.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await sut.close();
  });

  it('serves the OpenAPI document with the bearer scheme and every route', async () => {
    const response = await request(sut.server).get('/api/docs-json');
    expect(response.status).toBe(200);
    expect(response.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining(['/api/cleanup-tasks/{id}', '/api/cleanup-tasks', '/api/cleanup-tasks/counts', '/api/cleanup-tasks/export', '/api/tokens', '/api/tokens/{id}', '/api/webhooks', '/api/webhooks/{id}/rotate-secret', '/health/live', '/health/ready', '/metrics']),
    );
    const getById = response.body.paths['/api/cleanup-tasks/{id}'].get;
    expect(getById.security).toEqual([{ bearer: [] }]);
    // 403: a metrics token reads /metrics only.
    expect(Object.keys(getById.responses).sort()).toEqual(['200', '400', '401', '403', '404', '429', '503']);
    expect(getById.responses['503'].content['application/problem+json'].example).toMatchObject({ status: 503, code: 'database-unavailable' });
    expect(response.body.paths['/metrics'].get.responses['200'].content).toHaveProperty(['text/plain; version=0.0.4; charset=utf-8']);
    expect(getById.responses['404'].content['application/problem+json']).toBeDefined();
  });

  /** Opens Swagger UI and authorizes it with a bearer token through the "Authorize" dialog. */
  async function openAuthorized(page: Page, token: string): Promise<void> {
    await page.goto(`${baseUrl}/api/docs`, { waitUntil: 'domcontentloaded' });
    await page.locator('.btn.authorize').first().click();
    await page.locator('.modal-ux input').first().fill(token);
    await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click();
    await page.locator('.modal-ux button.btn-done, .modal-ux .close-modal').first().click();
  }

  /** Presses "Execute" and reads the live response's status and body. */
  async function execute(operation: Locator): Promise<{ status: string; body: string }> {
    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table .response .response-col_status');
    await status.first().waitFor({ timeout: 15_000 });
    return {
      status: (await status.first().innerText()).trim(),
      body: await operation.locator('.live-responses-table .response-col_description pre').first().innerText(),
    };
  }

  it('authorizes with a token and runs "Try it out" on GET /api/cleanup-tasks/{id} to a 200', async () => {
    const page = await browser.newPage();
    try {
      await openAuthorized(page, sut.tokens.member);

      const operation = page.locator('#operations-Cleanup_Tasks-CleanupTasks_getById');
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('input[placeholder="id"]').fill(taskId);
      const { status, body } = await execute(operation);
      expect(status).toBe('200');
      expect(JSON.parse(body)).toMatchObject({ id: taskId, resourceType: 'delete_app', metadata: { shownIn: 'swagger' } });
    } finally {
      if (process.env.SWAGGER_SCREENSHOT) await page.screenshot({ path: process.env.SWAGGER_SCREENSHOT, fullPage: true });
      await page.close();
    }
  });

  it('runs "Try it out" on GET /api/cleanup-tasks with a filter example from the picker, to a 200', async () => {
    const [listed] = await insertTasks(sut.dataSource, [{ workspaceId: 'ws_beta', resourceType: 'delete_database', metadata: { region: 'eu-west-1' } }]);
    const page = await browser.newPage();
    try {
      await openAuthorized(page, sut.tokens.member);

      const operation = page.locator('#operations-Cleanup_Tasks-CleanupTasks_list');
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      const filter = operation.locator('tr[data-param-name="filter"]');
      await filter.locator('select.examples-select-element').selectOption('metadata');
      expect(JSON.parse(await filter.locator('textarea').inputValue())).toEqual({ metadata: { contains: { region: 'eu-west-1' } } });
      const executed = await execute(operation);
      expect(executed.status).toBe('200');
      const body = JSON.parse(executed.body);
      expect(body.data.map((task: { id: string }) => task.id)).toEqual([listed]);
      expect(body.pageInfo).toMatchObject({ total: 1, hasNextPage: false, hasPreviousPage: false });
    } finally {
      await page.close();
    }
  });

  it('runs "Try it out" on GET /api/cleanup-tasks/counts with groupBy picked and a filter example, to a 200 with the groups', async () => {
    await insertTasks(sut.dataSource, [
      { workspaceId: 'ws_acme', resourceType: 'delete_app', status: 'failed' },
      { workspaceId: 'ws_acme', resourceType: 'delete_app', status: 'failed' },
      { workspaceId: 'ws_globex', resourceType: 'delete_element', status: 'pending' },
      { workspaceId: 'ws_acme', resourceType: 'delete_app', status: 'completed' },
    ]);
    const page = await browser.newPage();
    try {
      await openAuthorized(page, sut.tokens.admin);

      const operation = page.locator('#operations-Cleanup_Tasks-CleanupTasks_counts');
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('tr[data-param-name="groupBy"] select').selectOption(['status', 'resource_type']);
      await operation.locator('tr[data-param-name="filter"] select.examples-select-element').selectOption('unfinishedInWorkspaces');
      const executed = await execute(operation);
      expect(executed.status).toBe('200');
      expect(JSON.parse(executed.body)).toEqual({
        total: 3,
        groups: [
          { status: 'failed', resourceType: 'delete_app', count: 2 },
          { status: 'pending', resourceType: 'delete_element', count: 1 },
        ],
      });
    } finally {
      await page.close();
    }
  });

  it('runs "Try it out" on GET /api/cleanup-tasks/export as CSV, to a 200 download of the matching tasks', async () => {
    const [exported] = await insertTasks(sut.dataSource, [{ workspaceId: 'ws_beta', resourceType: 'delete_database', metadata: { region: 'eu-west-1', export: true } }]);
    const page = await browser.newPage();
    try {
      await openAuthorized(page, sut.tokens.member);

      const operation = page.locator('#operations-Cleanup_Tasks-CleanupTasks_export');
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('tr[data-param-name="format"] select').selectOption('csv');
      await operation.locator('tr[data-param-name="filter"] select.examples-select-element').selectOption('metadata');
      await operation.locator('button.execute').click();
      const status = operation.locator('.live-responses-table .response .response-col_status');
      await status.first().waitFor({ timeout: 15_000 });
      expect((await status.first().innerText()).trim()).toBe('200');
      // Swagger UI offers an attachment as a file to download, named as the server said.
      const download = operation.locator('.live-responses-table a[download]');
      expect(await download.getAttribute('download')).toMatch(/^cleanup-tasks-\d{8}T\d{6}Z\.csv$/);
      const csv = await download.evaluate((link) => fetch((link as unknown as { href: string }).href).then((response) => response.text()));
      const lines = csv.split('\r\n');
      expect(lines[0]).toBe('id,parentId,workspaceId,sourceEventId,resourceType,resourceId,metadata,status,attempts,lastError,createdAt,completedAt');
      // The member's tasks with that metadata (other tests of this file may have added some).
      expect(lines.slice(1, -1).map((line) => line.split(',')[0])).toContain(exported);
      expect(lines.slice(1, -1).every((line) => line.includes('eu-west-1'))).toBe(true);
      expect(lines.at(-1)).toBe('');
    } finally {
      await page.close();
    }
  });

  it('runs "Try it out" on POST /api/webhooks with the example body, to a 201 with the secret', async () => {
    const page = await browser.newPage();
    try {
      await openAuthorized(page, sut.tokens.admin);

      const operation = page.locator('#operations-Webhooks-Webhooks_create');
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      expect(JSON.parse(await operation.locator('textarea.body-param__text').inputValue())).toEqual({
        url: 'https://hooks.example.com/cleanup-tasks',
        events: ['cleanup_task.tree.completed', 'cleanup_task.tree.failed'],
        workspaceIds: ['ws_acme'],
      });
      const executed = await execute(operation);
      expect(executed.status).toBe('201');
      expect(JSON.parse(executed.body)).toMatchObject({ id: expect.stringMatching(/^wh_/), url: 'https://hooks.example.com/cleanup-tasks', secret: expect.stringMatching(/^whsec_/) });
    } finally {
      await page.close();
    }
  });
});
