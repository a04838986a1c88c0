// The local runtime's way out when loopback is not allowed: an egress Worker whose only binding
// is a workerd network that allows public addresses, set as the app Worker's outbound service.
// workerd applies the network's rules to the addresses a host name resolves to, so a name that
// points at 127.0.0.1 is refused like 127.0.0.1 itself, as Cloudflare refuses DNS answers in
// private ranges. (With INSECURE_ALLOW_LOOPBACK=true the Worker keeps Miniflare's own network,
// which allows public, private and loopback addresses, and no egress Worker is in the way.)
// Used by `npm start` (scripts/serve.js) and `npm run dev` (scripts/dev-egress-miniflare.js).

/** The egress Worker's name (a dot: no name a wrangler config can give a Worker). */
export const EGRESS_WORKER = 'eac.egress';

const EGRESS_SCRIPT = 'export default { fetch(request, env) { return env.NETWORK.fetch(request); } };';

/** The workerd network the app may reach: publicly routable addresses only. */
export const PUBLIC_NETWORK = { allow: ['public'], deny: [], tlsOptions: { trustBrowserCas: true } };

/**
 * The egress Worker, in Miniflare's (v4-shaped) worker options.
 * @param {string} compatibilityDate
 */
export function egressWorker(compatibilityDate) {
  return {
    name: EGRESS_WORKER,
    modules: true,
    script: EGRESS_SCRIPT,
    compatibilityDate,
    serviceBindings: { NETWORK: { network: PUBLIC_NETWORK } },
  };
}
