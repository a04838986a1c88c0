// The servers and the load generator of the benchmark, set up as a user would: the mocks, both
// Workers in Miniflare, autocannon, optionally `npm start` itself, a client-credentials connection
// `bench` on the mock token endpoint and a relay key, all on 127.0.0.1. Used by run.js (the
// benchmark) and profile.js.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/free-port.js';
import { startChild } from './lib.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The built Worker (vite build). */
export const DIST_WORKER = join(ROOT, 'dist/edge_api_connector');
export const SLUG = 'bench';
export const CALL_PATH = '/items/42?view=full';
/** The page origin the bench feed allows (browser mode). */
export const FEED_ORIGIN = 'https://shop.example';

/** @typedef {{ url: string, headers: Record<string, string>, method?: string, body?: string }} Target */
/** @typedef {{ ok: number, failed: number, statusCodes: Record<string, unknown>, elapsedMs: number, rps: number, p50: number, p99: number, max: number, mean: number }} LoadResult */
/** @typedef {{ tokenRequests: number, byClient: Record<string, number>, upstream: Record<string, { requests: number, withToken: number, withRelayKey: number, refused: number }> }} Counts */
/** @typedef {{ calls: Record<string, number>, entries: Record<string, number> }} HomeCounts */

/**
 * A small JSON-aware fetch.
 * @param {string} url @param {RequestInit & { json?: unknown }} init
 */
export async function call(url, init = {}) {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set('Content-Type', 'application/json');
  const res = await fetch(url, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  const text = await res.text();
  return { status: res.status, text };
}

/**
 * Starts everything; `stop()` ends every process it started (also on SIGINT / SIGTERM).
 * @param {{
 *   tokenDelay: number,
 *   log: (line: string) => void,
 *   inspectorPort?: number,
 *   bareInspectorPort?: number,
 *   extraWorkers?: Array<{ name: string, script: string }>,
 *   extraProducts?: Array<{ name: string, scriptPath: string }>,
 *   workerDir?: string,
 *   start?: boolean,
 * }} options
 */
export async function startStack(options) {
  const workerDir = options.workerDir ?? DIST_WORKER;
  const wranglerConfig = JSON.parse(readFileSync(join(workerDir, 'wrangler.json'), 'utf8'));
  const mocks = startChild(join(ROOT, 'bench/mocks.js'), ['--token-delay', String(options.tokenDelay)]);
  const workers = startChild(join(ROOT, 'bench/workers.js'));
  const load = startChild(join(ROOT, 'bench/load.js'));
  const children = [load, workers, mocks];
  /** @type {Awaited<ReturnType<typeof startNpmStart>> | undefined} */
  let npmStart;
  const onSignal = async () => {
    await Promise.allSettled([...children.map((c) => c.stop()), npmStart?.stop()]);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stop = async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled([...children.map((c) => c.stop()), npmStart?.stop()]);
  };

  try {
    const { tokenOrigin, upstreamOrigin } = await mocks.ready;
    await Promise.all([workers.ready, load.ready]);
    const adminToken = `bench_${randomBytes(24).toString('base64url')}`;
    const secretsKey = randomBytes(32).toString('base64url');
    const workerSource = {
      scriptPath: join(workerDir, wranglerConfig.main ?? 'index.js'),
      compatibilityDate: wranglerConfig.compatibility_date,
      compatibilityFlags: wranglerConfig.compatibility_flags ?? [],
      adminToken,
      secretsKey,
    };
    /** @type {{ bareUrl: string, productUrl: string, extraUrls: Record<string, string>, extraProductUrls: Record<string, string> }} */
    const { bareUrl, productUrl, extraUrls, extraProductUrls } = await workers.call({
      cmd: 'start',
      upstreamOrigin,
      ...workerSource,
      inspectorPort: options.inspectorPort,
      bareInspectorPort: options.bareInspectorPort,
      extra: options.extraWorkers ?? [],
      extraProducts: options.extraProducts ?? [],
    });
    options.log(`up: upstream ${upstreamOrigin}, token ${tokenOrigin}, bare ${bareUrl}, product ${productUrl}`);
    if (options.start) {
      npmStart = await startNpmStart(adminToken);
      options.log(`up: npm start ${npmStart.url}`);
    }

    // The connection and a relay key, through the admin API as a user would.
    const admin = { Authorization: `Bearer ${adminToken}` };
    /**
     * A client-credentials connection `slug` (OAuth client `clientId` at the mock token endpoint)
     * created at `origin`, and a relay key for it made through `keyOrigin` (default: `origin`).
     * @param {string} origin @param {{ slug?: string, clientId?: string, keyOrigin?: string }} [o]
     * @returns {Promise<{ key: string } | { missing: string }>}
     */
    const setUp = async (origin, o = {}) => {
      const slug = o.slug ?? SLUG;
      const created = await call(`${origin}/api/connections`, {
        method: 'POST',
        headers: admin,
        json: {
          name: 'Benchmark',
          slug,
          baseUrl: `${upstreamOrigin}/api`,
          auth: { method: 'oauth2_client_credentials', clientId: o.clientId ?? 'bench-client', clientSecret: 'bench-secret', tokenUrl: `${tokenOrigin}/oauth/token`, scope: 'read' },
        },
      });
      if (created.status !== 201) throw new Error(`POST /api/connections answered ${created.status}: ${created.text}`);
      const keyRes = await call(`${o.keyOrigin ?? origin}/api/connections/${slug}/keys`, { method: 'POST', headers: admin, json: { name: 'bench' } });
      if (keyRes.status === 201) return { key: JSON.parse(keyRes.text).key };
      return { missing: `POST /api/connections/${slug}/keys answered ${keyRes.status}: ${keyRes.text.slice(0, 300)}` };
    };
    const main = await setUp(productUrl);
    /** @type {string | undefined} why the relay cannot be measured */
    let relayMissing = 'missing' in main ? main.missing : undefined;
    const relayKey = 'key' in main ? main.key : 'rk_none';

    // The same request on every path, but for `X-Bench-Via` (same length), by which the mock
    // upstream counts what reaches it from where.
    /** @param {string} via */
    const headersFor = (via) => ({ Authorization: `Bearer ${relayKey}`, Accept: 'application/json', 'X-Bench-Via': via });
    /** @type {{ direct: Target, bare: Target, relay: Target, start?: Target }} */
    const targets = {
      direct: { url: `${upstreamOrigin}/api${CALL_PATH}`, headers: headersFor('d') },
      bare: { url: `${bareUrl}/relay/${SLUG}${CALL_PATH}`, headers: headersFor('b') },
      relay: { url: `${productUrl}/relay/${SLUG}${CALL_PATH}`, headers: headersFor('r') },
    };
    if (npmStart) {
      const set = await setUp(npmStart.url);
      if ('missing' in set) throw new Error(`npm start: ${set.missing}`);
      // Same length of `X-Bench-Via` as the others: the upstream counts these apart ('s').
      targets.start = { url: `${npmStart.url}/relay/${SLUG}${CALL_PATH}`, headers: { ...headersFor('s'), Authorization: `Bearer ${set.key}` } };
    }
    /** @type {Record<string, Target>} */
    const extraTargets = {};
    for (const [name, url] of Object.entries(extraUrls)) extraTargets[name] = { url: `${url}/relay/${SLUG}${CALL_PATH}`, headers: headersFor('x') };
    for (const [name, url] of Object.entries(extraProductUrls)) {
      const set = await setUp(url);
      if ('missing' in set) throw new Error(`${name}: ${set.missing}`);
      extraTargets[name] = { url: `${url}/relay/${SLUG}${CALL_PATH}`, headers: { ...headersFor('p'), Authorization: `Bearer ${set.key}` } };
    }
    // Every path answers the upstream's body before anything is measured.
    const expected = (await call(`${upstreamOrigin}/api${CALL_PATH}`)).text;
    for (const [name, target] of [...Object.entries(targets), ...Object.entries(extraTargets)]) {
      if (name === 'relay' && relayMissing) continue;
      const res = await call(target.url, { headers: target.headers });
      if (res.status === 200 && res.text === expected) continue;
      const why = `${name} (${target.url}) answered ${res.status}: ${res.text.slice(0, 300)}`;
      if (name !== 'relay') throw new Error(why);
      relayMissing = why;
    }
    if (relayMissing) options.log(`the relay cannot be measured, only direct and bare are: ${relayMissing}`);

    return {
      wranglerConfig,
      productUrl,
      admin,
      targets,
      extraTargets,
      relayMissing,
      stop,
      /** @returns {Promise<Counts>} */
      counts: () => mocks.call({ cmd: 'counts' }),
      /** The mock API refuses (401) every token issued so far to OAuth client `client`. @returns {Promise<number>} tokens revoked */
      revoke: (/** @type {string} */ client) => mocks.call({ cmd: 'revoke', client }),
      /**
       * Calls received so far by the connection homes of a Worker ('product', or 'isolates' once
       * started), by method, and the entries of their call-log batches by kind (bench/home-count.js).
       * @param {string} [worker] @param {string} [slug] the home read from (its isolate's counts)
       * @returns {Promise<HomeCounts>}
       */
      homeCalls: (worker = 'product', slug = SLUG) => workers.call({ cmd: 'homeCalls', worker, slug }),
      /**
       * The call log's totals of the last hour (`GET /api/connections/<slug>/stats?window=1h`).
       * @param {string} [origin] @param {string} [slug] @returns {Promise<{ total: number, outcomes: Record<string, number> }>}
       */
      async callTotals(origin = productUrl, slug = SLUG) {
        const res = await call(`${origin}/api/connections/${slug}/stats?window=1h`, { headers: admin });
        if (res.status !== 200) throw new Error(`GET stats answered ${res.status}: ${res.text.slice(0, 300)}`);
        return JSON.parse(res.text).totals;
      },
      /**
       * The built Worker as `count` scripts (isolates) in one more Miniflare, bound to one home
       * class in a script of its own ('iso-home'); then `isolateConnection` makes connections there.
       * @param {number} count @returns {Promise<{ homeUrl: string, edgeUrls: string[] }>}
       */
      startIsolates: (count) => workers.call({ cmd: 'isolates', count, ...workerSource }),
      /**
       * A new connection `slug` (OAuth client `clientId`) created through the first isolate, its key
       * through the second; answers one relay target per isolate.
       * @param {string[]} edgeUrls @param {string} slug @param {string} clientId @returns {Promise<Target[]>}
       */
      async isolateConnection(edgeUrls, slug, clientId) {
        const set = await setUp(/** @type {string} */ (edgeUrls[0]), { slug, clientId, keyOrigin: edgeUrls[1] ?? edgeUrls[0] });
        if ('missing' in set) throw new Error(`isolates: ${set.missing}`);
        return edgeUrls.map((url) => ({ url: `${url}/relay/${slug}${CALL_PATH}`, headers: { ...headersFor('i'), Authorization: `Bearer ${set.key}` } }));
      },
      /** CPU µs used so far by each Worker's workerd process ('bare', 'product', ..., and 'start': npm start's workerd). @returns {Promise<Record<string, number>>} */
      cpu: async () => ({ ...(await workers.call({ cmd: 'cpu' })), ...(npmStart ? { start: cpuMicros(npmStart.workerdPid()) } : {}) }),
      /** workerd process ids by Worker name ('bare', 'product', and 'start': npm start's). @returns {Promise<Record<string, number | undefined>>} */
      pids: async () => ({ ...(await workers.call({ cmd: 'pids' })), ...(npmStart ? { start: npmStart.workerdPid() } : {}) }),
      /** Resident memory (bytes) of npm start's serving processes (its Node process and workerd). */
      startMemory: () => (npmStart ? npmStart.memory() : { node: NaN, workerd: NaN }),
      /** Resident memory (bytes) of the bare Worker's workerd. */
      bareMemory: async () => rssBytes((await workers.call({ cmd: 'pids' })).bare),
      /** Purges the token cached by npm start's Worker. */
      async purgeStart() {
        if (!npmStart) return;
        const res = await call(`${npmStart.url}/api/connections/${SLUG}/token`, { method: 'DELETE', headers: admin });
        if (res.status !== 204) throw new Error(`DELETE token (npm start) answered ${res.status}: ${res.text}`);
      },
      /**
       * One bounded load run; any failed or non-2xx answer fails the bench.
       * @param {Target} target
       * @param {{ connections: number, duration?: number, amount?: number, bucket?: string }} shape
       * @returns {Promise<LoadResult>}
       */
      async drive(target, shape) {
        const result = await load.call({ cmd: 'run', run: { ...target, ...shape } });
        // A timed slice may end with nothing answered yet when other work starves the machine: it
        // still counts (its time, no requests); an error, a non-2xx or a run of N that got none fails.
        if (result.failed > 0 || (result.ok === 0 && !shape.duration)) throw new Error(`${target.url}: ${result.failed} failed of ${result.ok + result.failed} (${JSON.stringify(result.statusCodes)})`);
        return result;
      },
      /**
       * A feed on the bench connection (browser mode, origin `FEED_ORIGIN`): an urlencoded form
       * mapped to a JSON body POSTed to `/items` (no response mapping: the JSON caller gets
       * `{ok, runId}`), and the relay doing the same call (the same JSON body,
       * `POST /relay/<slug>/items`). Both answer 200 when measured.
       * @param {string} [origin] the product it is made on (default: the measured one)
       * @returns {Promise<{ feed: Target, relayPost: Target }>}
       */
      async feedTargets(origin = productUrl) {
        const created = await call(`${origin}/api/feeds`, {
          method: 'POST',
          headers: admin,
          json: {
            name: 'Benchmark signup',
            connection: SLUG,
            trigger: { browser: { enabled: true, allowedOrigins: [FEED_ORIGIN] }, contentTypes: ['form'] },
            input: { fields: [{ name: 'email', required: true, format: 'email' }, { name: 'name' }] },
            request: {
              method: 'POST',
              path: '/items',
              body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }, { target: '/name', value: '{{/input/name}}' }, { target: '/source', value: 'bench' }] },
            },
          },
        });
        if (created.status !== 201) throw new Error(`POST /api/feeds answered ${created.status}: ${created.text.slice(0, 300)}`);
        const { triggerUrl } = JSON.parse(created.text);
        const feed = {
          url: triggerUrl,
          method: 'POST',
          headers: { Origin: FEED_ORIGIN, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', 'X-Bench-Via': 'f' },
          body: 'email=ada%40example.com&name=Ada+Lovelace',
        };
        const relayPost = {
          url: `${productUrl}/relay/${SLUG}/items`,
          method: 'POST',
          headers: { Authorization: `Bearer ${relayKey}`, 'Content-Type': 'application/json', Accept: 'application/json', 'X-Bench-Via': 'q' },
          body: JSON.stringify({ email: 'ada@example.com', name: 'Ada Lovelace', source: 'bench' }),
        };
        for (const target of [feed, relayPost]) {
          const res = await call(target.url, { method: 'POST', headers: target.headers, body: target.body });
          if (res.status !== 200) throw new Error(`${target.url} answered ${res.status}: ${res.text.slice(0, 300)}`);
        }
        return { feed, relayPost };
      },
      /** The figures over every run into `bucket` since the last take. @returns {Promise<LoadResult>} */
      take: (/** @type {string} */ bucket) => load.call({ cmd: 'take', bucket }),
      /** Purges the connection's cached token (`DELETE /api/connections/bench/token`). */
      async purge() {
        const res = await call(`${productUrl}/api/connections/${SLUG}/token`, { method: 'DELETE', headers: admin });
        if (res.status !== 204) throw new Error(`DELETE token answered ${res.status}: ${res.text}`);
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * CPU time a process has used so far, in µs, over all its threads (Linux; NaN elsewhere).
 * @param {number | undefined} pid
 */
export function cpuMicros(pid) {
  if (!pid) return NaN;
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns > 0 ? ns / 1000 : NaN;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in bytes (Linux /proc; NaN elsewhere). @param {number | undefined} pid */
function rssBytes(pid) {
  if (!pid) return NaN;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Direct children of a process (Linux /proc). @param {number} pid @returns {{ pid: number, comm: string }[]} */
function childrenOf(pid) {
  /** @type {{ pid: number, comm: string }[]} */
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {}
  }
  return found;
}

/**
 * `npm start` as a user runs it, on a free port, with its own state folder and `.dev.vars` (this
 * admin token, loopback allowed: the mocks are on 127.0.0.1), in its own process group.
 * @param {string} adminToken
 */
async function startNpmStart(adminToken) {
  const dir = mkdtempSync(join(tmpdir(), 'eac-bench-start-'));
  const devVars = join(dir, '.dev.vars');
  writeFileSync(devVars, `ADMIN_TOKEN=${adminToken}\nSECRETS_KEY=${randomBytes(32).toString('base64url')}\nINSECURE_ALLOW_LOOPBACK=true\n`, { mode: 0o600 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), EAC_PERSIST_DIR: join(dir, 'state'), EAC_DEV_VARS: devVars },
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const stop = async () => {
    if (child.pid && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(child.pid, 'SIGINT');
      } catch {}
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {}
    if (Date.now() > until) {
      await stop();
      throw new Error(`npm start did not come up:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // npm -> node scripts/start.js (exec'd by the script's shell) -> workerd
  const nodePid = () => childrenOf(/** @type {number} */ (child.pid)).find((c) => c.comm === 'node')?.pid;
  const workerdPid = () => {
    const node = nodePid();
    return node ? childrenOf(node).find((c) => c.comm === 'workerd')?.pid : undefined;
  };
  return {
    url,
    stop,
    workerdPid,
    memory: () => ({ node: rssBytes(nodePid()), workerd: rssBytes(workerdPid()) }),
  };
}
