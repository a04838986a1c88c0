// `miniflare` as the Vite plugin of `npm run dev` sees it (see dev-egress.js): the same module,
// but for convertV4MiniflareOptions, which gives the app Worker (the `name` of wrangler.toml) the
// egress Worker as its outbound service, as `npm start` does. INSECURE_ALLOW_LOOPBACK in the
// environment, else the Worker's own var (from .dev.vars or wrangler.toml), decides the network.
import { readFileSync } from 'node:fs';
import * as real from 'miniflare';
import { EGRESS_WORKER, egressWorker } from './egress.js';

export * from 'miniflare';

const APP_NAME = /^name\s*=\s*"([^"]+)"/m.exec(readFileSync(new URL('../wrangler.toml', import.meta.url), 'utf8'))?.[1];

/**
 * Miniflare's own conversion, after adding the egress Worker to options that run the app Worker.
 * @param {import('miniflare').V4MiniflareOptions} options
 */
export function convertV4MiniflareOptions(options) {
  const workers = /** @type {Array<Record<string, any>> | undefined} */ (options.workers);
  const app = workers?.find((w) => w.name === APP_NAME);
  if (!workers || !app || workers.some((w) => w.name === EGRESS_WORKER)) return real.convertV4MiniflareOptions(options);
  const fromEnv = process.env.INSECURE_ALLOW_LOOPBACK;
  const allowLoopback = (fromEnv ?? app.bindings?.INSECURE_ALLOW_LOOPBACK) === 'true';
  const restricted = {
    ...app,
    ...(allowLoopback ? {} : { outboundService: EGRESS_WORKER }),
    bindings: { ...app.bindings, ...(fromEnv !== undefined ? { INSECURE_ALLOW_LOOPBACK: fromEnv } : {}) },
  };
  return real.convertV4MiniflareOptions(/** @type {import('miniflare').V4MiniflareOptions} */ ({
    ...options,
    workers: [...workers.map((w) => (w === app ? restricted : w)), ...(allowLoopback ? [] : [egressWorker(app.compatibilityDate ?? '2026-05-01')])],
  }));
}
