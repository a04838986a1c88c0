// `npm run bench:profile` (bench/profile.js): where the relay's time goes, to act on a missed throughput target.
// Not part of `npm run bench`; reuses its servers (bench/stack.js), on 127.0.0.1 only.
//
// 1. Steps weighed one by one: variants of the bare passthrough Worker that each add one step of
//    the relay path (header filtering both ways, a SHA-256 of the key, a timeout signal,
//    `cache: 'no-store'`, ctx.waitUntil), measured in round-robin slices against bare
//    and the relay: req/s, and workerd CPU time per call (from /proc, steadier than req/s).
// 2. CPU profiles of bare and of the product through workerd's inspector, one after the other
//    under the same load: CPU time per call of each, self time by module / runtime API and
//    by function (profiled on an unminified build in a temporary folder, so functions keep their
//    names; dist/ is left alone). The .cpuprofile files are kept for DevTools.
//
// Flags: --slices N (default 6), --slice S seconds (default 1), --connections N (default 10),
// --profile S seconds (default 5), --no-variants (bare and relay only), --no-cpu (no profile),
// --feed (profile the feed trigger against the relay doing the same POST, in place of relay
// against bare), --no-build, --compare DIR[,DIR...] (other builds of the product, e.g. patched copies of
// dist/edge_api_connector, relayed in the same round-robin to weigh a change before making it).
// BENCH_WORKER_DIR=<dir> profiles another build instead of dist/.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../test/support/free-port.js';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fmt, table } from './lib.js';
import { DIST_WORKER, ROOT, startStack } from './stack.js';

const argv = process.argv.slice(2);
const flag = (/** @type {string} */ name, /** @type {number} */ fallback) => {
  const i = argv.indexOf(name);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number`);
  return n;
};
const SLICES = Math.floor(flag('--slices', 6));
const SLICE_S = flag('--slice', 1);
const CONNECTIONS = Math.floor(flag('--connections', 10));
const PROFILE_S = flag('--profile', 5);
const compareAt = argv.indexOf('--compare');
/** Other builds of the product (folders like dist/edge_api_connector) measured beside the current one. */
const compare = compareAt >= 0 ? String(argv[compareAt + 1] ?? '').split(',').filter(Boolean) : [];
const log = (/** @type {string} */ line) => process.stderr.write(`[profile] ${line}\n`);

/** The bare Worker with steps of the relay path switched on; same URL shape and answer. */
function variant(/** @type {Record<string, boolean>} */ steps) {
  return `
const DROP = new Set(['authorization', 'cookie', 'forwarded', 'host', 'content-length', 'expect', 'accept-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const filter = (incoming) => {
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (DROP.has(name) || name.startsWith('x-forwarded-') || name.startsWith('cf-') || name.startsWith('proxy-')) continue;
    out.append(name, value);
  }
  return out;
};
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const rest = url.pathname.split('/').slice(3).join('/');
    ${steps.sha256 ? `const key = (request.headers.get('Authorization') || '').slice(7);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
    let hex = ''; for (const b of digest) hex += b.toString(16).padStart(2, '0');
    if (hex.length !== 64) throw new Error('digest');` : ''}
    ${steps.waitUntil ? `ctx.waitUntil(Promise.resolve());` : ''}
    const headers = ${steps.headers ? 'filter(request.headers)' : 'request.headers'};
    ${steps.headers ? `headers.set('Authorization', 'Bearer upstream-token');` : ''}
    ${steps.timer ? `const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 30000);` : ''}
    try {
      const res = await fetch(env.UPSTREAM + '/' + rest + url.search, {
        method: request.method, headers, body: request.body, redirect: 'manual',
        ${steps.noStore ? `cache: 'no-store',` : ''}
        ${steps.timer ? `signal: controller.signal,` : ''}
      });
      ${steps.headers ? `return new Response(res.body, { status: res.status, statusText: res.statusText, headers: filter(res.headers) });` : 'return res;'}
    } finally {
      ${steps.timer ? 'clearTimeout(timer);' : ''}
    }
  },
};`;
}

const VARIANTS = {
  'bare (control copy)': {},
  'bare+headers': { headers: true },
  'bare+sha256': { sha256: true },
  'bare+timeout': { timer: true },
  'bare+no-store': { noStore: true },
  'bare+waitUntil': { waitUntil: true },
  'bare+all-above': { headers: true, sha256: true, timer: true, noStore: true, waitUntil: true },
};

/**
 * A tiny Chrome DevTools Protocol client over the inspector's WebSocket.
 * @param {string} url
 */
async function cdp(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  let next = 0;
  /** @type {Map<number, (msg: any) => void>} */
  const pending = new Map();
  ws.addEventListener('message', (event) => {
    const msg = JSON.parse(String(event.data));
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  });
  return {
    /** @param {string} method @param {Record<string, unknown>} [params] @returns {Promise<any>} */
    send(method, params = {}) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => ws.close(),
  };
}

/**
 * Source file of each function name declared in worker/ (unique names only): the bundle's own
 * `// <path>` markers do not name every module.
 */
function sourceIndex() {
  /** @type {Map<string, string | null>} */
  const index = new Map();
  const files = readdirSync(join(ROOT, 'worker'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  for (const file of files) {
    const text = readFileSync(join(ROOT, 'worker', file), 'utf8');
    const re = /(?:function\s+(\w+)|^\s*(?:(?:private|public|static|async|readonly)\s+)*(\w+)\s*\([^)]*\)\s*(?::[^{;]+)?\{|(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?(?:\([^)]*\)|\w+)\s*(?::[^=]+)?=>)/gm;
    for (const m of text.matchAll(re)) {
      const name = m[1] ?? m[2] ?? m[3];
      if (!name || ['if', 'for', 'of', 'while', 'switch', 'catch', 'return'].includes(name)) continue;
      const path = `worker/${file}`;
      index.set(name, index.has(name) && index.get(name) !== path ? null : path);
    }
  }
  return index;
}

/** @type {string[]} module of each line of the Worker bundle */
let workerModules = [];

/**
 * Which module of an unminified bundle each line belongs to, from its `// <path>` markers.
 * @param {string} workerDir
 */
function bundleModules(workerDir) {
  const lines = readFileSync(join(workerDir, 'index.js'), 'utf8').split('\n');
  /** @type {string[]} */
  const byLine = [];
  let current = '(bundle head)';
  lines.forEach((line, i) => {
    const m = /^\/\/ ((?:node_modules|worker|shared|web)\/\S+)$/.exec(line);
    if (m?.[1]) current = m[1].startsWith('node_modules/') ? m[1].split('/').slice(0, 2).join('/') : m[1];
    byLine[i] = current;
  });
  return byLine;
}

/**
 * The Worker as `vite build` makes it, but not minified (function names in the profile), into a
 * temporary folder; dist/ is left alone.
 * @param {string} outDir
 */
async function buildUnminified(outDir) {
  const { createBuilder } = await import('vite');
  const builder = await createBuilder({
    root: ROOT,
    configFile: join(ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir },
    environments: { edge_api_connector: { build: { minify: false } } },
  });
  await builder.buildApp();
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'eac-profile-'));
  let workerDir = process.env.BENCH_WORKER_DIR ?? DIST_WORKER;
  if (!argv.includes('--no-build') && !process.env.BENCH_WORKER_DIR) {
    log('vite build (Worker not minified) into a temporary folder');
    await buildUnminified(join(tmp, 'dist'));
    workerDir = join(tmp, 'dist/edge_api_connector');
  }
  workerModules = bundleModules(workerDir);
  const inspectorPort = await freePort();
  const bareInspectorPort = await freePort();
  const stack = await startStack({
    tokenDelay: 20,
    log,
    inspectorPort,
    bareInspectorPort,
    workerDir,
    extraWorkers: argv.includes('--no-variants') ? [] : Object.entries(VARIANTS).map(([name, steps]) => ({ name, script: variant(steps) })),
    extraProducts: compare.map((dir, i) => ({ name: `relay:${basename(dir) || i}`, scriptPath: join(dir, 'index.js') })),
  });
  try {
    if (stack.relayMissing) throw new Error(`the relay does not work: ${stack.relayMissing}`);
    // With --feed and --compare: the feed trigger of each build against this build's relay doing the same POST.
    const feedOf = argv.includes('--feed') && compare.length > 0;
    /** @type {Record<string, import('./stack.js').Target>} */
    const all = feedOf ? {} : { bare: stack.targets.bare, relay: stack.targets.relay, ...stack.extraTargets };
    if (feedOf) {
      const own = await stack.feedTargets();
      all.bare = own.relayPost;
      all.relay = own.feed;
      for (const [name, target] of Object.entries(stack.extraTargets)) {
        if (!name.startsWith('relay:')) continue;
        all[name.replace(/^relay:/, 'feed:')] = (await stack.feedTargets(new URL(target.url).origin)).feed;
      }
    }
    const names = Object.keys(all);

    // 1. Steps weighed one by one, in round-robin slices; req/s, and the CPU time each Worker's
    //    workerd process used per call (read from /proc around each slice: steadier than req/s
    //    when other work shares the machine).
    const processOf = (/** @type {string} */ name) => (name === 'relay' ? 'product' : feedOf && name === 'bare' ? 'product' : name.replace(/^feed:/, 'relay:'));
    for (const name of names) await stack.drive(/** @type {any} */ (all)[name], { connections: CONNECTIONS, duration: 0.5 });
    /** @type {Record<string, number>} */
    const cpuUs = Object.fromEntries(names.map((n) => [n, 0]));
    for (let i = 0; i < SLICES; i++) {
      const order = i % 2 ? [...names].reverse() : names;
      for (const name of order) {
        const before = (await stack.cpu())[processOf(name)] ?? NaN;
        await stack.drive(/** @type {any} */ (all)[name], { connections: CONNECTIONS, duration: SLICE_S, bucket: name });
        cpuUs[name] = /** @type {number} */ (cpuUs[name]) + ((await stack.cpu())[processOf(name)] ?? NaN) - before;
      }
    }
    /** @type {Record<string, import('./stack.js').LoadResult & { cpu: number }>} */
    const results = {};
    for (const name of names) {
      const r = await stack.take(name);
      results[name] = { ...r, cpu: /** @type {number} */ (cpuUs[name]) / r.ok };
    }
    const bare = /** @type {import('./stack.js').LoadResult & { cpu: number }} */ (results.bare);
    process.stdout.write(`\n${feedOf ? "The feed trigger of each build (bare: this build's relay doing the same POST; " : "Steps of the relay path on top of bare ("}${CONNECTIONS} callers, ${SLICES} x ${SLICE_S} s each, round-robin):\n`);
    process.stdout.write(
      `${table(
        ['worker', 'req/s', 'x bare', 'p50 ms', 'p99 ms', 'workerd CPU µs/call', 'CPU - bare'],
        names.map((name) => {
          const r = /** @type {import('./stack.js').LoadResult & { cpu: number }} */ (results[name]);
          return [name, fmt(r.rps), fmt(r.rps / bare.rps, 3), fmt(r.p50, 2), fmt(r.p99, 2), fmt(r.cpu), fmt(r.cpu - bare.cpu)];
        }),
      )}\n`,
    );

    if (argv.includes('--no-cpu')) return;
    // 2. CPU profiles of bare and of the product, taken together while the load alternates between
    //    them in slices: CPU time per call of each, and where the relay's extra time goes.
    // With --feed: the feed trigger against the relay doing the same POST, both in the product.
    const feed = argv.includes('--feed') ? await stack.feedTargets() : undefined;
    /** @type {Array<[string, string, import('./stack.js').Target]>} name, inspector URL, load */
    const runs = feed
      ? [
          ['bare', `ws://127.0.0.1:${inspectorPort}/core:user:product`, feed.relayPost],
          ['relay', `ws://127.0.0.1:${inspectorPort}/core:user:product`, feed.feed],
        ]
      : [
          ['bare', `ws://127.0.0.1:${bareInspectorPort}/core:user:bare`, stack.targets.bare],
          ['relay', `ws://127.0.0.1:${inspectorPort}/core:user:product`, stack.targets.relay],
        ];
    if (feed) log('profiling the feed trigger ("relay" below) against the relay doing the same POST ("bare" below)');
    /** @type {Record<string, { profile: any, calls: number }>} */
    const profiles = {};
    // One at a time under steady load: an isolate left idle between slices gets its idle samples
    // charged to whatever ran last.
    for (const [name, url, target] of runs) {
      const session = await cdp(url);
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 100 });
      await stack.drive(target, { connections: CONNECTIONS, duration: 0.5 });
      await session.send('Profiler.start');
      const during = await stack.drive(target, { connections: CONNECTIONS, duration: PROFILE_S });
      const { profile } = await session.send('Profiler.stop');
      session.close();
      profiles[name] = { profile, calls: during.ok };
    }
    const dir = tmp;
    const lines = workerModules;
    const sources = sourceIndex();
    /** @type {Record<string, { calls: number, busyUs: number, byFunction: Map<string, number>, byModule: Map<string, number> }>} */
    const cpu = {};
    for (const [name, { profile, calls }] of Object.entries(profiles)) {
      writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
      /** @type {Map<number, any>} */
      const nodes = new Map(profile.nodes.map((/** @type {any} */ n) => [n.id, n]));
      /** @type {Map<string, number>} */
      const byFunction = new Map();
      /** @type {Map<string, number>} */
      const byModule = new Map();
      let busyUs = 0;
      profile.samples.forEach((/** @type {number} */ id, /** @type {number} */ i) => {
        const us = profile.timeDeltas[i + 1] ?? 0;
        const frame = nodes.get(id).callFrame;
        if (frame.functionName === '(idle)') return;
        busyUs += us;
        const inBundle = /index\.js$/.test(frame.url);
        const bundled = lines[frame.lineNumber] ?? 'bundle';
        const module =
          frame.url === '' ? `(${frame.functionName || 'native'})` : !inBundle ? 'bare worker' : bundled.startsWith('node_modules/') ? bundled : (sources.get(frame.functionName) ?? bundled);
        const fn = `${frame.functionName || '(anonymous)'} ${inBundle ? `${module}:${frame.lineNumber + 1}` : module}`;
        byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
        byModule.set(module, (byModule.get(module) ?? 0) + us);
      });
      cpu[name] = { calls, busyUs, byFunction, byModule };
    }
    const b = /** @type {NonNullable<typeof cpu.bare>} */ (cpu.bare);
    const r = /** @type {NonNullable<typeof cpu.relay>} */ (cpu.relay);
    process.stdout.write(
      `\nCPU time per call in each Worker's isolate, profiled one after the other under the same load (sampling every 100 µs slows both alike): ` +
        `bare ${fmt(b.busyUs / b.calls)} µs over ${fmt(b.calls)} calls, relay ${fmt(r.busyUs / r.calls)} µs over ${fmt(r.calls)} calls ` +
        `(+${fmt(r.busyUs / r.calls - b.busyUs / b.calls)} µs). Not counted: Miniflare's entry Worker and workerd's I/O, the same for both.\n`,
    );
    const keys = new Set([...b.byModule.keys(), ...r.byModule.keys()]);
    const rows = [...keys]
      .map((k) => [k, (b.byModule.get(k) ?? 0) / b.calls, (r.byModule.get(k) ?? 0) / r.calls])
      .sort((x, y) => Number(y[2]) - Number(y[1]) - (Number(x[2]) - Number(x[1])))
      .slice(0, 18)
      .map(([k, bu, ru]) => [String(k), fmt(Number(bu), 1), fmt(Number(ru), 1), fmt(Number(ru) - Number(bu), 1)]);
    process.stdout.write(`${table(['module or runtime API (self time)', 'bare µs/call', 'relay µs/call', 'relay - bare'], rows)}\n\n`);
    const topFns = [...r.byFunction.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, 25)
      .map(([k, us]) => [k, fmt(us / r.calls, 1), `${fmt((100 * us) / r.busyUs, 1)} %`]);
    process.stdout.write(`${table(['relay: function (self time)', 'µs/call', 'share of busy'], topFns)}\n`);
    process.stdout.write(`\nProfiles: ${dir}/{bare,relay}.cpuprofile (Chrome DevTools, Performance panel)\n`);
  } finally {
    await stack.stop();
    rmSync(join(tmp, 'dist'), { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`[profile] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});
