// `npm run bench`: the relay against the limit of its platform, in one run (issue 5).
//
// Starts on 127.0.0.1 only, each in its own process group:
//   - mocks.js:   the mock token endpoint (delay --token-delay, counts requests) and mock upstream;
//   - workers.js: the bare passthrough Worker and the built product Worker, each in Miniflare;
//   - `npm start` itself (the product as a user runs it: dashboard and Worker from workerd);
//   - load.js:    autocannon, so that load generation shares no event loop with the servers.
// Then, for --rounds rounds: direct (upstream straight), bare, relay (warm token cache) and
// start (the relay through `npm start`) interleaved at --connections, --many and 1 caller,
// relay-cold (a token purge, then --cold-burst calls at once), and the token requests of
// --warm-calls warm relayed calls at 100 callers. The home's calls and the call log over the warm
// relay slices (bench/home-count.js counts the calls the home receives; the call log's stats give
// the entries logged). With --isolates N, the built Worker as N isolates bound to one home:
// token requests of --isolate-burst calls at once at each from cold, the home's calls and the call
// log under load, and the first answers after the upstream revokes the current token. Also the dashboard's JS size and the Worker's
// upload size (`wrangler deploy --dry-run`, offline). Prints a table and writes BENCHMARKS.md.
// Every run is bounded in requests or seconds; every process started here is stopped here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fmt, parseArgs, spread, table } from './lib.js';
import { countsBetween } from './home-count.js';
import { dashboardSizes } from './sizes.js';
import { DIST_WORKER, ROOT, SLUG, call, startStack } from './stack.js';

const DIST_ASSETS = join(ROOT, 'dist/client/assets');

const TARGETS = {
  warmTokensPer10k: 0,
  coldTokens: 1,
  throughputRatio: 0.9,
  /** Relay/bare throughput with the call log on (issue "connection home"): not below this. */
  throughputFloor: 0.83,
  /** Feed trigger / relay throughput for the same upstream call (FEEDS.md, issue "feeds"). */
  feedRatio: 0.8,
  /** Calls answered with an error after a revocation before the first 200. */
  failedAfterRevocation: 0,
  /** Token calls to the home on the warm relay path, per 1,000 calls. */
  warmTokenCallsPer1k: 0,
  /** Call-log entries logged per call made, %. */
  loggedPct: 100,
  p50DiffMs: 1,
  dashboardGzipKB: 30,
  /**
   * Upload budget. It was 150 KiB for the relay and the admin API alone (minified: 102 KiB); feeds
   * (the trigger's parser, templates, run core, dry run and run log, about 100 KiB of source) run
   * in the same Worker and took it to about 210 KiB. The platform allows 3 MB gzip (Free) and
   * 10 MB (Paid); what a larger script costs is parse time at a cold start, so the budget stays
   * well under both: 256 KiB.
   */
  workerUploadKiB: 256,
  memoryDriftPct: 10,
};

/**
 * First, last, smallest and largest total resident memory of npm start's serving processes, and
 * the largest departure from the first sample, in %.
 * @param {Array<{ t: number, node: number, workerd: number }>} samples
 */
function memorySummary(samples) {
  const totals = samples.map((s) => s.node + s.workerd).filter((v) => Number.isFinite(v));
  const first = totals[0] ?? NaN;
  const last = totals[totals.length - 1] ?? NaN;
  const min = totals.length ? Math.min(...totals) : NaN;
  const max = totals.length ? Math.max(...totals) : NaN;
  return {
    samples: samples.length,
    firstMiB: first / 2 ** 20,
    lastMiB: last / 2 ** 20,
    minMiB: min / 2 ** 20,
    maxMiB: max / 2 ** 20,
    nodeFirstMiB: (samples[0]?.node ?? NaN) / 2 ** 20,
    nodeLastMiB: (samples[samples.length - 1]?.node ?? NaN) / 2 ** 20,
    workerdFirstMiB: (samples[0]?.workerd ?? NaN) / 2 ** 20,
    workerdLastMiB: (samples[samples.length - 1]?.workerd ?? NaN) / 2 ** 20,
    maxDriftPct: (Math.max(Math.abs(max - first), Math.abs(first - min)) / first) * 100,
    series: samples.map((s) => ({ t: Math.round(s.t * 10) / 10, nodeMiB: Math.round((s.node / 2 ** 20) * 10) / 10, workerdMiB: Math.round((s.workerd / 2 ** 20) * 10) / 10 })),
  };
}


/** Entries in a call log's batches, all kinds. @param {Record<string, number>} entries */
const entryTotal = (entries) => Object.values(entries).reduce((a, b) => a + b, 0);

/** Home methods an isolate calls for a token (the broker). */
const TOKEN_METHODS = ['token', 'refused'];
/** Home methods an isolate calls on the relay path by design, off the answer: the call log's batches and key-use notes. */
const BATCH_METHOD = 'appendCalls';
const KEY_NOTE_METHOD = 'touchKeys';

/**
 * The home calls of a window of relayed calls, per 1,000 of them, split by what they are for.
 * @param {Record<string, number>} calls home calls in the window, by method
 * @param {number} made relayed calls in the window (counted by the mock upstream)
 * @param {number} seconds the window's length
 * @param {number} isolates isolates that relayed
 */
function homeFigures(calls, made, seconds, isolates) {
  const per1k = (/** @type {number} */ n) => (made > 0 ? (n * 1000) / made : NaN);
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  const batches = calls[BATCH_METHOD] ?? 0;
  const keyNotes = calls[KEY_NOTE_METHOD] ?? 0;
  const tokenCalls = TOKEN_METHODS.reduce((a, m) => a + (calls[m] ?? 0), 0);
  const other = total - batches - keyNotes - tokenCalls;
  // A batch goes per 500 entries of a connection (CALL_BATCH_MAX in worker/activity/recorder.ts), or
  // when an isolate's 1-second timer runs.
  const batchBound = Math.ceil(made / 500) + isolates * (Math.ceil(seconds) + 1);
  return {
    calls,
    made,
    seconds,
    total,
    batches,
    keyNotes,
    tokenCalls,
    other,
    batchBound,
    per1k: { total: per1k(total), batches: per1k(batches), keyNotes: per1k(keyNotes), tokenCalls: per1k(tokenCalls), other: per1k(other), batchBound: per1k(batchBound) },
    /** What "no Durable Object call on the warm relay path" allows: the call log's batches (within their bound) and key-use notes, nothing else. */
    onlyBatches: tokenCalls === 0 && other === 0 && batches <= batchBound,
  };
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The home's calls and the call log of one kind of window over the rounds.
 * @param {Array<Record<string, any>>} rounds @param {string} homeKey @param {string} logKey
 */
function homeSummary(rounds, homeKey, logKey) {
  const of = (/** @type {(h: any, l: any) => number} */ pick) => spread(rounds.map((r) => (r[homeKey] ? pick(r[homeKey], r[logKey]) : NaN)));
  const present = rounds.filter((r) => r[homeKey]);
  /** @type {Record<string, number>} */
  const calls = {};
  for (const r of present) for (const [k, v] of Object.entries(r[homeKey].calls)) calls[k] = (calls[k] ?? 0) + /** @type {number} */ (v);
  return {
    rounds: present.length,
    per1k: {
      total: of((h) => h.per1k.total),
      batches: of((h) => h.per1k.batches),
      keyNotes: of((h) => h.per1k.keyNotes),
      tokenCalls: of((h) => h.per1k.tokenCalls),
      other: of((h) => h.per1k.other),
      batchBound: of((h) => h.per1k.batchBound),
    },
    entriesPerBatch: of((h, l) => (h.batches > 0 ? (l.entriesSent.relay ?? 0) / h.batches : NaN)),
    loggedPct: of((_h, l) => l.loggedPct),
    made: present.reduce((a, r) => a + r[logKey].made, 0),
    logged: present.reduce((a, r) => a + r[logKey].logged, 0),
    calls,
    onlyBatchesEveryRound: present.length > 0 && present.every((r) => r[homeKey].onlyBatches),
    tokenCallsMax: of((h) => h.tokenCalls).max,
  };
}

/** @typedef {import('./stack.js').LoadResult} LoadResult */

const args = process.argv.slice(2);
const opts = parseArgs(args);
const log = (/** @type {string} */ line) => process.stderr.write(`[bench] ${line}\n`);

/** @param {string} pkg */
function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'n/a';
  }
}

/** Runs a Node CLI of node_modules on this Node (22), not whatever `node` is first on PATH. */
function runCli(/** @type {string} */ script, /** @type {string[]} */ cliArgs, /** @type {Record<string, string>} */ env = {}) {
  const res = spawnSync(process.execPath, [join(ROOT, 'node_modules', script), ...cliArgs], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0', ...env },
    timeout: 180_000,
  });
  return { status: res.status, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
}

/** `a[i] / b[i]` for each slice both have. @param {number[] | undefined} a @param {number[] | undefined} b */
function pairRatios(a, b) {
  const n = Math.min(a?.length ?? 0, b?.length ?? 0);
  return Array.from({ length: n }, (_, i) => /** @type {number} */ (a?.[i]) / /** @type {number} */ (b?.[i]));
}

function build() {
  log('vite build');
  const res = runCli('vite/bin/vite.js', ['build', '--logLevel', 'warn']);
  if (res.status !== 0) throw new Error(`vite build failed:\n${res.out}`);
}

/** Sum of the dashboard's JavaScript, raw and gzip (each file gzipped on its own at zlib's default level). */
function dashboardSize() {
  const files = readdirSync(DIST_ASSETS).filter((f) => f.endsWith('.js'));
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const data = readFileSync(join(DIST_ASSETS, f));
    raw += data.length;
    gzip += gzipSync(data).length;
  }
  return { files: files.length, rawBytes: raw, gzipBytes: gzip };
}

/** The Worker's upload size as `wrangler deploy --dry-run` reports it (works offline). */
function workerUploadSize() {
  const outdir = mkdtempSync(join(tmpdir(), 'eac-bench-dry-'));
  try {
    const res = runCli('wrangler/bin/wrangler.js', ['deploy', '--dry-run', '-c', join(DIST_WORKER, 'wrangler.json'), '--outdir', outdir]);
    const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(res.out);
    if (res.status !== 0 || !m) throw new Error(`wrangler deploy --dry-run gave no upload size:\n${res.out}`);
    return { kib: Number(m[1]), gzipKib: Number(m[2]) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function machine() {
  const list = cpus();
  return {
    cores: list.length,
    cpu: list[0]?.model?.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
  };
}

async function main() {
  const started = Date.now();
  const loadBefore = loadavg()[0] ?? NaN;
  if (opts.build) build();
  else if (!existsSync(join(DIST_WORKER, 'index.js'))) throw new Error('dist/ has no built Worker: run without --no-build (or `npm run build`) first');
  const dashboard = dashboardSize();
  const loads = dashboardSizes(join(ROOT, 'dist/client'));
  const upload = workerUploadSize();
  log(`sizes: dashboard JS ${fmt(dashboard.gzipBytes / 1000, 1)} kB gzip, Worker upload ${upload.kib} KiB`);

  const stack = await startStack({ tokenDelay: opts.tokenDelay, log, start: opts.start });
  try {
    const { targets, relayMissing, counts, cpu, drive, take, purge, wranglerConfig, startMemory, bareMemory, homeCalls, callTotals, startIsolates, isolateConnection, revoke, feedTargets } = stack;
    /** A feed on the bench connection and the relay doing the same POST (FEEDS.md: feed ≥ 0.8 of the relay). */
    const feedPair = relayMissing ? undefined : await feedTargets();
    /** The built Worker as several isolates bound to one home (cold tokens, revocation, call log). */
    const iso = opts.isolates > 0 && !relayMissing ? await startIsolates(opts.isolates) : undefined;
    if (iso) log(`up: ${iso.edgeUrls.length} isolates bound to one home (${iso.homeUrl})`);
    /**
     * A window of relayed calls: the home's counts (by method), the calls the mock upstream got from
     * there (\`via\`), the call log's totals and the token requests of \`client\` before; then \`load\`;
     * then, once the call log's timed flush has run (1 s after the last call: waited for, then until
     * the home has received nothing new for 0.5 s), the same after. The call log's totals are read
     * outside the window, so the bench's own reads of them are not among the home's calls.
     * @template T
     * @param {{ worker: string, slug: string, via: string, origin: string, client: string, isolates: number }} w
     * @param {() => Promise<T>} load
     */
    const logWindow = async (w, load) => {
      // Entries of the calls made before the window (a cold burst) are still on their way: an
      // isolate sends what it holds within a second (the timed flush). Let them land first.
      await sleep(1200);
      const logBefore = await callTotals(w.origin, w.slug);
      const homeBefore = await homeCalls(w.worker, w.slug);
      const countsBefore = await counts();
      const t0 = Date.now();
      const out = await load();
      const seconds = (Date.now() - t0) / 1000;
      const madeSoFar = ((await counts()).upstream[w.via]?.requests ?? 0) - (countsBefore.upstream[w.via]?.requests ?? 0);
      // Past the timed flush (1 s after the last call), then until the home has had an entry for
      // every call made, or nothing new for 3 s (then the figures say what is missing).
      await sleep(1200);
      let homeAfter = await homeCalls(w.worker, w.slug);
      let unchangedSince = Date.now();
      for (let i = 0; i < 40 && (countsBetween(homeBefore, homeAfter).entries.relay ?? 0) < madeSoFar && Date.now() - unchangedSince < 3000; i++) {
        await sleep(250);
        const next = await homeCalls(w.worker, w.slug);
        if (JSON.stringify(next) !== JSON.stringify(homeAfter)) unchangedSince = Date.now();
        homeAfter = next;
      }
      await sleep(200);
      homeAfter = await homeCalls(w.worker, w.slug);
      // Read after the wait: a call the load generator abandoned when its time was up may still
      // have reached the upstream (and the log) since.
      const countsAfter = await counts();
      const logAfter = await callTotals(w.origin, w.slug);
      const made = (countsAfter.upstream[w.via]?.requests ?? 0) - (countsBefore.upstream[w.via]?.requests ?? 0);
      const tokenRequests = (countsAfter.byClient[w.client] ?? 0) - (countsBefore.byClient[w.client] ?? 0);
      const between = countsBetween(homeBefore, homeAfter);
      // Each token request is one entry of the log too (kind token): what is left are the relay's.
      const logged = logAfter.total - logBefore.total - tokenRequests;
      return {
        out,
        log: { made, logged, loggedPct: made > 0 ? (logged / made) * 100 : NaN, tokenRequests, entriesSent: between.entries },
        home: homeFigures(between.calls, made, seconds, w.isolates),
      };
    };
    /** One relay call, its status and how long it took (ms, from this process). @param {import('./stack.js').Target} target */
    const probe = async (target) => {
      const t0 = performance.now();
      const res = await call(target.url, { headers: target.headers });
      return { status: res.status, ms: performance.now() - t0 };
    };
    /** A measured run's shape: --duration seconds, or with --tiny a few requests. */
    const shapeOf = (/** @type {number} */ connections, /** @type {number} */ part = 1) =>
      opts.tiny ? { connections, amount: Math.max(Math.round(opts.amount / part), connections) } : { connections, duration: opts.duration / part };
    const warm = async (/** @type {{ url: string, headers: Record<string, string> }} */ target, /** @type {number} */ connections) => {
      if (opts.warmup > 0) await drive(target, { connections, duration: opts.warmup });
    };
    /**
     * bare and relay measured in alternating slices (bare, relay, relay, bare, ...), each adding
     * up to --duration: load from elsewhere on the machine then weighs on both alike.
     * @param {number} connections @param {string} tag
     */
    const interleaved = async (connections, tag) => {
      /** @type {Array<'bare' | 'relay' | 'start'>} */
      const names = relayMissing ? ['bare'] : targets.start ? ['bare', 'relay', 'start'] : ['bare', 'relay'];
      const targetOf = (/** @type {'bare' | 'relay' | 'start'} */ name) => /** @type {import('./stack.js').Target} */ (targets[name]);
      for (const name of names) await warm(targetOf(name), connections);
      /** CPU µs of each Worker's workerd process while its own slices ran. */
      /** @type {Record<string, number>} */
      const cpuUs = { bare: 0, relay: 0, start: 0 };
      /** req/s of each slice, by name (slice i of each name ran next to slice i of the others). @type {Record<string, number[]>} */
      const sliceRps = { bare: [], relay: [], start: [] };
      for (let i = 0; i < opts.slices; i++) {
        const order = i % 2 ? [...names].reverse() : names;
        for (const name of order) {
          const process = name === 'relay' ? 'product' : name;
          const before = (await cpu())[process] ?? NaN;
          const slice = await drive(targetOf(name), { ...shapeOf(connections, opts.slices), bucket: `${name}${tag}` });
          cpuUs[name] = /** @type {number} */ (cpuUs[name]) + ((await cpu())[process] ?? NaN) - before;
          sliceRps[name]?.push(slice.rps);
        }
      }
      /** @type {Record<string, LoadResult & { cpuUsPerCall: number, sliceRps: number[] }>} */
      const out = {};
      for (const name of names) {
        const result = await take(`${name}${tag}`);
        out[name] = { ...result, cpuUsPerCall: /** @type {number} */ (cpuUs[name]) / result.ok, sliceRps: sliceRps[name] ?? [] };
      }
      return out;
    };
    /**
     * The feed trigger and the relay doing the same POST, in alternating slices as above; both
     * run in the product's workerd, so CPU per call is read per slice.
     * @param {{ feed: import('./stack.js').Target, relayPost: import('./stack.js').Target }} pair
     */
    const feedVsRelay = async (pair) => {
      const names = /** @type {const} */ (['relayPost', 'feed']);
      for (const name of names) await warm(pair[name], opts.connections);
      /** @type {Record<string, number>} */
      const cpuUs = { relayPost: 0, feed: 0 };
      /** @type {Record<string, number[]>} */
      const sliceRps = { relayPost: [], feed: [] };
      for (let i = 0; i < opts.slices; i++) {
        for (const name of i % 2 ? [...names].reverse() : names) {
          const before = (await cpu()).product ?? NaN;
          const slice = await drive(pair[name], { ...shapeOf(opts.connections, opts.slices), bucket: name });
          cpuUs[name] = /** @type {number} */ (cpuUs[name]) + ((await cpu()).product ?? NaN) - before;
          sliceRps[name]?.push(slice.rps);
        }
      }
      /** @type {Record<string, LoadResult & { cpuUsPerCall: number, sliceRps: number[] }>} */
      const out = {};
      for (const name of names) {
        const result = await take(name);
        out[name] = { ...result, cpuUsPerCall: /** @type {number} */ (cpuUs[name]) / result.ok, sliceRps: sliceRps[name] ?? [] };
      }
      return out;
    };
    /** @type {Array<Record<string, any>>} */
    const rounds = [];
    for (let r = 1; r <= opts.rounds; r++) {
      /** @type {Record<string, any>} */
      const round = {};
      await warm(targets.direct, opts.connections);
      round.direct = await drive(targets.direct, shapeOf(opts.connections));
      const beforeSteady = await counts();
      // The warm relay rounds (every load level) are one window of the call log and the home's calls.
      const relayRounds = async () => {
        const loaded = await interleaved(opts.connections, '');
        round.bare = loaded.bare;
        round.relay = loaded.relay;
        round.start = loaded.start;
        if (opts.many > 0) {
          const many = await interleaved(opts.many, 'Many');
          round.bareMany = many.bare;
          round.relayMany = many.relay;
          round.startMany = many.start;
        }
        if (opts.singleCaller) {
          const single = await interleaved(1, '1');
          round.bare1 = single.bare;
          round.relay1 = single.relay;
          round.start1 = single.start;
        }
      };
      if (relayMissing) await relayRounds();
      else {
        const window = await logWindow({ worker: 'product', slug: SLUG, via: 'r', origin: stack.productUrl, client: 'bench-client', isolates: 1 }, relayRounds);
        round.relayLog = window.log;
        round.relayHome = window.home;
      }
      if (relayMissing) {
        rounds.push(round);
        log(`round ${r}/${opts.rounds}: direct ${fmt(round.direct.rps)} req/s, bare ${fmt(round.bare.rps)}, relay not measured`);
        continue;
      }
      round.relay.tokenRequests = (await counts()).tokenRequests - beforeSteady.tokenRequests;
      // relay-cold: purge the cached token, then the first calls all at once.
      await purge();
      const beforeCold = await counts();
      round.relayCold = await drive(targets.relay, { connections: opts.coldBurst, amount: opts.coldBurst });
      round.relayCold.tokenRequests = (await counts()).tokenRequests - beforeCold.tokenRequests;
      // The same burst with the token cached: what the cold one costs more is the token's way in.
      round.relayBurst = await drive(targets.relay, { connections: opts.coldBurst, amount: opts.coldBurst });
      // Token requests of warm relayed calls at 100 callers.
      const beforeWarm = await counts();
      round.warm = await drive(targets.relay, { connections: opts.tokenConnections, amount: opts.warmCalls });
      round.warm.tokenRequests = (await counts()).tokenRequests - beforeWarm.tokenRequests;
      if (feedPair) {
        const pair = await feedVsRelay(feedPair);
        round.feed = pair.feed;
        round.relayPost = pair.relayPost;
      }
      if (iso) {
        // A new connection per round: every isolate's caches start cold for it.
        const slug = `iso-r${r}`;
        const client = `iso-client-r${r}`;
        const isoTargets = await isolateConnection(iso.edgeUrls, slug, client);
        const first = /** @type {import('./stack.js').Target} */ (isoTargets[0]);
        // Cold: --isolate-burst calls at once at each isolate, all isolates together.
        const coldHome = await homeCalls('isolates', slug);
        const coldBefore = await counts();
        const cold = await Promise.all(isoTargets.map((t) => drive(t, { connections: opts.isolateBurst, amount: opts.isolateBurst })));
        const coldAfter = await counts();
        round.isoCold = {
          calls: cold.reduce((a, c) => a + c.ok, 0),
          tokenRequests: (coldAfter.byClient[client] ?? 0) - (coldBefore.byClient[client] ?? 0),
          p50: Math.max(...cold.map((c) => c.p50)),
          p99: Math.max(...cold.map((c) => c.p99)),
        };
        // Warm: every isolate under load at once; the call log and the home's calls over it.
        const perIsolate = Math.max(1, Math.round(opts.connections / Math.max(1, opts.isolates)));
        const window = await logWindow({ worker: 'isolates', slug, via: 'i', origin: /** @type {string} */ (iso.edgeUrls[0]), client, isolates: isoTargets.length }, () =>
          Promise.all(isoTargets.map((t) => drive(t, shapeOf(perIsolate)))),
        );
        round.isoCold.homeTokenCalls = countsBetween(coldHome, await homeCalls('isolates', slug)).calls.token ?? 0;
        round.isoLog = window.log;
        round.isoHome = window.home;
        // Revocation: the API refuses the current token from now on and accepts only a new one.
        // Calls one at a time at the first isolate until one answers 200, then each other isolate's first call.
        const warmCall = await probe(first);
        const before = await counts();
        await revoke(client);
        let failed = 0;
        /** @type {{ status: number, ms: number } | undefined} */
        let firstGood;
        /** @type {number[]} */
        const failedStatuses = [];
        for (let i = 0; i < 10 && !firstGood; i++) {
          const p = await probe(first);
          if (p.status === 200) firstGood = p;
          else {
            failed++;
            failedStatuses.push(p.status);
          }
        }
        const others = [];
        for (const t of isoTargets.slice(1)) others.push(await probe(t));
        const after = await counts();
        round.revocation = {
          failedBeforeFirst: failed,
          failedStatuses,
          firstMs: firstGood?.ms ?? NaN,
          warmMs: warmCall.status === 200 ? warmCall.ms : NaN,
          othersFailed: others.filter((o) => o.status !== 200).length,
          othersStatuses: others.map((o) => o.status),
          othersMaxMs: Math.max(...others.map((o) => o.ms)),
          tokenRequests: (after.byClient[client] ?? 0) - (before.byClient[client] ?? 0),
          refusals: (after.upstream.i?.refused ?? 0) - (before.upstream.i?.refused ?? 0),
        };
      }
      round.ratio = {
        throughput: round.relay.rps / round.bare.rps,
        p50: round.relay.p50 / round.bare.p50,
        p99: round.relay.p99 / round.bare.p99,
        p50DiffMs: round.relay.p50 - round.bare.p50,
        p50DiffMs1: round.relay1 ? round.relay1.p50 - round.bare1.p50 : NaN,
        cpuPerCallDiffUs: round.relay.cpuUsPerCall - round.bare.cpuUsPerCall,
        cpuPerCall: round.relay.cpuUsPerCall / round.bare.cpuUsPerCall,
        relayManyThroughput: round.relayMany ? round.relayMany.rps / round.bareMany.rps : NaN,
        startThroughput: round.start ? round.start.rps / round.bare.rps : NaN,
        startManyThroughput: round.startMany ? round.startMany.rps / round.bareMany.rps : NaN,
        startP50DiffMs1: round.start1 ? round.start1.p50 - round.bare1.p50 : NaN,
        startCpuPerCallDiffUs: round.start ? round.start.cpuUsPerCall - round.bare.cpuUsPerCall : NaN,
        feedThroughput: round.feed ? round.feed.rps / round.relayPost.rps : NaN,
        feedCpuPerCallDiffUs: round.feed ? round.feed.cpuUsPerCall - round.relayPost.cpuUsPerCall : NaN,
        // Each slice against the slice it ran next to (same index, alternating order).
        relaySlices: pairRatios(round.relay.sliceRps, round.bare.sliceRps),
        feedSlices: round.feed ? pairRatios(round.feed.sliceRps, round.relayPost.sliceRps) : [],
      };
      rounds.push(round);
      log(
        `round ${r}/${opts.rounds}: direct ${fmt(round.direct.rps)} req/s, bare ${fmt(round.bare.rps)}, relay ${fmt(round.relay.rps)} ` +
          `(x${fmt(round.ratio.throughput, 2)}, p50 +${fmt(round.ratio.p50DiffMs, 2)} ms; 1 caller +${fmt(round.ratio.p50DiffMs1, 2)} ms), ` +
          `cold burst ${round.relayCold.tokenRequests} token request(s), warm ${round.warm.tokenRequests} per ${round.warm.ok}; ` +
          `home calls ${JSON.stringify(round.relayHome.calls)} per ${round.relayLog.made} relayed, logged ${round.relayLog.logged}` +
          (round.isoCold
            ? `; ${opts.isolates} isolates: cold ${round.isoCold.tokenRequests} token request(s) for ${round.isoCold.calls} calls, ` +
              `home calls ${JSON.stringify(round.isoHome.calls)} per ${round.isoLog.made}, logged ${round.isoLog.logged}; ` +
              `revocation: ${round.revocation.failedBeforeFirst} failed before the first 200 (${fmt(round.revocation.firstMs, 1)} ms), others ${round.revocation.othersStatuses.join(',')}`
            : ''),
      );
    }
    // Memory of npm start's serving processes (its Node process and workerd) over --memory
    // seconds of load at --many callers (or --connections), after the rounds' warm-up.
    // The bare Worker's workerd under the same load first: what the runtime itself does.
    /** @type {Array<{ t: number, node: number, workerd: number }>} */
    const memory = [];
    /** @type {Array<{ t: number, node: number, workerd: number }>} */
    const bareMem = [];
    if (targets.start && !relayMissing) {
      const connections = opts.many || opts.connections;
      /** @param {import('./stack.js').Target} target @param {() => Promise<{ node: number, workerd: number }>} read @param {typeof memory} into */
      const sampled = async (target, read, into) => {
        const t0 = Date.now();
        const sample = async () => void into.push({ t: (Date.now() - t0) / 1000, ...(await read()) });
        await sample();
        const timer = setInterval(() => void sample(), 1000);
        try {
          await drive(target, { connections, duration: opts.memorySeconds });
        } finally {
          clearInterval(timer);
        }
        await sample();
      };
      await sampled(targets.bare, async () => ({ node: 0, workerd: await bareMemory() }), bareMem);
      await sampled(targets.start, async () => startMemory(), memory);
    }
    // What reached the upstream over the whole run: every relayed call with an issued token, none
    // with the caller's relay key.
    const finalCounts = await counts();
    const relayed = finalCounts.upstream.r ?? { requests: 0, withToken: 0, withRelayKey: 0 };
    for (const via of ['s', 'i']) {
      const more = finalCounts.upstream[via] ?? { requests: 0, withToken: 0, withRelayKey: 0 };
      relayed.requests += more.requests;
      relayed.withToken += more.withToken;
      relayed.withRelayKey += more.withRelayKey;
    }

    const per = (/** @type {(r: Record<string, any>) => number} */ pick) => rounds.map((r) => pick(r) ?? NaN);
    /** @type {Array<[string, string]>} */
    const scenarios = /** @type {Array<[string, string]>} */ ([
      ['direct', 'direct: mock upstream straight'],
      ['bare', 'bare: passthrough Worker'],
      ['relay', 'relay: warm token cache'],
      ['start', 'npm start: relay, warm token cache'],
      ['bareMany', `bare, ${opts.many} callers`],
      ['relayMany', `relay, ${opts.many} callers`],
      ['startMany', `npm start, ${opts.many} callers`],
      ['bare1', 'bare, 1 caller'],
      ['relay1', 'relay, 1 caller'],
      ['start1', 'npm start, 1 caller'],
      ['relayCold', `relay-cold: ${opts.coldBurst} at once after a purge`],
      ['relayBurst', `relay: ${opts.coldBurst} at once, token cached`],
      ['relayPost', 'relay: POST with a JSON body, warm token'],
      ['feed', 'feed trigger: form -> the same JSON POST'],
    ]).filter(([key]) => (opts.singleCaller || !key.endsWith('1')) && (opts.many > 0 || !key.endsWith('Many')) && (opts.start || !key.startsWith('start')));
    const results = {
      meta: {
        command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
        date: new Date().toISOString(),
        durationS: 0,
        machine: { ...machine(), loadAverage1m: { before: loadBefore, after: loadavg()[0] ?? NaN } },
        versions: {
          node: process.version,
          workerd: versionOf('workerd'),
          miniflare: versionOf('miniflare'),
          wrangler: versionOf('wrangler'),
          autocannon: versionOf('autocannon'),
          hono: versionOf('hono'),
          vite: versionOf('vite'),
        },
        settings: {
          rounds: opts.rounds,
          durationS: opts.tiny ? null : opts.duration,
          requestsPerScenario: opts.tiny ? opts.amount : null,
          warmupS: opts.warmup,
          connections: opts.connections,
          slices: opts.slices,
          singleCaller: opts.singleCaller,
          many: opts.many,
          start: opts.start,
          memorySeconds: opts.memorySeconds,
          coldBurst: opts.coldBurst,
          warmCalls: opts.warmCalls,
          tokenConnections: opts.tokenConnections,
          isolates: iso ? opts.isolates : 0,
          isolateBurst: opts.isolateBurst,
          isolateCallers: Math.max(1, Math.round(opts.connections / Math.max(1, opts.isolates))),
          tokenDelayMs: opts.tokenDelay,
          compatibilityDate: wranglerConfig.compatibility_date,
          tiny: opts.tiny,
        },
      },
      scenarios: Object.fromEntries(
        scenarios.map(([key, label]) => [
          key,
          {
            label,
            rps: spread(per((r) => r[key]?.rps)),
            p50: spread(per((r) => r[key]?.p50)),
            p99: spread(per((r) => r[key]?.p99)),
            cpuUsPerCall: spread(per((r) => r[key]?.cpuUsPerCall)),
            requests: per((r) => r[key]?.ok ?? 0).reduce((a, b) => a + b, 0),
          },
        ]),
      ),
      ratios: {
        throughput: spread(per((r) => r.ratio?.throughput)),
        p50: spread(per((r) => r.ratio?.p50)),
        p99: spread(per((r) => r.ratio?.p99)),
        p50DiffMs: spread(per((r) => r.ratio?.p50DiffMs)),
        p50DiffMs1: spread(per((r) => r.ratio?.p50DiffMs1)),
        cpuPerCallDiffUs: spread(per((r) => r.ratio?.cpuPerCallDiffUs)),
        cpuPerCall: spread(per((r) => r.ratio?.cpuPerCall)),
        relayManyThroughput: spread(per((r) => r.ratio?.relayManyThroughput)),
        startThroughput: spread(per((r) => r.ratio?.startThroughput)),
        feedThroughput: spread(per((r) => r.ratio?.feedThroughput)),
        feedCpuPerCallDiffUs: spread(per((r) => r.ratio?.feedCpuPerCallDiffUs)),
        relaySlices: { ...spread(rounds.flatMap((r) => r.ratio?.relaySlices ?? [])), count: rounds.reduce((n, r) => n + (r.ratio?.relaySlices?.length ?? 0), 0) },
        feedSlices: { ...spread(rounds.flatMap((r) => r.ratio?.feedSlices ?? [])), count: rounds.reduce((n, r) => n + (r.ratio?.feedSlices?.length ?? 0), 0) },
        startManyThroughput: spread(per((r) => r.ratio?.startManyThroughput)),
        startP50DiffMs1: spread(per((r) => r.ratio?.startP50DiffMs1)),
        startCpuPerCallDiffUs: spread(per((r) => r.ratio?.startCpuPerCallDiffUs)),
      },
      memory: memorySummary(memory),
      bareMemory: memorySummary(bareMem),
      tokens: {
        warmPer10k: spread(per((r) => (r.warm ? (r.warm.tokenRequests * 10_000) / r.warm.ok : NaN))),
        warmCalls: opts.warmCalls,
        coldBurst: spread(per((r) => r.relayCold?.tokenRequests)),
        coldBurstSize: opts.coldBurst,
        duringRelayRuns: per((r) => r.relay?.tokenRequests ?? 0).reduce((a, b) => a + b, 0),
        relayedCalls: relayed.requests,
        relayedWithoutToken: relayed.requests - relayed.withToken,
        relayedWithRelayKey: relayed.withRelayKey,
      },
      home: {
        relay: homeSummary(rounds, 'relayHome', 'relayLog'),
        isolates: homeSummary(rounds, 'isoHome', 'isoLog'),
        isolateCount: iso ? opts.isolates : 0,
        isolateBurst: opts.isolateBurst,
        isoCold: {
          tokenRequests: spread(per((r) => r.isoCold?.tokenRequests)),
          homeTokenCalls: spread(per((r) => r.isoCold?.homeTokenCalls)),
          calls: per((r) => r.isoCold?.calls ?? 0).reduce((a, b) => a + b, 0),
          p99: spread(per((r) => r.isoCold?.p99)),
        },
        revocation: {
          failedBeforeFirst: spread(per((r) => r.revocation?.failedBeforeFirst)),
          firstMs: spread(per((r) => r.revocation?.firstMs)),
          warmMs: spread(per((r) => r.revocation?.warmMs)),
          othersFailed: spread(per((r) => r.revocation?.othersFailed)),
          othersMaxMs: spread(per((r) => r.revocation?.othersMaxMs)),
          tokenRequests: spread(per((r) => r.revocation?.tokenRequests)),
          refusals: spread(per((r) => r.revocation?.refusals)),
        },
      },
      sizes: {
        dashboardJs: { files: dashboard.files, rawKB: dashboard.rawBytes / 1000, gzipKB: dashboard.gzipBytes / 1000, rawBytes: dashboard.rawBytes, gzipBytes: dashboard.gzipBytes },
        workerUpload: { kib: upload.kib, gzipKib: upload.gzipKib },
        dashboardFirstLoad: { files: loads.firstLoad.files.map((f) => f.file), rawKB: loads.firstLoad.rawBytes / 1000, gzipKB: loads.firstLoad.gzipBytes / 1000 },
        dashboardLazy: loads.lazy.map((f) => ({ file: f.file, rawKB: f.rawBytes / 1000, gzipKB: f.gzipBytes / 1000 })),
      },
      targets: /** @type {Array<{ name: string, target: string, value: string, met: boolean }>} */ ([]),
      rounds,
    };
    const t = results.tokens;
    const ra = results.ratios;
    const h = results.home;
    /** A figure that must hold in every round: its one value, or its range. @param {{ min: number, max: number }} x @param {number} [digits] */
    const everyRound = (x, digits = 0) => (x.min === x.max ? fmt(x.max, digits) : `${fmt(x.min, digits)}..${fmt(x.max, digits)}`);
    const homeTargets = iso
      ? [
          { name: 'token calls to the home per 1,000 warm relayed calls (every round, 1 and 4 isolates)', target: `${TARGETS.warmTokenCallsPer1k}`, value: fmt(Math.max(h.relay.per1k.tokenCalls.max, h.isolates.per1k.tokenCalls.max), 1), met: Math.max(h.relay.per1k.tokenCalls.max, h.isolates.per1k.tokenCalls.max) <= TARGETS.warmTokenCallsPer1k },
          {
            name: 'home calls on the warm relay path: call-log batches only (every round)',
            target: 'batches (<= 1 per 500 calls or per second and isolate) and key-use notes',
            value: `${fmt(h.relay.per1k.total.median, 1)} per 1,000 (${fmt(h.relay.per1k.batches.median, 1)} batches); 4 isolates ${fmt(h.isolates.per1k.total.median, 1)} (${fmt(h.isolates.per1k.batches.median, 1)})`,
            met: h.relay.onlyBatchesEveryRound && h.isolates.onlyBatchesEveryRound,
          },
          { name: 'call-log entries logged / calls made (every round, 1 and 4 isolates)', target: `${TARGETS.loggedPct} %`, value: `${fmt(Math.min(h.relay.loggedPct.min, h.isolates.loggedPct.min), 2)}..${fmt(Math.max(h.relay.loggedPct.max, h.isolates.loggedPct.max), 2)} %`, met: h.relay.loggedPct.min === TARGETS.loggedPct && h.relay.loggedPct.max === TARGETS.loggedPct && h.isolates.loggedPct.min === TARGETS.loggedPct && h.isolates.loggedPct.max === TARGETS.loggedPct },
          { name: `token requests, ${opts.isolates} isolates x ${opts.isolateBurst} concurrent calls from cold (every round)`, target: `${TARGETS.coldTokens}`, value: everyRound(h.isoCold.tokenRequests), met: h.isoCold.tokenRequests.min === TARGETS.coldTokens && h.isoCold.tokenRequests.max === TARGETS.coldTokens },
          { name: 'calls failed after a revocation before the first 200 (every round)', target: `${TARGETS.failedAfterRevocation} (the first call answers)`, value: everyRound(h.revocation.failedBeforeFirst), met: h.revocation.failedBeforeFirst.max <= TARGETS.failedAfterRevocation },
          { name: `each other isolate's first call after it: failed (every round)`, target: `${TARGETS.failedAfterRevocation}`, value: everyRound(h.revocation.othersFailed), met: h.revocation.othersFailed.max <= TARGETS.failedAfterRevocation },
        ]
      : [];
    results.targets = [
      { name: 'token requests per 10,000 warm calls (every round)', target: `${TARGETS.warmTokensPer10k}`, value: fmt(t.warmPer10k.max, 1), met: t.warmPer10k.max <= TARGETS.warmTokensPer10k },
      { name: `token requests, ${opts.coldBurst} concurrent calls from cold (every round)`, target: `${TARGETS.coldTokens}`, value: t.coldBurst.min === t.coldBurst.max ? fmt(t.coldBurst.max) : `${t.coldBurst.min}..${t.coldBurst.max}`, met: t.coldBurst.min === TARGETS.coldTokens && t.coldBurst.max === TARGETS.coldTokens },
      { name: 'relay/bare throughput, call log on (median)', target: `>= ${TARGETS.throughputFloor}`, value: fmt(ra.throughput.median, 2), met: ra.throughput.median >= TARGETS.throughputFloor },
      { name: 'relay/bare throughput, call log on, aim (median)', target: `>= ${TARGETS.throughputRatio}`, value: fmt(ra.throughput.median, 2), met: ra.throughput.median >= TARGETS.throughputRatio },
      ...(Number.isFinite(ra.feedThroughput.median)
        ? [{ name: 'feed trigger/relay throughput, same POST, warm token (median)', target: `>= ${TARGETS.feedRatio}`, value: fmt(ra.feedThroughput.median, 2), met: ra.feedThroughput.median >= TARGETS.feedRatio }]
        : []),
      ...homeTargets,
      { name: `relay p50 - bare p50, ${opts.connections} callers (median)`, target: `<= ${TARGETS.p50DiffMs} ms`, value: `${fmt(ra.p50DiffMs.median, 2)} ms`, met: ra.p50DiffMs.median <= TARGETS.p50DiffMs },
      ...(opts.singleCaller
        ? [{ name: 'relay p50 - bare p50, 1 caller (median)', target: `<= ${TARGETS.p50DiffMs} ms`, value: `${fmt(ra.p50DiffMs1.median, 2)} ms`, met: ra.p50DiffMs1.median <= TARGETS.p50DiffMs }]
        : []),
      ...(opts.start && opts.many > 0
        ? [
            { name: `npm start/bare throughput, ${opts.many} callers (median)`, target: `>= relay/bare (${fmt(ra.relayManyThroughput.median, 2)})`, value: fmt(ra.startManyThroughput.median, 2), met: ra.startManyThroughput.median >= ra.relayManyThroughput.median },
            { name: `npm start/bare throughput, ${opts.many} callers, aim (median)`, target: `>= ${TARGETS.throughputRatio}`, value: fmt(ra.startManyThroughput.median, 2), met: ra.startManyThroughput.median >= TARGETS.throughputRatio },
          ]
        : []),
      ...(opts.start && opts.singleCaller
        ? [{ name: 'npm start p50 - bare p50, 1 caller (median)', target: `<= ${TARGETS.p50DiffMs} ms`, value: `${fmt(ra.startP50DiffMs1.median, 2)} ms`, met: ra.startP50DiffMs1.median <= TARGETS.p50DiffMs }]
        : []),
      ...(opts.start
        ? [{ name: `npm start memory over ${opts.memorySeconds} s of load (largest change)`, target: `<= ${TARGETS.memoryDriftPct} %`, value: `${fmt(results.memory.maxDriftPct, 1)} %`, met: results.memory.maxDriftPct <= TARGETS.memoryDriftPct }]
        : []),
      { name: 'dashboard first load (entry, preloads, CSS), gzip', target: `<= ${TARGETS.dashboardGzipKB} kB`, value: `${fmt(results.sizes.dashboardFirstLoad.gzipKB, 1)} kB`, met: results.sizes.dashboardFirstLoad.gzipKB <= TARGETS.dashboardGzipKB },
      { name: 'Worker upload', target: `<= ${TARGETS.workerUploadKiB} KiB`, value: `${fmt(upload.kib, 2)} KiB`, met: upload.kib <= TARGETS.workerUploadKiB },
    ];
    results.meta.durationS = Math.round((Date.now() - started) / 1000);

    const report = render(results);
    process.stdout.write(`\n${report.tables}\n`);
    if (opts.json) writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
    if (relayMissing) throw new Error(`the relay could not be measured (BENCHMARKS.md left as it is): ${relayMissing}`);
    if (relayed.requests - relayed.withToken > 0 || relayed.withRelayKey > 0) {
      throw new Error(`of ${relayed.requests} relayed calls, ${relayed.requests - relayed.withToken} reached the upstream without an issued access token and ${relayed.withRelayKey} with the relay key`);
    }
    if (opts.write) {
      writeFileSync(join(ROOT, 'BENCHMARKS.md'), report.markdown(readExistingFindings()));
      log('wrote BENCHMARKS.md');
    }
    log(`done in ${results.meta.durationS} s`);
  } finally {
    await stack.stop();
  }
}

const FINDINGS_START = '<!-- findings:start (kept across runs of the bench) -->';
const FINDINGS_END = '<!-- findings:end -->';

/** The hand-written findings section of BENCHMARKS.md, kept when the figures are rewritten. */
function readExistingFindings() {
  const path = join(ROOT, 'BENCHMARKS.md');
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(FINDINGS_START);
  const end = text.indexOf(FINDINGS_END);
  return start >= 0 && end > start ? text.slice(start, end + FINDINGS_END.length) : '';
}

/**
 * The tables (console) and the Markdown page.
 * @param {any} res
 */
function render(res) {
  const hmIsolates = (/** @type {any} */ r) => r.home.isolateCount;
  const mmm = (/** @type {{ min: number, median: number, max: number }} */ s, digits = 0) =>
    `${fmt(s.min, digits)} / **${fmt(s.median, digits)}** / ${fmt(s.max, digits)}`;
  const scenarioRows = Object.values(res.scenarios).map((/** @type {any} */ s) => [
    s.label,
    mmm(s.rps),
    mmm(s.p50, 2),
    mmm(s.p99, 2),
    Number.isFinite(s.cpuUsPerCall.median) ? mmm(s.cpuUsPerCall) : '',
  ]);
  const scenarioTable = table(['scenario', 'req/s', 'p50 ms', 'p99 ms', 'workerd CPU µs/call'], scenarioRows);
  const r = res.ratios;
  const t = res.tokens;
  const ratioTable = table(
    ['figure', 'min', 'median', 'max'],
    [
      ['relay/bare throughput', fmt(r.throughput.min, 3), fmt(r.throughput.median, 3), fmt(r.throughput.max, 3)],
      [`relay/bare throughput, each slice against its neighbour (${r.relaySlices?.count ?? 0} pairs)`, fmt(r.relaySlices?.min ?? NaN, 3), fmt(r.relaySlices?.median ?? NaN, 3), fmt(r.relaySlices?.max ?? NaN, 3)],
      ['relay/bare p50', fmt(r.p50.min, 3), fmt(r.p50.median, 3), fmt(r.p50.max, 3)],
      ['relay/bare p99', fmt(r.p99.min, 3), fmt(r.p99.median, 3), fmt(r.p99.max, 3)],
      ['relay p50 - bare p50 (ms)', fmt(r.p50DiffMs.min, 2), fmt(r.p50DiffMs.median, 2), fmt(r.p50DiffMs.max, 2)],
      ...(res.meta.settings.singleCaller ? [['relay p50 - bare p50, 1 caller (ms)', fmt(r.p50DiffMs1.min, 2), fmt(r.p50DiffMs1.median, 2), fmt(r.p50DiffMs1.max, 2)]] : []),
      ['relay/bare workerd CPU per call', fmt(r.cpuPerCall.min, 3), fmt(r.cpuPerCall.median, 3), fmt(r.cpuPerCall.max, 3)],
      ['relay - bare workerd CPU per call (µs)', fmt(r.cpuPerCallDiffUs.min), fmt(r.cpuPerCallDiffUs.median), fmt(r.cpuPerCallDiffUs.max)],
      ...(res.meta.settings.start
        ? [
            [`npm start/bare throughput, ${res.meta.settings.connections} callers`, fmt(r.startThroughput.min, 3), fmt(r.startThroughput.median, 3), fmt(r.startThroughput.max, 3)],
            ...(res.meta.settings.many > 0
              ? [
                  [`relay/bare throughput, ${res.meta.settings.many} callers`, fmt(r.relayManyThroughput.min, 3), fmt(r.relayManyThroughput.median, 3), fmt(r.relayManyThroughput.max, 3)],
                  [`npm start/bare throughput, ${res.meta.settings.many} callers`, fmt(r.startManyThroughput.min, 3), fmt(r.startManyThroughput.median, 3), fmt(r.startManyThroughput.max, 3)],
                ]
              : []),
            ...(res.meta.settings.singleCaller ? [['npm start p50 - bare p50, 1 caller (ms)', fmt(r.startP50DiffMs1.min, 2), fmt(r.startP50DiffMs1.median, 2), fmt(r.startP50DiffMs1.max, 2)]] : []),
            ['npm start - bare workerd CPU per call (µs)', fmt(r.startCpuPerCallDiffUs.min), fmt(r.startCpuPerCallDiffUs.median), fmt(r.startCpuPerCallDiffUs.max)],
          ]
        : []),
      ...(Number.isFinite(r.feedThroughput?.median)
        ? [
            ['feed trigger/relay throughput, same POST (goal >= 0.8)', fmt(r.feedThroughput.min, 3), fmt(r.feedThroughput.median, 3), fmt(r.feedThroughput.max, 3)],
            ['feed trigger - relay workerd CPU per call (µs)', fmt(r.feedCpuPerCallDiffUs.min), fmt(r.feedCpuPerCallDiffUs.median), fmt(r.feedCpuPerCallDiffUs.max)],
            [`feed trigger/relay throughput, each slice against its neighbour (${r.feedSlices?.count ?? 0} pairs)`, fmt(r.feedSlices?.min ?? NaN, 3), fmt(r.feedSlices?.median ?? NaN, 3), fmt(r.feedSlices?.max ?? NaN, 3)],
          ]
        : []),
      [`token requests per 10,000 warm calls (${res.meta.settings.tokenConnections} callers)`, fmt(t.warmPer10k.min, 1), fmt(t.warmPer10k.median, 1), fmt(t.warmPer10k.max, 1)],
      [`token requests, ${t.coldBurstSize} calls at once from cold`, fmt(t.coldBurst.min), fmt(t.coldBurst.median), fmt(t.coldBurst.max)],
    ],
  );
  const hm = res.home;
  const row = (/** @type {string} */ name, /** @type {{ min: number, median: number, max: number }} */ x, digits = 0) => [name, fmt(x.min, digits), fmt(x.median, digits), fmt(x.max, digits)];
  const homeTable = hm.isolateCount > 0
    ? table(
        ['figure', 'min', 'median', 'max'],
        [
          row('home calls per 1,000 warm relayed calls, 1 isolate', hm.relay.per1k.total, 2),
          row('  of which call-log batches (appendCalls)', hm.relay.per1k.batches, 2),
          row('  of which key-use notes (touchKeys, <= 1 a minute per key)', hm.relay.per1k.keyNotes, 2),
          row('  of which token calls (token, refused)', hm.relay.per1k.tokenCalls, 2),
          row('  of which other calls', hm.relay.per1k.other, 2),
          row('  batches allowed by the flush rule', hm.relay.per1k.batchBound, 2),
          row('  relay entries per batch', hm.relay.entriesPerBatch, 1),
          row('call-log entries logged / calls made, 1 isolate (%)', hm.relay.loggedPct, 2),
          row(`home calls per 1,000 warm relayed calls, ${hm.isolateCount} isolates`, hm.isolates.per1k.total, 2),
          row('  of which call-log batches (appendCalls)', hm.isolates.per1k.batches, 2),
          row('  of which key-use notes (touchKeys)', hm.isolates.per1k.keyNotes, 2),
          row('  of which token calls (token, refused)', hm.isolates.per1k.tokenCalls, 2),
          row('  of which other calls', hm.isolates.per1k.other, 2),
          row('  batches allowed by the flush rule', hm.isolates.per1k.batchBound, 2),
          row('  relay entries per batch', hm.isolates.entriesPerBatch, 1),
          row(`call-log entries logged / calls made, ${hm.isolateCount} isolates (%)`, hm.isolates.loggedPct, 2),
          row(`token requests, ${hm.isolateCount} isolates x ${hm.isolateBurst} calls at once from cold`, hm.isoCold.tokenRequests),
          row('  token calls to the home for them (one per isolate expected)', hm.isoCold.homeTokenCalls),
          row('  p99 of the slowest isolate\'s burst (ms)', hm.isoCold.p99, 1),
          row('calls failed after a revocation before the first 200', hm.revocation.failedBeforeFirst),
          row('  latency of that first call after the revocation (ms)', hm.revocation.firstMs, 1),
          row('  latency of a warm call just before, same isolate (ms)', hm.revocation.warmMs, 1),
          row('  upstream refusals (401) seen', hm.revocation.refusals),
          row('  token requests for the new token', hm.revocation.tokenRequests),
          row(`each of the other ${hm.isolateCount - 1} isolates' first call after it: failed`, hm.revocation.othersFailed),
          row('  slowest of those first calls (ms)', hm.revocation.othersMaxMs, 1),
        ],
      )
    : '';
  const d = res.sizes.dashboardJs;
  const w = res.sizes.workerUpload;
  const sizeTable = table(
    ['size', 'raw', 'gzip'],
    [
      [`dashboard JS (${d.files} file${d.files === 1 ? '' : 's'} in dist/client/assets)`, `${fmt(d.rawKB, 1)} kB`, `${fmt(d.gzipKB, 1)} kB`],
      [`dashboard first load (${res.sizes.dashboardFirstLoad.files.join(', ')})`, `${fmt(res.sizes.dashboardFirstLoad.rawKB, 1)} kB`, `${fmt(res.sizes.dashboardFirstLoad.gzipKB, 1)} kB`],
      ...res.sizes.dashboardLazy.map((/** @type {any} */ c) => [`dashboard chunk on demand: ${c.file}`, `${fmt(c.rawKB, 1)} kB`, `${fmt(c.gzipKB, 1)} kB`]),
      ['Worker upload (wrangler deploy --dry-run)', `${fmt(w.kib, 2)} KiB`, `${fmt(w.gzipKib, 2)} KiB`],
    ],
  );
  const mem = res.memory;
  const memoryTable = res.meta.settings.start
    ? table(
        ['npm start memory (resident)', 'first', 'last', 'min', 'max', 'largest change'],
        [
          [
            `Node + workerd, ${res.meta.settings.memorySeconds} s of load (${mem.samples} samples)`,
            `${fmt(mem.firstMiB, 1)} MiB`,
            `${fmt(mem.lastMiB, 1)} MiB`,
            `${fmt(mem.minMiB, 1)} MiB`,
            `${fmt(mem.maxMiB, 1)} MiB`,
            `${fmt(mem.maxDriftPct, 1)} %`,
          ],
          ['of which Node (scripts/start.js)', `${fmt(mem.nodeFirstMiB, 1)} MiB`, `${fmt(mem.nodeLastMiB, 1)} MiB`, '', '', ''],
          ['of which workerd', `${fmt(mem.workerdFirstMiB, 1)} MiB`, `${fmt(mem.workerdLastMiB, 1)} MiB`, '', '', ''],
          [
            'for comparison: the bare Worker\'s workerd, same load before',
            `${fmt(res.bareMemory.firstMiB, 1)} MiB`,
            `${fmt(res.bareMemory.lastMiB, 1)} MiB`,
            `${fmt(res.bareMemory.minMiB, 1)} MiB`,
            `${fmt(res.bareMemory.maxMiB, 1)} MiB`,
            `${fmt(res.bareMemory.maxDriftPct, 1)} %`,
          ],
        ],
      )
    : '';
  const targetTable = table(
    ['target', 'wanted', 'measured', 'met'],
    res.targets.map((/** @type {any} */ x) => [x.name, x.target, x.value, x.met ? 'yes' : '**no**']),
  );
  const n = res.meta.settings.rounds;
  const tables = [
    `Throughput and latency (min / median / max over ${n} round${n === 1 ? '' : 's'}):`,
    scenarioTable,
    '',
    'Relay against bare, and token requests:',
    ratioTable,
    '',
    ...(homeTable ? ['Connection home and call log:', homeTable, ''] : []),
    sizeTable,
    '',
    ...(memoryTable ? [memoryTable, ''] : []),
    targetTable,
    '',
  ].join('\n');

  const m = res.meta;
  const s = m.settings;
  const load = s.tiny
    ? `${s.requestsPerScenario} requests per scenario (--tiny)`
    : `${s.durationS} s measured per scenario and round after ${s.warmupS} s of warm-up`;
  /** @param {string} findings */
  const markdown = (findings) => `# Benchmarks

The relay against the limit of its platform, measured by \`npm run bench\` (bench/run.js).
Written by the benchmark itself; rerun it to refresh the figures (the findings section at the end
is kept).

- **Command:** \`${m.command}\`
- **Date:** ${m.date}
- **Machine:** ${m.machine.cores} cores (${m.machine.cpu}), ${m.machine.memoryGiB} GiB memory, ${m.machine.os}; 1-minute load average ${fmt(m.machine.loadAverage1m.before, 2)} before the run, ${fmt(m.machine.loadAverage1m.after, 2)} after (anything above ~0 is other work sharing the cores)
- **Versions:** Node ${m.versions.node}, workerd ${m.versions.workerd} (miniflare ${m.versions.miniflare}), wrangler ${m.versions.wrangler}, autocannon ${m.versions.autocannon}, hono ${m.versions.hono}, vite ${m.versions.vite}; compatibility date ${s.compatibilityDate}
- **Load:** ${n} round${n === 1 ? '' : 's'}; ${s.connections} concurrent callers, ${load}; relay-cold: ${s.coldBurst} calls at once right after a token purge; token count: ${s.warmCalls.toLocaleString('en-US')} warm calls at ${s.tokenConnections} callers; ${res.home.isolateCount > 0 ? `isolates: ${res.home.isolateCount} x ${res.home.isolateBurst} calls at once from cold, then ${res.home.isolateCount} x ${s.isolateCallers} callers warm; ` : ''}mock token endpoint delay ${s.tokenDelayMs} ms. Run took ${m.durationS} s.

## Throughput and latency

Each cell is min / **median** / max over the rounds.

${scenarioTable}

## Relay against bare, token requests

${ratioTable}

${homeTable ? `## Connection home and call log\n\n${homeTable}\n\n` : ''}## Sizes

${sizeTable}
${memoryTable ? `\n## Memory of \`npm start\` under load\n\n${memoryTable}\n` : ''}
## Targets

${targetTable}

## How to read these figures

- Everything runs on this one machine, on 127.0.0.1: the load generator (autocannon, its own
  process), the mock token endpoint and mock upstream (Node, another process), and workerd (one
  per Worker, started through Miniflare's API with no dev proxy). They share the cores, so the
  absolute figures are those of a small machine, not of Cloudflare's network.
- The Workers' console lines (one per feed run, FEEDS.md §3.8) are written by workerd and read by
  Miniflare as always, then dropped rather than printed (warnings and errors are printed): on
  Cloudflare they go to Workers Logs, off the machine, and thousands a second printed here would
  flood the bench's output. npm start prints them, as it does for a user.
- **direct** is the mock upstream alone; **bare** adds a passthrough Worker on the same runtime
  (no key check, no KV, no token): the most any relay on this platform could do. **relay** is the
  product's \`/relay/${SLUG}/…\` with a warm token cache, carrying the same request (same path,
  headers and answer) as bare. The relay/bare ratios therefore measure the product's own cost:
  key check, connection lookup, token cache, header hygiene, URL checks, credential injection.
- **npm start** is the product as a user runs it: \`npm start\` on its own port, the built
  dashboard and Worker served straight from workerd by Miniflare's API (scripts/serve.js), its
  state on disk. It is the relay's Worker with the assets configuration: the \`run_worker_first\`
  paths are Miniflare routes of the Worker, so \`/relay/…\` does not pass Miniflare's asset router.
  The mocks are on loopback, so it runs with \`INSECURE_ALLOW_LOOPBACK=true\` and without the
  public-only egress Worker (its cost is in the findings below).
- bare, relay and npm start are measured in alternating slices (${s.slices} per round and load
  level, in turn and in reverse turn), so that other work on the machine weighs on all alike;
  direct runs alone. The rows "each slice against its neighbour" take every slice's req/s
  against the slice of the other Worker that ran next to it (10 callers; the feed against the
  relay's POST), over all rounds: a burst of other work then spoils one pair, not a round, so their
  median is steadier than the median of 3 rounds. The targets are judged on the rounds.
- **Memory** is the resident set (Linux /proc VmRSS) of npm start's Node process and its workerd,
  sampled every second over ${s.memorySeconds} s of load at ${s.many || s.connections} callers, after the rounds (the warm-up).
- Latencies are measured by the caller for answered (2xx) requests, in ms with sub-millisecond
  resolution; any failed or non-2xx answer stops the run, so no figure hides errors. At ${s.connections}
  concurrent callers the servers are saturated, so p50 is mostly queueing: relay/bare p50 is
  roughly the inverse of the throughput ratio. The **1 caller** rows are the unloaded latency:
  their p50 difference is what the relay adds to one API call.
- **workerd CPU µs/call** is the CPU time the Worker's workerd process used during its own slices
  (Linux /proc, all threads) divided by the calls served. It includes the runtime's HTTP work and
  Miniflare's entry Worker (the same for both), and it barely moves when other processes take
  the cores, so relay - bare CPU per call is the steadiest measure of the relay's own cost; when
  workerd is the bottleneck, bare/relay CPU per call is the throughput ratio to expect.
- **relay-cold** is the burst right after \`DELETE /api/connections/${SLUG}/token\`: its latencies
  include the token endpoint's ${s.tokenDelayMs} ms and the connection set-up of ${s.coldBurst}
  callers; its req/s is the burst's size over its duration. The same burst with the token cached
  follows it: the difference is what a cold token costs the callers. The cold token count is the
  single-flight proof: one token request however many callers arrive together.
- Token requests are counted by the mock token endpoint itself, not reported by the product.
- **Connection home and call log.** The home's calls are counted by the home: the bench runs the
  built Worker's \`ConnectionHome\` through a subclass (bench/home-count.js) that counts each call of
  its public methods (what isolates call over RPC) and answers the counts to the bench through
  Miniflare's Durable Object API. The Worker's \`fetch\`, the relay's hot path, is the build's,
  unchanged. One window per round covers the warm relay slices of every load level (${s.connections}, ${s.many}
  and 1 callers). Its calls are split by what they are for: the call log's batches
  (\`appendCalls\`: one per 500 entries of a connection, or when an isolate's 1-second timer runs;
  "allowed by the flush rule" is calls/500 rounded up plus one per started second and isolate),
  key-use notes (\`touchKeys\`, at most once a minute per key and isolate), token calls (\`token\`,
  \`refused\`) and anything else. Calls made are counted by the mock upstream; entries logged are the
  difference of the \`GET /api/connections/<slug>/stats?window=1h\` totals read before and after the
  window, once the home has received an entry for every call made (or nothing new for 3 s; the
  timed flush runs 1 s after the last call), minus the window's token requests (each is an entry
  too). The bench's own reads of the stats fall outside the window.
- **${hmIsolates(res)} isolates**: one more Miniflare (one workerd) runs the built Worker as ${hmIsolates(res)} scripts, each
  its own isolate and module cache, bound through \`scriptName\` to the home class hosted by a
  further script that takes no relay calls (as test/e2e/isolates.test.ts). Each round makes a new
  connection there (cold caches everywhere): ${res.home.isolateBurst} calls at once at each isolate, all together, with
  token requests counted by the mock token endpoint for that connection's OAuth client; then all
  isolates under load at once for the call-log window; then the revocation: the mock API refuses
  (401, \`invalid_token\`) every token issued so far to that client and accepts only new ones.
  Calls go one at a time to the first isolate until one answers 200 (the failures before it are
  counted; its latency, measured by the bench process, includes the refusal, the new token from an
  endpoint that takes ${s.tokenDelayMs} ms, and the retry), then one to each other isolate, which still holds
  the refused token in its memory.
- **This machine is shared**: 2 cores, with other work running (see the load average above), so
  absolute figures move by tens of percent between rounds. bare, relay and npm start are
  interleaved so that the ratios suffer less; read the medians with their min..max ranges, not
  single cells. Counts (token requests, home calls, entries logged) do not depend on speed.
- Dashboard JS is the sum of dist/client/assets/*.js (gzip: each file at zlib's default level); the Worker
  upload is what \`wrangler deploy --dry-run\` prints as "Total Upload" (KiB = 1024 bytes).
- Targets for npm start (issue 11): at ${s.many} callers at least the relay's ratio to bare of the same run (aim
  ${TARGETS.throughputRatio}); with 1 caller p50 within ${TARGETS.p50DiffMs} ms of bare; memory within ±${TARGETS.memoryDriftPct} % over the sampled load.
- Targets (issue 5): token requests warm ${TARGETS.warmTokensPer10k} / cold ${TARGETS.coldTokens}; relay throughput >= ${TARGETS.throughputRatio} of bare;
  relay p50 within ${TARGETS.p50DiffMs} ms of bare (judged both at ${s.connections} callers and with 1 caller); dashboard JS
  <= ${TARGETS.dashboardGzipKB} kB gzip; Worker upload <= ${TARGETS.workerUploadKiB} KiB. Ratio and latency targets are judged on the median
  of the rounds, token targets on every round.
- Targets (issue "connection home"): no Durable Object call on the warm relay path (no token
  call, nothing but the call log's batches and key-use notes); relay/bare throughput with the call
  log on (it is always on) not below ${TARGETS.throughputFloor}, aim ${TARGETS.throughputRatio}; ${hmIsolates(res)} isolates x ${res.home.isolateBurst} concurrent calls
  from cold: ${TARGETS.coldTokens} token request; after a revocation the first call answers (${TARGETS.failedAfterRevocation} failures). Targets
  (issue "call log"): entries logged = calls made (${TARGETS.loggedPct} %), and the home's calls per 1,000
  relayed calls are the call log's batches. Counts are judged on every round.
- \`npm run bench:profile\` shows where the relay's time goes (steps of the relay path added one
  by one to the bare Worker, and CPU profiles of both through workerd's inspector).
${findings ? `\n${findings}\n` : ''}`;
  return { tables, markdown };
}

main().catch((err) => {
  console.error(`[bench] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});
