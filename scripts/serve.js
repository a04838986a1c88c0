// Serves the built Worker and dashboard straight from workerd through Miniflare's API: no dev
// server and no Node proxy in the request path. Used by `npm start`, the browser end-to-end tests
// and the benchmark.
//
// - Bindings come from the built config (dist/<name>/wrangler.json) through wrangler's
//   unstable_getMiniflareWorkerOptions, so new bindings (KV, Durable Objects, ...) flow through.
// - The paths of `assets.run_worker_first` are Miniflare routes of the Worker: Miniflare's entry
//   Worker hands them to the Worker directly, as on Cloudflare; only the other paths go through
//   Miniflare's asset router (the dashboard).
// - Outbound connections go to public addresses only (scripts/egress.js), unless loopback is
//   allowed (INSECURE_ALLOW_LOOPBACK=true): then to Miniflare's own network, which also allows
//   private and loopback addresses.
// - No local explorer, no local observability store, no trigger endpoints; state persists under
//   <persistDir>/v3, where `npm run dev` keeps it too.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare, Log, LogLevel, convertV4MiniflareOptions } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { EGRESS_WORKER, egressWorker } from './egress.js';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Answers Cloudflare's own `/cdn-cgi/` namespace, which never reaches an app there: 404. */
const CDN_CGI_WORKER = 'eac.cdn-cgi';
const CDN_CGI_SCRIPT = `export default { fetch() {
  return new Response(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'Nothing here.' }), {
    status: 404, headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' } });
} };`;

/**
 * Miniflare routes for the paths the Worker runs first (`/api/*` -> `* /api/*`), so that these
 * reach the Worker without the asset router's hop. With negative patterns, none (the router
 * decides everything, as on Cloudflare).
 * @param {boolean | string[] | undefined} runWorkerFirst
 * @returns {string[]}
 */
export function workerRoutes(runWorkerFirst) {
  if (runWorkerFirst === true) return ['*/*'];
  if (!Array.isArray(runWorkerFirst) || runWorkerFirst.some((p) => p.startsWith('!'))) return [];
  return runWorkerFirst.filter((p) => p.startsWith('/')).map((p) => `*${p}`);
}

/**
 * @typedef {object} ServeOptions
 * @property {number} port                  0 for any free port
 * @property {string} [host]                default 127.0.0.1
 * @property {string} [persistDir]          default <root>/.wrangler/state
 * @property {Record<string, string>} vars  secrets and vars for the Worker (`.dev.vars`)
 * @property {boolean} allowLoopback        INSECURE_ALLOW_LOOPBACK: also sets the Worker's var
 * @property {string} [configPath]          default <root>/dist/edge_api_connector/wrangler.json
 * @property {(line: string) => void} [log] warnings and errors of the runtime
 */

/**
 * Starts the built Worker; resolves once it answers on its port.
 * @param {ServeOptions} options
 * @returns {Promise<{ url: URL, miniflare: Miniflare, dispose: () => Promise<void> }>}
 */
export async function serve(options) {
  const configPath = options.configPath ?? join(ROOT, 'dist/edge_api_connector/wrangler.json');
  const built = JSON.parse(readFileSync(configPath, 'utf8'));
  // `envFiles: []`: no secrets file is read here; the caller hands the vars over.
  const { workerOptions, main } = unstable_getMiniflareWorkerOptions(configPath, undefined, /** @type {any} */ ({ envFiles: [] }));
  const {
    modulesRules: _rules,
    observability: _observability,
    bindings: configVars,
    ...fromConfig
  } = /** @type {Record<string, any>} */ (workerOptions);
  const scriptPath = resolve(join(configPath, '..'), main ?? built.main);

  const worker = {
    ...fromConfig,
    name: built.name,
    modules: true,
    scriptPath,
    modulesRoot: join(scriptPath, '..'),
    bindings: { ...configVars, ...options.vars, INSECURE_ALLOW_LOOPBACK: options.allowLoopback ? 'true' : 'false' },
    routes: workerRoutes(built.assets?.run_worker_first),
    ...(options.allowLoopback ? {} : { outboundService: EGRESS_WORKER }),
  };
  const egress = options.allowLoopback ? [] : [egressWorker(built.compatibility_date)];
  const cdnCgi = { name: CDN_CGI_WORKER, modules: true, script: CDN_CGI_SCRIPT, compatibilityDate: built.compatibility_date, routes: ['*/cdn-cgi/*'] };
  const log = options.log;
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: options.host ?? '127.0.0.1',
      port: options.port,
      // Miniflare's own log: warnings and errors only, never request lines (URLs carry queries).
      log: log ? new LineLog(log) : new Log(LogLevel.NONE),
      logRequests: false,
      verbose: false,
      unsafeLocalExplorer: false,
      unsafeObservability: false,
      unsafeTriggerHandlers: false,
      telemetry: { enabled: false },
      // A placeholder `request.cf`: no call to Cloudflare for a real one.
      cf: false,
      resourcePersistencePath: join(resolve(options.persistDir ?? join(ROOT, '.wrangler/state')), 'v3'),
      resourceTmpPath: join(ROOT, '.wrangler/tmp'),
      // The first Worker answers what no route claims: the dashboard, through the asset router.
      workers: [worker, cdnCgi, ...egress],
    }),
  );
  const url = await miniflare.ready;
  return { url, miniflare, dispose: () => miniflare.dispose() };
}

/** Miniflare's log, as lines handed to a function, warnings and errors only. */
class LineLog extends Log {
  /** @param {(line: string) => void} write */
  constructor(write) {
    super(LogLevel.WARN);
    this.write = write;
  }
  /** @override @param {string} message */
  log(message) {
    this.write(message);
  }
}
