/**
 * JSON Pointer syntax (RFC 6901), shared by the Worker and the dashboard: parsing and formatting
 * pointers, the tokens a feed may never use, and the GravityWP path migration aid.
 *
 * Pure module: reading and writing values with pointers lives in `worker/feeds/pointer.ts`.
 * @see RFC 6901
 */

/** Tokens refused anywhere in a feed pointer: they name prototype machinery, never data. */
export const FORBIDDEN_POINTER_TOKENS = ['__proto__', 'constructor', 'prototype'] as const;

/** The RFC 6901 §4 "past the end" token: appends to an array when writing. */
export const APPEND_TOKEN = '-';

/** Longest pointer a feed may hold, in characters. */
export const POINTER_MAX_LENGTH = 1024;

/** A pointer that does not follow RFC 6901 (or the feed rules on top of it). */
export class PointerSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PointerSyntaxError';
  }
}

/** True for `__proto__`, `constructor` and `prototype`. */
export function isForbiddenToken(token: string): boolean {
  return (FORBIDDEN_POINTER_TOKENS as readonly string[]).includes(token);
}

/** True for a canonical array index: `0`, or digits without a leading zero (RFC 6901 §4). */
export function isArrayIndex(token: string): boolean {
  return /^(?:0|[1-9][0-9]*)$/.test(token) && token.length <= 15;
}

/** True for digits with a leading zero (`01`): never an index, and refused in feeds as ambiguous. */
export function isLeadingZeroIndex(token: string): boolean {
  return /^0[0-9]+$/.test(token);
}

/**
 * Splits a pointer into its unescaped reference tokens (`~1` → `/` first, then `~0` → `~`).
 * `''` is the whole document (no tokens). Throws `PointerSyntaxError` for a pointer without its
 * leading `/` or with a `~` not followed by `0` or `1`.
 * @see RFC 6901 §3, §4
 */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PointerSyntaxError(`A pointer starts with "/" (write "/${pointer}")`);
  if (/~(?![01])/.test(pointer)) throw new PointerSyntaxError('In a pointer "~" is written "~0" and "/" inside a name "~1"; "~" followed by anything else is invalid');
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Escapes one reference token (`~` → `~0`, `/` → `~1`). */
export function escapeToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Joins reference tokens into a pointer (the inverse of `parsePointer`). */
export function formatPointer(tokens: readonly (string | number)[]): string {
  return tokens.map((token) => `/${escapeToken(String(token))}`).join('');
}

/**
 * Why `pointer` may not be used in a feed, or `undefined` when it may: RFC 6901 syntax plus the
 * feed rules (no forbidden token, no leading-zero index, bounded length).
 */
export function pointerProblem(pointer: string): string | undefined {
  if (pointer.length > POINTER_MAX_LENGTH) return `A pointer is at most ${POINTER_MAX_LENGTH} characters`;
  let tokens: string[];
  try {
    tokens = parsePointer(pointer);
  } catch (err) {
    return (err as Error).message;
  }
  return tokensProblem(tokens);
}

/** Why these (unescaped) tokens may not be used in a feed pointer, or `undefined`. */
export function tokensProblem(tokens: readonly string[]): string | undefined {
  for (const token of tokens) {
    if (isForbiddenToken(token)) return `"${token}" cannot be used as a name in a pointer; rename the field`;
    if (isLeadingZeroIndex(token)) return `"${token}" is ambiguous: write an array index without leading zeros (e.g. "${String(Number(token))}")`;
  }
  return undefined;
}

/**
 * Converts a GravityWP-style path to a pointer: split on `.`, `[n]` becomes an index.
 * `customer.name` → `/customer/name`, `items[0].sku` → `/items/0/sku`, `values[0][0]` →
 * `/values/0/0`. A text already starting with `/` is taken as a pointer and returned as it is.
 * Returns `null` when the path cannot be converted (keys with `.`, `[`, `]`, `/` or `~` must be
 * entered as pointers).
 */
export function gravityPathToPointer(path: string): string | null {
  const text = path.trim();
  if (text.startsWith('/')) return text;
  if (text === '') return null;
  const tokens: string[] = [];
  for (const part of text.split('.')) {
    const match = /^([^[\]/~]*)((?:\[\d+\])*)$/.exec(part);
    if (!match) return null;
    const [, name = '', indices = ''] = match;
    if (name === '' && (indices === '' || tokens.length === 0)) return null;
    if (name !== '') tokens.push(name);
    for (const index of indices.matchAll(/\[(\d+)\]/g)) tokens.push(String(Number(index[1])));
  }
  return formatPointer(tokens);
}
