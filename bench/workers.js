// Child process of the benchmark: the two Workers under test, each in its own Miniflare (one
// workerd each), configured alike and served straight from Miniflare's socket (no dev proxy):
// - bare: a passthrough Worker that forwards `/relay/<slug>/<path>` to `<upstream>/api/<path>`
//   with no key check, no KV and no token: the limit of the platform for the relay's job;
// - product: the built Worker (dist/edge_api_connector/index.js) with an in-memory KV namespace.
// Spoken to over IPC: { cmd: 'start', ... } -> { bareUrl, productUrl, extraUrls, extraProductUrls };
// { cmd: 'cpu' } -> CPU µs used so far by each Worker's workerd process, by Worker name (Linux);
// { cmd: 'pids' } -> those processes' ids, by Worker name;
// { cmd: 'homeCalls', worker, slug } -> the calls the connection homes of that Worker received so
//   far, by method (bench/home-count.js), read from the home of `slug`;
// { cmd: 'isolates', count } -> one more Miniflare (one workerd) running the built Worker as
//   `count` scripts, each its own isolate with its own module cache, bound to one home class hosted
//   by a further script ('iso-home', which takes no relay calls): { homeUrl, edgeUrls }. Its homes
//   answer `homeCalls` with worker 'isolates'.
// The product's home class is ConnectionHome with a counting subclass (bench/home-count.js); the
// Worker's own code and its `fetch` are the build's, unchanged.
// Optional (bench/profile.js): inspector ports for bare and product (CPU profiles), extra Workers
// (variants of the bare one, with its bindings) to weigh single steps of the relay path, and
// extra builds of the product (e.g. patched copies) to weigh a change against the current one.
// Miniflare 5 (wrangler's) takes the v4 options shape through convertV4MiniflareOptions.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { COUNTED_HOME_CLASS, countedHomeModule, homeRpcMethods } from './home-count.js';
import { serveParent } from './lib.js';

/** The passthrough Worker: same URL shape as the relay, forwards method, headers and body. */
export const BARE_WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const rest = url.pathname.split('/').slice(3).join('/');
    return fetch(env.UPSTREAM + '/' + rest + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
    });
  },
};
`;

/** @type {Miniflare[]} */
const running = [];
/** Which Miniflare serves which Worker (by name), and the script that hosts its home class. */
/** @type {Map<string, { mf: Miniflare, homeScript?: string }>} */
const byName = new Map();
const methods = homeRpcMethods();
/** The counting home module, placed beside the built Worker so that `./index.js` resolves. @param {string} scriptPath */
const countedSource = (scriptPath) => ({
  modules: [
    { type: /** @type {const} */ ('ESModule'), path: join(dirname(scriptPath), '__bench_counted_home.js'), contents: countedHomeModule(methods) },
    { type: /** @type {const} */ ('ESModule'), path: scriptPath },
  ],
  modulesRoot: dirname(scriptPath),
});
/** The workerd process of each Worker, by name (Linux: found in /proc as children of this process). */
/** @type {Map<string, number>} */
const pids = new Map();

/** workerd processes whose parent is this process. */
function workerdChildren() {
  /** @type {number[]} */
  const found = [];
  let entries = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'workerd' && ppid === process.pid) found.push(Number(entry));
    } catch {}
  }
  return found;
}

/**
 * CPU time a process has used so far, in µs, over all its threads (/proc/<pid>/task/<tid>/schedstat,
 * ns; else /proc/<pid>/stat, clock ticks of 10 ms). NaN where /proc is not there.
 * @param {number} pid
 */
function cpuMicros(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (ns > 0) return ns / 1000;
  } catch {}
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

/**
 * The Workers' console lines: warnings and errors are printed (a failing run shows why), the rest
 * are dropped. Each feed run writes one line (FEEDS.md §3.8), thousands a second under
 * load: on Cloudflare they go to Workers Logs, off the machine; printed here they would flood the
 * bench's output and take the shared cores from what is measured. workerd still writes every
 * line, and Miniflare still reads and parses it.
 * @param {{ level: string, message: string }} log
 */
function handleStructuredLogs({ level, message }) {
  if (level === 'error' || level === 'warn') console.error(message);
}

/**
 * @param {import('miniflare').V4MiniflareOptions} options
 * @returns {Promise<string>} the origin it serves on
 */
async function start(options) {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: 0,
      logRequests: false,
      verbose: false,
      handleStructuredLogs,
      ...options,
    }),
  );
  running.push(mf);
  const known = new Set(pids.values());
  const url = await mf.ready;
  const pid = workerdChildren().find((p) => !known.has(p));
  if (pid && typeof options.name === 'string') pids.set(options.name, pid);
  if (typeof options.name === 'string') byName.set(options.name, { mf });
  return url.origin;
}

/**
 * The home calls so far of Worker `worker` ('product', 'isolates', ...), read from the home of `slug`.
 * @param {string} worker @param {string} slug
 */
async function homeCalls(worker, slug) {
  const found = byName.get(worker);
  if (!found) throw new Error(`no Worker ${worker}`);
  /** @type {any} Miniflare's proxy of the namespace (its types are the runtime's) */
  const ns = await found.mf.getDurableObjectNamespace('HOMES', found.homeScript);
  const res = await ns.get(ns.idFromName(slug)).fetch('http://home.invalid/bench-counts');
  if (!res.ok) throw new Error(`home counts answered ${res.status}`);
  return res.json();
}

/**
 * The built Worker as \`count\` scripts in one Miniflare, bound to one home class in 'iso-home'.
 * @param {any} msg
 */
async function isolates(msg) {
  const common = {
    compatibilityDate: msg.compatibilityDate,
    compatibilityFlags: msg.compatibilityFlags ?? [],
    // One namespace id for all: every script reads and writes the same KV, as the locations of one account do.
    kvNamespaces: { CONNECTIONS: 'shared-connections' },
    bindings: { ADMIN_TOKEN: msg.adminToken, SECRETS_KEY: msg.secretsKey, INSECURE_ALLOW_LOOPBACK: 'true' },
    // Each script on its own socket: a request goes to that script's isolate and no other.
    unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
  };
  const edges = Array.from({ length: msg.count }, (_, i) => `iso-${i + 1}`);
  const workers = [
    { name: 'iso-home', ...countedSource(msg.scriptPath), ...common, durableObjects: { HOMES: { className: COUNTED_HOME_CLASS, useSQLite: true } } },
    ...edges.map((name) => ({
      name,
      modules: true,
      scriptPath: msg.scriptPath,
      modulesRoot: dirname(msg.scriptPath),
      ...common,
      durableObjects: { HOMES: { className: COUNTED_HOME_CLASS, scriptName: 'iso-home', useSQLite: true } },
    })),
  ];
  const mf = new Miniflare(convertV4MiniflareOptions({ host: '127.0.0.1', port: 0, logRequests: false, verbose: false, handleStructuredLogs, workers }));
  running.push(mf);
  const known = new Set(pids.values());
  await mf.ready;
  const pid = workerdChildren().find((p) => !known.has(p));
  if (pid) pids.set('isolates', pid);
  byName.set('isolates', { mf, homeScript: 'iso-home' });
  const homeUrl = (await mf.unsafeGetDirectURL('iso-home')).origin;
  /** @type {string[]} */
  const edgeUrls = [];
  for (const name of edges) edgeUrls.push((await mf.unsafeGetDirectURL(name)).origin);
  return { homeUrl, edgeUrls };
}

serveParent(
  async (msg) => {
    if (msg.cmd === 'cpu') return Object.fromEntries([...pids].map(([name, pid]) => [name, cpuMicros(pid)]));
    if (msg.cmd === 'pids') return Object.fromEntries(pids);
    if (msg.cmd === 'homeCalls') return homeCalls(msg.worker, msg.slug);
    if (msg.cmd === 'isolates') return isolates(msg);
    if (msg.cmd !== 'start') throw new Error(`unknown command ${msg.cmd}`);
    const bareOptions = { modules: true, compatibilityDate: msg.compatibilityDate, bindings: { UPSTREAM: `${msg.upstreamOrigin}/api` } };
    const bareUrl = await start({ ...(msg.bareInspectorPort ? { inspectorPort: msg.bareInspectorPort } : {}), name: 'bare', script: BARE_WORKER, ...bareOptions });
    /** @type {Record<string, string>} */
    const extraUrls = {};
    for (const extra of msg.extra ?? []) extraUrls[extra.name] = await start({ name: extra.name, script: extra.script, ...bareOptions });
    /** @param {string} name @param {string} scriptPath @param {number} [inspectorPort] */
    const product = (name, scriptPath, inspectorPort) =>
      start({
        ...(inspectorPort ? { inspectorPort } : {}),
        name,
        ...countedSource(scriptPath),
        compatibilityDate: msg.compatibilityDate,
        compatibilityFlags: msg.compatibilityFlags ?? [],
        kvNamespaces: ['CONNECTIONS'],
        durableObjects: { HOMES: { className: COUNTED_HOME_CLASS, useSQLite: true } },
        bindings: { ADMIN_TOKEN: msg.adminToken, SECRETS_KEY: msg.secretsKey, INSECURE_ALLOW_LOOPBACK: 'true' },
      });
    const productUrl = await product('product', msg.scriptPath, msg.inspectorPort);
    /** @type {Record<string, string>} */
    const extraProductUrls = {};
    for (const extra of msg.extraProducts ?? []) extraProductUrls[extra.name] = await product(extra.name, extra.scriptPath);
    return { bareUrl, productUrl, extraUrls, extraProductUrls };
  },
  async () => {
    await Promise.allSettled(running.map((mf) => mf.dispose()));
  },
);
process.send?.({ id: 0, result: null });
