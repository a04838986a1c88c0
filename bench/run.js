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
// --warm-calls warm relayed calls at 100 callers. Also the dashboard's JS size and the Worker's
// upload size (`wrangler deploy --dry-run`, offline). Prints a table and writes BENCHMARKS.md.
// Every run is bounded in requests or seconds; every process started here is stopped here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fmt, parseArgs, spread, table } from './lib.js';
import { dashboardSizes } from './sizes.js';
import { DIST_WORKER, ROOT, SLUG, startStack } from './stack.js';

const DIST_ASSETS = join(ROOT, 'dist/client/assets');

const TARGETS = {
  warmTokensPer10k: 0,
  coldTokens: 1,
  throughputRatio: 0.9,
  p50DiffMs: 1,
  dashboardGzipKB: 30,
  workerUploadKiB: 150,
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
    const { targets, relayMissing, counts, cpu, drive, take, purge, wranglerConfig, startMemory, bareMemory } = stack;
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
      for (let i = 0; i < opts.slices; i++) {
        const order = i % 2 ? [...names].reverse() : names;
        for (const name of order) {
          const process = name === 'relay' ? 'product' : name;
          const before = (await cpu())[process] ?? NaN;
          await drive(targetOf(name), { ...shapeOf(connections, opts.slices), bucket: `${name}${tag}` });
          cpuUs[name] = /** @type {number} */ (cpuUs[name]) + ((await cpu())[process] ?? NaN) - before;
        }
      }
      /** @type {Record<string, LoadResult & { cpuUsPerCall: number }>} */
      const out = {};
      for (const name of names) {
        const result = await take(`${name}${tag}`);
        out[name] = { ...result, cpuUsPerCall: /** @type {number} */ (cpuUs[name]) / result.ok };
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
      };
      rounds.push(round);
      log(
        `round ${r}/${opts.rounds}: direct ${fmt(round.direct.rps)} req/s, bare ${fmt(round.bare.rps)}, relay ${fmt(round.relay.rps)} ` +
          `(x${fmt(round.ratio.throughput, 2)}, p50 +${fmt(round.ratio.p50DiffMs, 2)} ms; 1 caller +${fmt(round.ratio.p50DiffMs1, 2)} ms), ` +
          `cold burst ${round.relayCold.tokenRequests} token request(s), warm ${round.warm.tokenRequests} per ${round.warm.ok}`,
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
    const viaStart = finalCounts.upstream.s ?? { requests: 0, withToken: 0, withRelayKey: 0 };
    relayed.requests += viaStart.requests;
    relayed.withToken += viaStart.withToken;
    relayed.withRelayKey += viaStart.withRelayKey;

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
    results.targets = [
      { name: 'token requests per 10,000 warm calls (every round)', target: `${TARGETS.warmTokensPer10k}`, value: fmt(t.warmPer10k.max, 1), met: t.warmPer10k.max <= TARGETS.warmTokensPer10k },
      { name: `token requests, ${opts.coldBurst} concurrent calls from cold (every round)`, target: `${TARGETS.coldTokens}`, value: t.coldBurst.min === t.coldBurst.max ? fmt(t.coldBurst.max) : `${t.coldBurst.min}..${t.coldBurst.max}`, met: t.coldBurst.min === TARGETS.coldTokens && t.coldBurst.max === TARGETS.coldTokens },
      { name: 'relay/bare throughput (median)', target: `>= ${TARGETS.throughputRatio}`, value: fmt(ra.throughput.median, 2), met: ra.throughput.median >= TARGETS.throughputRatio },
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
      [`token requests per 10,000 warm calls (${res.meta.settings.tokenConnections} callers)`, fmt(t.warmPer10k.min, 1), fmt(t.warmPer10k.median, 1), fmt(t.warmPer10k.max, 1)],
      [`token requests, ${t.coldBurstSize} calls at once from cold`, fmt(t.coldBurst.min), fmt(t.coldBurst.median), fmt(t.coldBurst.max)],
    ],
  );
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
- **Load:** ${n} round${n === 1 ? '' : 's'}; ${s.connections} concurrent callers, ${load}; relay-cold: ${s.coldBurst} calls at once right after a token purge; token count: ${s.warmCalls.toLocaleString('en-US')} warm calls at ${s.tokenConnections} callers; mock token endpoint delay ${s.tokenDelayMs} ms. Run took ${m.durationS} s.

## Throughput and latency

Each cell is min / **median** / max over the rounds.

${scenarioTable}

## Relay against bare, token requests

${ratioTable}

## Sizes

${sizeTable}
${memoryTable ? `\n## Memory of \`npm start\` under load\n\n${memoryTable}\n` : ''}
## Targets

${targetTable}

## How to read these figures

- Everything runs on this one machine, on 127.0.0.1: the load generator (autocannon, its own
  process), the mock token endpoint and mock upstream (Node, another process), and workerd (one
  per Worker, started through Miniflare's API with no dev proxy). They share the cores, so the
  absolute figures are those of a small machine, not of Cloudflare's network.
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
  direct runs alone.
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
- Dashboard JS is the sum of dist/client/assets/*.js (gzip: each file at zlib's default level); the Worker
  upload is what \`wrangler deploy --dry-run\` prints as "Total Upload" (KiB = 1024 bytes).
- Targets for npm start (issue 11): at ${s.many} callers at least the relay's ratio to bare of the same run (aim
  ${TARGETS.throughputRatio}); with 1 caller p50 within ${TARGETS.p50DiffMs} ms of bare; memory within ±${TARGETS.memoryDriftPct} % over the sampled load.
- Targets (issue 5): token requests warm ${TARGETS.warmTokensPer10k} / cold ${TARGETS.coldTokens}; relay throughput >= ${TARGETS.throughputRatio} of bare;
  relay p50 within ${TARGETS.p50DiffMs} ms of bare (judged both at ${s.connections} callers and with 1 caller); dashboard JS
  <= ${TARGETS.dashboardGzipKB} kB gzip; Worker upload <= ${TARGETS.workerUploadKiB} KiB. Ratio and latency targets are judged on the median
  of the rounds, token targets on every round.
- \`npm run bench:profile\` shows where the relay's time goes (steps of the relay path added one
  by one to the bare Worker, and CPU profiles of both through workerd's inspector).
${findings ? `\n${findings}\n` : ''}`;
  return { tables, markdown };
}

main().catch((err) => {
  console.error(`[bench] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});
