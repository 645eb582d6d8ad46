import { describe, expect, it } from '@jest/globals';
import { validate } from 'class-validator';
import { jsonValueProblem, MAX_JSON_DEPTH, storableTextProblem } from './storable';
import { IsStorableJson, IsStorableText } from './storable.decorators';

const nested = (depth: number): unknown => {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
};

describe('storableTextProblem', () => {
  it.each([
    ['plain text', 'ws_acme', undefined],
    ['astral characters (a surrogate pair)', '🧹 𝄞', undefined],
    ['the empty string', '', undefined],
    ['NUL', 'a\u0000b', 'must not contain NUL (\\u0000) characters'],
    ['a lone high surrogate', 'a\ud800', 'must be valid Unicode text (lone surrogate)'],
    ['a lone low surrogate', '\udc00a', 'must be valid Unicode text (lone surrogate)'],
    ['a reversed pair', '\udc00\ud800', 'must be valid Unicode text (lone surrogate)'],
  ])('%s', (_name, text, expected) => {
    expect(storableTextProblem(text)).toBe(expected);
  });
});

describe('jsonValueProblem', () => {
  it('accepts JSON up to MAX_JSON_DEPTH levels and names the first container past it', () => {
    expect(MAX_JSON_DEPTH).toBe(32);
    expect(jsonValueProblem(nested(32))).toBeUndefined();
    expect(jsonValueProblem(nested(33))).toEqual({ path: '[0]'.repeat(32), message: 'must not nest arrays and objects more than 32 levels deep' });
    expect(jsonValueProblem({ a: nested(31) })).toBeUndefined();
    expect(jsonValueProblem({ a: nested(32) })?.path).toBe(`.a${'[0]'.repeat(31)}`);
    expect(jsonValueProblem(nested(3), { maxDepth: 2 })?.path).toBe('[0][0]');
  });

  it('walks 1,000,000 levels without overflowing the call stack', () => {
    expect(jsonValueProblem(nested(1_000_000))?.message).toMatch(/more than 32 levels/);
  });

  it('finds unstorable strings and keys, with their paths', () => {
    expect(jsonValueProblem({ a: [1, 'ok', { 'b c': 'x\u0000' }] })).toEqual({ path: '.a[2]["b c"]', message: 'must not contain NUL (\\u0000) characters' });
    expect(jsonValueProblem({ ok: 1, 'k\ud800': 1 })).toEqual({ path: '["k\\ud800"]', message: 'key must be valid Unicode text (lone surrogate)' });
    expect(jsonValueProblem('\udc00')).toEqual({ path: '', message: 'must be valid Unicode text (lone surrogate)' });
  });

  it('with text: false checks the nesting only', () => {
    expect(jsonValueProblem({ a: 'x\u0000' }, { text: false })).toBeUndefined();
    expect(jsonValueProblem({ a: nested(40) }, { text: false })?.message).toMatch(/more than 32 levels/);
  });

  it('accepts every JSON type and rejects what JSON cannot hold', () => {
    expect(jsonValueProblem({ n: null, t: true, f: false, i: -1.5e300, s: '', a: [], o: {} })).toBeUndefined();
    expect(jsonValueProblem({ a: Number.POSITIVE_INFINITY })).toEqual({ path: '.a', message: 'must be a finite number' });
    expect(jsonValueProblem({ a: Number.NaN })?.message).toBe('must be a finite number');
    expect(jsonValueProblem({ d: new Date(0) })?.path).toBe('.d');
    expect(jsonValueProblem({ u: undefined })?.path).toBe('.u');
  });
});

class Sample {
  @IsStorableText()
  name: unknown;

  @IsStorableText({ each: true })
  ids: unknown;

  @IsStorableJson()
  metadata: unknown;
}

const sample = (fields: Partial<Sample>) => Object.assign(new Sample(), { name: 'ok', ids: ['a'], metadata: {} }, fields);
const messages = async (fields: Partial<Sample>) => (await validate(sample(fields))).flatMap((error) => Object.values(error.constraints ?? {}));

describe('IsStorableText / IsStorableJson', () => {
  it('pass storable values (and leave type checks to IsString / IsObject)', async () => {
    expect(await messages({})).toEqual([]);
    expect(await messages({ name: 42, ids: [1], metadata: { a: ['🧹'] } })).toEqual([]);
  });

  it('say what is wrong, and where inside the JSON', async () => {
    expect(await messages({ name: 'a\u0000' })).toEqual(['name must not contain NUL (\\u0000) characters']);
    expect(await messages({ ids: ['ok', 'b\ud800'] })).toEqual(['ids must be valid Unicode text (lone surrogate)']);
    expect(await messages({ metadata: { a: [{ b: 'x\u0000' }] } })).toEqual(['metadata.a[0].b must not contain NUL (\\u0000) characters']);
    expect(await messages({ metadata: { a: nested(32) } })).toEqual([`metadata.a${'[0]'.repeat(31)} must not nest arrays and objects more than 32 levels deep`]);
  });
});
