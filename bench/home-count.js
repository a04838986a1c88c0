// The connection's home as the benchmark runs it: the built Worker's own `ConnectionHome`, with a
// subclass that counts the calls it receives from isolates (its public methods, the RPC surface),
// so that the bench can say how often the relay path calls the home. Nothing of the Worker's
// `fetch` (the relay's hot path) is changed: the module re-exports the built Worker's default
// export as it is; only the home's methods gain one counter increment each, and the subclass gets
// a `fetch` that answers the counts (the product's home has none; the bench reaches it through
// Miniflare's Durable Object namespace API, not through the Worker).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The counting class's name, as the Durable Object bindings name it. */
export const COUNTED_HOME_CLASS = 'CountedHome';

/**
 * The public methods of `ConnectionHome` (worker/connections/home.ts): what isolates can call
 * over RPC. Read from the source so that a method added there is counted without a bench change;
 * `private` ones are the home's own steps and are not calls into it.
 * @returns {string[]}
 */
export function homeRpcMethods() {
  const source = readFileSync(join(ROOT, 'worker/connections/home.ts'), 'utf8');
  const start = source.indexOf('export class ConnectionHome');
  if (start < 0) throw new Error('worker/connections/home.ts: no ConnectionHome class');
  const body = source.slice(start);
  /** @type {string[]} */
  const names = [];
  for (const m of body.matchAll(/^ {2}(private |protected |static |get |set )?(?:async )?([A-Za-z_$][\w$]*)\s*\(/gm)) {
    if (m[1] || m[2] === 'constructor') continue;
    if (!names.includes(/** @type {string} */ (m[2]))) names.push(/** @type {string} */ (m[2]));
  }
  if (!names.includes('appendCalls') || !names.includes('token')) throw new Error(`home methods not found in worker/connections/home.ts (found: ${names.join(', ')})`);
  return names;
}

/**
 * The module source: re-exports the built Worker (`./index.js` next to it) and adds
 * `CountedHome`. Counts are per isolate (module scope): every home of that script adds to them.
 * `fetch` on any home of the script answers `{ calls: { <method>: n }, entries: { <kind>: n } }`
 * (entries: of the `appendCalls` batches, by kind).
 * @param {string[]} methods
 */
export function countedHomeModule(methods) {
  return `
import { ConnectionHome } from './index.js';
export { default, ConnectionHome } from './index.js';
const calls = Object.create(null);
const entries = Object.create(null);
export class ${COUNTED_HOME_CLASS} extends ConnectionHome {
  async fetch() {
    return Response.json({ calls, entries });
  }
}
for (const name of ${JSON.stringify(methods)}) {
  const original = ConnectionHome.prototype[name];
  if (typeof original !== 'function') throw new Error('ConnectionHome has no method ' + name);
  Object.defineProperty(${COUNTED_HOME_CLASS}.prototype, name, {
    configurable: true,
    writable: true,
    value: function (...args) {
      calls[name] = (calls[name] ?? 0) + 1;
      if (name === 'appendCalls' && Array.isArray(args[1])) {
        for (const entry of args[1]) {
          const kind = entry && typeof entry.kind === 'string' ? entry.kind : 'other';
          entries[kind] = (entries[kind] ?? 0) + (Number.isInteger(entry && entry.count) ? entry.count : 1);
        }
      }
      return original.apply(this, args);
    },
  });
}
`;
}

/**
 * What happened between two readings of the counts.
 * @param {{ calls: Record<string, number>, entries: Record<string, number> }} before
 * @param {{ calls: Record<string, number>, entries: Record<string, number> }} after
 */
export function countsBetween(before, after) {
  /** @param {Record<string, number>} a @param {Record<string, number>} b */
  const diff = (a, b) => {
    /** @type {Record<string, number>} */
    const out = {};
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = (b[k] ?? 0) - (a[k] ?? 0);
      if (d !== 0) out[k] = d;
    }
    return out;
  };
  return { calls: diff(before.calls, after.calls), entries: diff(before.entries, after.entries) };
}
