/**
 * What PostgreSQL can store unchanged, checked before a value reaches it
 * (pure functions, no Nest: the query library uses them too).
 *
 * - text and jsonb reject U+0000 (an error, so a 500 if it got that far);
 * - a lone UTF-16 surrogate is not Unicode: jsonb rejects its escape, and
 *   Node writes it into text as U+FFFD, silently changing the value;
 * - JSON nested deeper than `MAX_JSON_DEPTH` is refused before anything
 *   recursive sees it (class-transformer, JSON.stringify and PostgreSQL's
 *   jsonb parser all recurse, and overflow a few thousand levels down).
 */
export const MAX_JSON_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored unchanged, or undefined. */
export function storableTextProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode text (lone surrogate)';
  return undefined;
}

export interface JsonValueProblem {
  /** Where, relative to the value: `''` for the value itself, `.a[2].b` below it. */
  path: string;
  message: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

export interface JsonValueChecks {
  /** Arrays and objects may nest this many levels (the value itself is the first). */
  maxDepth?: number;
  /** Check keys and strings with storableTextProblem (default true); false checks the nesting only. */
  text?: boolean;
}

/**
 * The first reason `value` (as JSON.parse returns it) cannot be stored as
 * jsonb unchanged: arrays/objects nested more than `maxDepth` levels, a key
 * or string PostgreSQL rejects, or a value that is not JSON (a non-finite
 * number, anything but plain objects and arrays). Walks with an explicit
 * stack, so no input can overflow the call stack.
 */
export function jsonValueProblem(value: unknown, checks: JsonValueChecks = {}): JsonValueProblem | undefined {
  const maxDepth = checks.maxDepth ?? MAX_JSON_DEPTH;
  const text = checks.text ?? true;
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const { path, depth } = item;
    const current = item.value;
    if (current === null || typeof current === 'boolean') continue;
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { path, message: 'must be a finite number' };
      continue;
    }
    if (typeof current === 'string') {
      const problem = text ? storableTextProblem(current) : undefined;
      if (problem) return { path, message: problem };
      continue;
    }
    if (Array.isArray(current) || isPlainObject(current)) {
      if (depth >= maxDepth) return { path, message: `must not nest arrays and objects more than ${maxDepth} levels deep` };
      if (Array.isArray(current)) {
        for (let index = current.length - 1; index >= 0; index--) stack.push({ value: current[index], path: `${path}[${index}]`, depth: depth + 1 });
      } else {
        const keys = Object.keys(current);
        for (let index = keys.length - 1; index >= 0; index--) {
          const key = keys[index];
          const keyProblem = text ? storableTextProblem(key) : undefined;
          if (keyProblem) return { path: `${path}${keySegment(key)}`, message: `key ${keyProblem}` };
          stack.push({ value: current[key], path: `${path}${keySegment(key)}`, depth: depth + 1 });
        }
      }
      continue;
    }
    return { path, message: 'must be JSON (null, boolean, number, string, array or object)' };
  }
  return undefined;
}
