/**
 * Reading and writing values with JSON Pointers (RFC 6901) for feed mapping.
 *
 * Reads follow own properties only, so a pointer can never reach a prototype. Writes build
 * null-prototype objects and dense arrays (FEEDS.md §3.2 "Writing with pointers"): missing parents
 * are created (an array when the next token is `-` or a canonical index, an object otherwise),
 * `-` and an index equal to the length append, an index past the end is `mapping-index-gap`,
 * writing under a written value or writing a target twice is `mapping-conflict`, and the tokens
 * `__proto__`, `constructor` and `prototype` are refused (`unsafe-target`).
 *
 * The syntax itself (parse, format) is the contract's, shared with the dashboard.
 * @see RFC 6901
 */
import { APPEND_TOKEN, formatPointer, isArrayIndex, isForbiddenToken, parsePointer } from '../../contract/pointer';
import { AppError } from '../errors';

export { formatPointer, parsePointer, PointerSyntaxError } from '../../contract/pointer';

/** The result of a read: found with its value, or missing. */
export type Resolved = { found: true; value: unknown } | { found: false };

const MISSING: Resolved = { found: false };

/**
 * Reads the value a pointer (or its parsed tokens) points at. Only own properties and array
 * elements at canonical indices are followed; `-`, out-of-range indices, prototype members and a
 * walk through a scalar are missing.
 * @see RFC 6901 §4
 */
export function resolvePointer(document: unknown, pointer: string | readonly string[]): Resolved {
  const tokens = typeof pointer === 'string' ? parsePointer(pointer) : pointer;
  let current: unknown = document;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      if (!isArrayIndex(token)) return MISSING;
      const index = Number(token);
      if (index >= current.length) return MISSING;
      current = current[index];
    } else if (current !== null && typeof current === 'object') {
      if (current instanceof Map) {
        if (!current.has(token)) return MISSING;
        current = current.get(token);
      } else {
        if (!Object.hasOwn(current, token)) return MISSING;
        current = (current as Record<string, unknown>)[token];
      }
    } else {
      return MISSING;
    }
    if (current === undefined) return MISSING;
  }
  return { found: true, value: current };
}

/**
 * A value built by writes: the containers it made are tracked, so that a write may descend into
 * those and never into a value another row wrote (even when that value is an object).
 */
export class PointerWriter {
  private rootValue: unknown = undefined;
  private hasRoot = false;
  /** A `Set`, not a `WeakSet`: a writer lives for one render, and weak sets cost the collector more. */
  private readonly built = new Set<object>();

  /** The value built so far (`undefined` before the first write). */
  get value(): unknown {
    return this.rootValue;
  }

  /**
   * Writes `value` at the place named by `tokens` (`[]` is the whole value). `at` names the row in
   * error details (e.g. `/request/body/fields/2/target`).
   */
  write(tokens: readonly string[], value: unknown, at = formatPointer(tokens)): void {
    for (const token of tokens) {
      if (isForbiddenToken(token)) {
        throw new AppError('unsafe-target', { detail: `The target ${at} names "${token}", which is never written.`, extensions: { pointer: at } });
      }
    }
    if (tokens.length === 0) {
      if (this.hasRoot) throw conflict(at, 'the whole body is already written');
      this.rootValue = value;
      this.hasRoot = true;
      return;
    }
    if (!this.hasRoot) {
      this.rootValue = this.container(tokens[0]!);
      this.hasRoot = true;
    }
    let node = this.rootValue;
    for (let k = 0; k < tokens.length; k++) {
      const token = tokens[k]!;
      const last = k === tokens.length - 1;
      if (node === null || typeof node !== 'object' || !this.built.has(node)) {
        throw conflict(at, `${formatPointer(tokens.slice(0, k)) || 'the body'} is a value written by another row`);
      }
      const fresh = last ? value : this.container(tokens[k + 1]!);
      if (Array.isArray(node)) {
        let index: number;
        if (token === APPEND_TOKEN) index = node.length;
        else if (isArrayIndex(token)) index = Number(token);
        else throw conflict(at, `${formatPointer(tokens.slice(0, k)) || 'the body'} is an array, and "${token}" is not an index`);
        if (index > node.length) {
          throw new AppError('mapping-index-gap', {
            detail: `The target ${at} writes index ${index} of an array of ${node.length}: indices must follow each other.`,
            extensions: { pointer: at },
          });
        }
        if (index === node.length) {
          node.push(fresh);
          node = fresh;
          continue;
        }
        if (last) throw conflict(at, `${formatPointer(tokens.slice(0, k + 1))} is already written`);
        node = node[index];
        continue;
      }
      const record = node as Record<string, unknown>;
      if (Object.hasOwn(record, token)) {
        if (last) throw conflict(at, `${formatPointer(tokens.slice(0, k + 1))} is already written`);
        node = record[token];
        continue;
      }
      // A null-prototype object: plain assignment defines an own property, with no setter to reach.
      record[token] = fresh;
      node = fresh;
    }
  }

  private container(nextToken: string): unknown[] | Record<string, unknown> {
    const made: unknown[] | Record<string, unknown> = nextToken === APPEND_TOKEN || isArrayIndex(nextToken) ? [] : Object.create(null);
    this.built.add(made);
    return made;
  }
}

function conflict(at: string, why: string): AppError {
  return new AppError('mapping-conflict', { detail: `The target ${at} cannot be written: ${why}.`, extensions: { pointer: at } });
}

/** Writes one value at `pointer` into a fresh value and returns it (a convenience over `PointerWriter`). */
export function writePointer(pointer: string, value: unknown): unknown {
  const writer = new PointerWriter();
  writer.write(parsePointer(pointer), value, pointer);
  return writer.value;
}
