/**
 * Differential test: the SQL translator, keyset pagination and probes against
 * real PostgreSQL, compared with the independent in-memory reference
 * evaluator, on seeded random data and random filters (every operator, NULLs,
 * relations, scope, all NULL placements). Runs in the e2e project (needs the
 * PostgreSQL that global setup starts).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';
import { createTestDatabase } from '../../../../test/support/test-app';
import type { FilterNode } from '../filter/filter-ast';
import { parseFilter } from '../filter/parse-filter';
import { scopeFieldIn, type ScopeBuilder } from '../filter/translate-filter';
import { ORDER_DIRECTIONS, parseOrderBy, type OrderByItem } from '../order-by/order-by';
import { CursorCodec, cursorValuesOf, queryFingerprint } from '../pagination/cursor-codec';
import type { CursorValue } from '../pagination/keyset';
import { planListQuery, type ListQueryInput, type ListQueryPlan } from '../pagination/list-query';
import { QueryParameters } from '../sql';
import { referenceList, referencePage, type ReferenceRow } from './reference-evaluator';
import { SAMPLE_SPEC } from './sample-entity';

const spec = SAMPLE_SPEC;

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  return { next, pick };
}

const STRINGS = ['a%b', 'a_b', 'a\\b', 'A\\%', 'é', 'É', '😀x', 'Zeta', 'zeta', 'ab', 'abc', '', 'x_y%z', '\uffff', '𝔸', 'HELLO'];
const TIMES = ['2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.001Z', '2024-06-30T12:34:56.789Z', '2023-12-31T23:59:59.999Z'];
const JSONS = [{}, { a: 1 }, { a: { b: [1, 2] } }, { tags: ['x', 'y'] }, { n: null }, { s: 'x', a: 2 }, { k: [{ z: 1 }, 3] }];
const SCOPES = ['w1', 'w2', 'w3'];

function makeRows(count: number, r: ReturnType<typeof prng>): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  for (let i = 0; i < count; i++) {
    rows.push({
      id: `i${String((i * 37) % count).padStart(4, '0')}`,
      parentId: i > 3 && r.next() < 0.7 ? rows[Math.floor(r.next() * i)].id : null,
      name: r.pick(SCOPES),
      note: r.next() < 0.4 ? null : r.pick(STRINGS),
      kind: r.pick(['a', 'b', 'c']),
      phase: r.next() < 0.3 ? null : r.pick(['x', 'y']),
      size: Math.floor(r.next() * 4),
      rank: r.next() < 0.3 ? null : Math.floor(r.next() * 3),
      createdAt: r.pick(TIMES),
      doneAt: r.next() < 0.5 ? null : r.pick(TIMES),
      data: r.pick(JSONS),
      extra: r.next() < 0.5 ? null : r.pick(JSONS),
    });
  }
  return rows;
}

function randomFilter(rows: ReferenceRow[], r: ReturnType<typeof prng>, depth: number): Record<string, unknown> {
  const roll = r.next();
  if (depth > 0 && roll < 0.1) return { AND: [randomFilter(rows, r, depth - 1), randomFilter(rows, r, depth - 1)] };
  if (depth > 0 && roll < 0.2) return { OR: [randomFilter(rows, r, depth - 1), randomFilter(rows, r, depth - 1)] };
  if (depth > 0 && roll < 0.32) return { NOT: randomFilter(rows, r, depth - 1) };
  if (depth > 0 && roll < 0.42) return { parent: randomFilter(rows, r, depth - 1) };
  if (depth > 0 && roll < 0.55) return { children: { [r.pick(['some', 'every', 'none'])]: randomFilter(rows, r, depth - 1) } };
  const name = r.pick(Object.keys(spec.fields));
  const field = spec.fields[name];
  const operator = r.pick(field.operators);
  const scalar = (): unknown => {
    if (field.type === 'enum') return r.pick(field.enumValues!);
    if (field.type === 'integer') return Math.floor(r.next() * 5) - 1;
    if (field.type === 'timestamp') return r.pick([...TIMES, '2024-01-01', '2024-01-01T01:00:00+01:00', '2024-06-30T12:34:56.789001Z']);
    if (name === 'id' || name === 'parentId') return r.pick(rows).id;
    return r.pick(STRINGS);
  };
  let value: unknown;
  if (operator === 'isNull') value = r.next() < 0.5;
  else if (operator === 'in' || operator === 'notIn') value = [scalar(), scalar()];
  else if (field.type === 'json') value = operator === 'hasKey' ? r.pick(['a', 'tags', 'n', 'zz']) : r.pick([{ a: 1 }, { a: { b: [2] } }, { tags: ['y'] }, { n: null }, {}, { k: [3] }]);
  else if (operator === 'like' || operator === 'ilike') value = r.pick(['%b', 'a\\%%', '_', '%\\_%', 'a%', '%É%', 'z%', '%', 'hello%']);
  else if (['contains', 'startsWith', 'endsWith'].includes(operator)) value = r.pick(['%', '_', '\\', 'a', 'b', 'Z', 'é', '']);
  else value = scalar();
  return { [name]: { [operator]: value } };
}

function randomOrderBy(r: ReturnType<typeof prng>): OrderByItem[] {
  const sortable = Object.keys(spec.fields).filter((name) => spec.fields[name].sortable);
  const raw: Record<string, string>[] = [];
  for (let i = Math.floor(r.next() * 3); i > 0; i--) {
    const name = r.pick(sortable);
    if (!raw.some((item) => name in item)) raw.push({ [name]: r.pick(ORDER_DIRECTIONS) });
  }
  return parseOrderBy(raw, spec, { defaultOrderBy: [{ createdAt: 'asc' }] });
}

describe('query DSL against PostgreSQL (differential with the reference evaluator)', () => {
  let dataSource: DataSource;
  let drop: () => Promise<void>;
  const r = prng(20240501);
  const rows = makeRows(90, r);
  const codec = new CursorCodec('differential-test-secret-0123456789');

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    dataSource = new DataSource({ type: 'postgres', url: database.url });
    await dataSource.initialize();
    await dataSource.query(`
      CREATE TABLE items (
        id text COLLATE "C" PRIMARY KEY, parent_id text COLLATE "C", name text COLLATE "C" NOT NULL, note text COLLATE "C",
        kind text COLLATE "C" NOT NULL, phase text COLLATE "C", size integer NOT NULL, rank integer,
        created_at timestamptz(3) NOT NULL, done_at timestamptz(3), data jsonb NOT NULL, extra jsonb)`);
    // A session time zone far from UTC: date-only filters must still mean UTC midnight.
    await dataSource.query(`ALTER DATABASE "${new URL(database.url).pathname.slice(1)}" SET timezone TO 'Pacific/Kiritimati'`);
    for (const row of rows) {
      await dataSource.query(`INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, [
        row.id, row.parentId, row.name, row.note, row.kind, row.phase, row.size, row.rank, row.createdAt, row.doneAt,
        JSON.stringify(row.data), row.extra === null ? null : JSON.stringify(row.extra),
      ]);
    }
    await dataSource.destroy();
    dataSource = new DataSource({ type: 'postgres', url: database.url });
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await drop?.();
  });

  /** One statement on its own builder: the plan's parameters are bound on it. */
  const statement = (input: Omit<ListQueryInput, 'params'>, build: (qb: SelectQueryBuilder<ObjectLiteral>, plan: ListQueryPlan) => void) => {
    const qb = dataSource.createQueryBuilder();
    const plan = planListQuery({ ...input, params: new QueryParameters(qb) });
    build(qb, plan);
    return { qb, plan };
  };
  const pageQuery = (input: Omit<ListQueryInput, 'params'>, selection: string) =>
    statement(input, (qb, plan) => {
      qb.select(selection).from(spec.table, plan.alias);
      plan.applyPage(qb);
    });
  const pageInfoQuery = (input: Omit<ListQueryInput, 'params'>) =>
    statement(input, (qb, plan) => {
      qb.select((sub) => plan.count(sub), 'total')
        .addSelect(plan.probe(qb, 'hasPrevious') ?? 'NULL', 'has_previous')
        .addSelect(plan.probe(qb, 'hasNext') ?? 'NULL', 'has_next')
        .fromDummy();
    });
  const run = async <T>(qb: SelectQueryBuilder<ObjectLiteral>) => {
    const [text, values] = qb.getQueryAndParameters();
    return (await dataSource.query(text, values)) as T[];
  };

  const toRow = (x: Record<string, unknown>): ReferenceRow => ({
    id: x.id, parentId: x.parent_id, name: x.name, note: x.note, kind: x.kind, phase: x.phase, size: x.size, rank: x.rank,
    createdAt: x.created_at, doneAt: x.done_at, data: x.data, extra: x.extra,
  });

  it('returns the same rows, in the same order, as the reference; NOT is the complement; pages walk both ways', async () => {
    for (let iteration = 0; iteration < 120; iteration++) {
      const raw = randomFilter(rows, r, 3);
      const filter: FilterNode = parseFilter(raw, spec);
      const scoped = r.next() < 0.5 ? SCOPES.filter(() => r.next() < 0.6) : null;
      const scope: ScopeBuilder | undefined = scoped ? scopeFieldIn(spec, 'name', scoped) : undefined;
      const refScope = scoped ? (row: ReferenceRow) => scoped.includes(row.name as string) : undefined;
      const orderBy = randomOrderBy(r);
      const context = `filter ${JSON.stringify(raw)} orderBy ${JSON.stringify(orderBy)} scope ${JSON.stringify(scoped)}`;

      // Whole list through TypeORM's QueryBuilder (its named-parameter binding).
      const got = (await pageQuery({ spec, orderBy, filter, scope, limit: 1000 }, '"t0"."id"').qb.getRawMany<{ id: string }>()).map((x) => x.id);
      const expected = referenceList(rows, { spec, filter, scope: refScope, orderBy }).map((x) => x.id);
      expect({ context, ids: got }).toEqual({ context, ids: expected });

      const negated = pageQuery({ spec, orderBy, filter: { kind: 'not', item: filter }, scope, limit: 1000 }, '"t0"."id"');
      const complement = (await run<{ id: string }>(negated.qb)).map((x) => x.id);
      const all = referenceList(rows, { spec, scope: refScope, orderBy }).map((x) => x.id);
      expect({ context, ids: [...got, ...complement].sort() }).toEqual({ context, ids: [...all].sort() });

      // Pages: forward from the start, backward from a cursor, between two cursors, from a foreign row.
      const limit = 1 + Math.floor(r.next() * 7);
      const fingerprint = queryFingerprint({ orderBy, raw });
      const cursor = (row: ReferenceRow): CursorValue[] =>
        codec.decode(codec.encode(cursorValuesOf(row, orderBy, spec), fingerprint), { orderBy, spec, fingerprint, path: 'after' });
      const page = async (after?: CursorValue[], before?: CursorValue[]) => {
        const input = { spec, orderBy, filter, scope, limit, after, before };
        const page = pageQuery(input, '"t0".*');
        const fetched = (await run<Record<string, unknown>>(page.qb)).map(toRow);
        const [info] = await run<{ total: string; has_previous: boolean | null; has_next: boolean | null }>(pageInfoQuery(input).qb);
        const result = page.plan.resolvePage(fetched, { hasPrevious: info.has_previous, hasNext: info.has_next });
        const reference = referencePage(rows, { spec, filter, scope: refScope, orderBy, after, before, limit });
        expect({ context, after, before, ids: result.rows.map((x) => x.id), next: result.hasNextPage, prev: result.hasPreviousPage, total: Number(info.total) }).toEqual({
          context, after, before, ids: reference.rows.map((x) => x.id), next: reference.hasNextPage, prev: reference.hasPreviousPage, total: reference.total,
        });
        return result.rows;
      };
      const walked: string[] = [];
      let after: CursorValue[] | undefined;
      for (let guard = 0; guard < 200; guard++) {
        const rowsOfPage = await page(after);
        walked.push(...rowsOfPage.map((x) => x.id as string));
        if (rowsOfPage.length === 0) break;
        after = cursor(rowsOfPage[rowsOfPage.length - 1]);
      }
      expect({ context, ids: walked }).toEqual({ context, ids: expected });
      if (expected.length > 0) {
        const listed = referenceList(rows, { spec, filter, scope: refScope, orderBy });
        const i = Math.floor(r.next() * listed.length);
        const j = Math.floor(r.next() * listed.length);
        await page(undefined, cursor(listed[Math.max(i, j)]));
        await page(cursor(listed[Math.min(i, j)]), cursor(listed[Math.max(i, j)]));
      }
      const foreign = r.pick(rows);
      await page(cursor(foreign));
      await page(undefined, cursor(foreign));
    }
  });
});
