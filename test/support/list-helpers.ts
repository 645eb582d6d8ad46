import request from 'supertest';
import type { TestApp } from './test-app';

/** A well-formed task id with a readable number: `taskId(7)` → `ct_00000000000000000000000007`. */
export function taskId(n: number): string {
  return `ct_${String(n).padStart(26, '0')}`;
}

export interface ListPage {
  data: Record<string, unknown>[];
  pageInfo: { total: number; hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * `GET /api/cleanup-tasks` with the given parameters (values that are not
 * strings are sent as JSON, for `filter` and `orderBy`).
 */
export function list(sut: TestApp, token: string, params: Record<string, unknown> = {}) {
  const query = Object.fromEntries(Object.entries(params).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
  return request(sut.server).get('/api/cleanup-tasks').query(query).auth(token, { type: 'bearer' });
}

/** Like `list`, expecting 200; returns the page. */
export async function listPage(sut: TestApp, token: string, params: Record<string, unknown> = {}): Promise<ListPage> {
  const response = await list(sut, token, params);
  if (response.status !== 200) throw new Error(`expected 200, got ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body as ListPage;
}

/** Every page forward from the start (`after` = endCursor), bounded; returns the ids in order and the pages. */
export async function walkForward(sut: TestApp, token: string, params: Record<string, unknown>, maxPages = 200) {
  const ids: string[] = [];
  const pages: ListPage[] = [];
  let after: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await listPage(sut, token, { ...params, ...(after ? { after } : {}) });
    pages.push(page);
    ids.push(...page.data.map((task) => task.id as string));
    if (!page.pageInfo.hasNextPage) return { ids, pages };
    after = page.pageInfo.endCursor!;
  }
  throw new Error(`more than ${maxPages} pages`);
}

/** Every page backward from `before` (`before` = startCursor), bounded; returns the ids in forward order and the pages (last first). */
export async function walkBackward(sut: TestApp, token: string, params: Record<string, unknown>, before: string, maxPages = 200) {
  const ids: string[] = [];
  const pages: ListPage[] = [];
  let cursor = before;
  for (let i = 0; i < maxPages; i++) {
    const page = await listPage(sut, token, { ...params, before: cursor });
    pages.push(page);
    ids.unshift(...page.data.map((task) => task.id as string));
    if (!page.pageInfo.hasPreviousPage) return { ids, pages };
    cursor = page.pageInfo.startCursor!;
  }
  throw new Error(`more than ${maxPages} pages`);
}
