import { describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { CSV_HEADER, csvCell, csvChunks, csvRow, ndjsonChunks } from './task-export.format';

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

async function* batchesOf<T>(...batches: T[][]): AsyncGenerator<T[]> {
  yield* batches;
}

describe('csvCell', () => {
  it('writes NULL as an empty field and the empty string as ""', () => {
    expect(csvCell(null, true)).toBe('');
    expect(csvCell('', true)).toBe('""');
  });

  it('quotes a separator, a quote or a line break, doubling quotes (RFC 4180)', () => {
    expect(csvCell('plain text', true)).toBe('plain text');
    expect(csvCell('a,b', true)).toBe('"a,b"');
    expect(csvCell('say "hi"', true)).toBe('"say ""hi"""');
    expect(csvCell('a\nb', true)).toBe('"a\nb"');
    expect(csvCell('a\r\nb', true)).toBe('"a\r\nb"');
    expect(csvCell('{"a": 1, "b": "x"}', true)).toBe('"{""a"": 1, ""b"": ""x""}"');
  });

  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1', '=cmd|"/c calc"!A1'])('prefixes %j, which a spreadsheet would read as a formula, with a quote', (value) => {
    const cell = csvCell(value, true);
    expect(parse(cell, { relaxQuotes: false })).toEqual([[`'${value}`]]);
  });

  it('leaves values that start otherwise alone, also with formula characters inside', () => {
    for (const value of ['a=1', ' =1', "'=1", '1-2', 'x@y', 'é=']) expect(csvCell(value, true)).toBe(value);
  });

  it('never neutralises a number', () => {
    expect(csvCell('-1', false)).toBe('-1');
    expect(csvCell('+1', false)).toBe('+1');
  });
});

describe('csvRow and csvChunks', () => {
  const row = ['ct_1', null, '-ws', null, 'delete_app', '=x', '{"k": "v, w"}', 'failed', '3', 'boom\n"quoted"', '2026-01-01T00:00:00.000Z', null];

  it('writes a CRLF-terminated row that an RFC 4180 parser reads back, only the text cells neutralised', () => {
    const text = csvRow(row);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(parse(CSV_HEADER + text, { columns: true })).toEqual([
      {
        id: 'ct_1', parentId: '', workspaceId: "'-ws", sourceEventId: '', resourceType: 'delete_app', resourceId: "'=x", metadata: '{"k": "v, w"}',
        status: 'failed', attempts: '3', lastError: 'boom\n"quoted"', createdAt: '2026-01-01T00:00:00.000Z', completedAt: '',
      },
    ]);
  });

  it('sends the header with the first batch, one chunk per batch, and the header alone without rows', async () => {
    expect(await collect(csvChunks(batchesOf([row], [row, row])))).toEqual([CSV_HEADER + csvRow(row), csvRow(row) + csvRow(row)]);
    expect(await collect(csvChunks(batchesOf()))).toEqual([CSV_HEADER]);
    expect(CSV_HEADER).toBe('id,parentId,workspaceId,sourceEventId,resourceType,resourceId,metadata,status,attempts,lastError,createdAt,completedAt\r\n');
  });

  it('ends the iteration of its batches when its consumer stops after the first chunk', async () => {
    let closed = false;
    async function* batches() {
      try {
        yield [row];
        yield [row];
      } finally {
        closed = true;
      }
    }
    for await (const chunk of csvChunks(batches())) {
      expect(chunk.startsWith(CSV_HEADER)).toBe(true);
      break;
    }
    expect(closed).toBe(true);
  });
});

describe('ndjsonChunks', () => {
  it('writes each task JSON on a line of its own, one chunk per batch', async () => {
    expect(await collect(ndjsonChunks(batchesOf([{ task: '{"id":"a"}' }, { task: '{"id":"b"}' }], [{ task: '{"id":"c"}' }])))).toEqual([
      '{"id":"a"}\n{"id":"b"}\n',
      '{"id":"c"}\n',
    ]);
    expect(await collect(ndjsonChunks(batchesOf()))).toEqual([]);
  });
});
