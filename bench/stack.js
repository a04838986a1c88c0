// The servers and the load generator of the benchmark, set up as a user would: the mocks, both
// Workers in Miniflare, autocannon, a client-credentials connection `bench` on the mock token
// endpoint and a relay key, all on 127.0.0.1. Used by run.js (the benchmark) and profile.js.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from './lib.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The built Worker (vite build). */
export const DIST_WORKER = join(ROOT, 'dist/edge_api_connector');
export const SLUG = 'bench';
export const CALL_PATH = '/items/42?view=full';

/** @typedef {{ url: string, headers: Record<string, string> }} Target */
/** @typedef {{ ok: number, failed: number, statusCodes: Record<string, unknown>, elapsedMs: number, rps: number, p50: number, p99: number, max: number, mean: number }} LoadResult */
/** @typedef {{ tokenRequests: number, upstream: Record<string, { requests: number, withToken: number, withRelayKey: number }> }} Counts */

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
 * }} options
 */
export async function startStack(options) {
  const workerDir = options.workerDir ?? DIST_WORKER;
  const wranglerConfig = JSON.parse(readFileSync(join(workerDir, 'wrangler.json'), 'utf8'));
  const mocks = startChild(join(ROOT, 'bench/mocks.js'), ['--token-delay', String(options.tokenDelay)]);
  const workers = startChild(join(ROOT, 'bench/workers.js'));
  const load = startChild(join(ROOT, 'bench/load.js'));
  const children = [load, workers, mocks];
  const onSignal = async () => {
    await Promise.allSettled(children.map((c) => c.stop()));
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stop = async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled(children.map((c) => c.stop()));
  };

  try {
    const { tokenOrigin, upstreamOrigin } = await mocks.ready;
    await Promise.all([workers.ready, load.ready]);
    const adminToken = `bench_${randomBytes(24).toString('base64url')}`;
    /** @type {{ bareUrl: string, productUrl: string, extraUrls: Record<string, string>, extraProductUrls: Record<string, string> }} */
    const { bareUrl, productUrl, extraUrls, extraProductUrls } = await workers.call({
      cmd: 'start',
      upstreamOrigin,
      scriptPath: join(workerDir, wranglerConfig.main ?? 'index.js'),
      compatibilityDate: wranglerConfig.compatibility_date,
      compatibilityFlags: wranglerConfig.compatibility_flags ?? [],
      adminToken,
      secretsKey: randomBytes(32).toString('base64url'),
      inspectorPort: options.inspectorPort,
      bareInspectorPort: options.bareInspectorPort,
      extra: options.extraWorkers ?? [],
      extraProducts: options.extraProducts ?? [],
    });
    options.log(`up: upstream ${upstreamOrigin}, token ${tokenOrigin}, bare ${bareUrl}, product ${productUrl}`);

    // The connection and a relay key, through the admin API as a user would.
    const admin = { Authorization: `Bearer ${adminToken}` };
    /** @param {string} origin @returns {Promise<{ key: string } | { missing: string }>} */
    const setUp = async (origin) => {
      const created = await call(`${origin}/api/connections`, {
        method: 'POST',
        headers: admin,
        json: {
          name: 'Benchmark',
          slug: SLUG,
          baseUrl: `${upstreamOrigin}/api`,
          auth: { method: 'oauth2_client_credentials', clientId: 'bench-client', clientSecret: 'bench-secret', tokenUrl: `${tokenOrigin}/oauth/token`, scope: 'read' },
        },
      });
      if (created.status !== 201) throw new Error(`POST /api/connections answered ${created.status}: ${created.text}`);
      const keyRes = await call(`${origin}/api/connections/${SLUG}/keys`, { method: 'POST', headers: admin, json: { name: 'bench' } });
      if (keyRes.status === 201) return { key: JSON.parse(keyRes.text).key };
      return { missing: `POST /api/connections/${SLUG}/keys answered ${keyRes.status}: ${keyRes.text.slice(0, 300)}` };
    };
    const main = await setUp(productUrl);
    /** @type {string | undefined} why the relay cannot be measured */
    let relayMissing = 'missing' in main ? main.missing : undefined;
    const relayKey = 'key' in main ? main.key : 'rk_none';

    // The same request on every path, but for `X-Bench-Via` (same length), by which the mock
    // upstream counts what reaches it from where.
    /** @param {string} via */
    const headersFor = (via) => ({ Authorization: `Bearer ${relayKey}`, Accept: 'application/json', 'X-Bench-Via': via });
    /** @type {{ direct: Target, bare: Target, relay: Target }} */
    const targets = {
      direct: { url: `${upstreamOrigin}/api${CALL_PATH}`, headers: headersFor('d') },
      bare: { url: `${bareUrl}/relay/${SLUG}${CALL_PATH}`, headers: headersFor('b') },
      relay: { url: `${productUrl}/relay/${SLUG}${CALL_PATH}`, headers: headersFor('r') },
    };
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
      /** CPU µs used so far by each Worker's workerd process ('bare', 'product', ...). @returns {Promise<Record<string, number>>} */
      cpu: () => workers.call({ cmd: 'cpu' }),
      /**
       * One bounded load run; any failed or non-2xx answer fails the bench.
       * @param {Target} target
       * @param {{ connections: number, duration?: number, amount?: number, bucket?: string }} shape
       * @returns {Promise<LoadResult>}
       */
      async drive(target, shape) {
        const result = await load.call({ cmd: 'run', run: { ...target, ...shape } });
        if (result.failed > 0 || result.ok === 0) throw new Error(`${target.url}: ${result.failed} failed of ${result.ok + result.failed} (${JSON.stringify(result.statusCodes)})`);
        return result;
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
