/**
 * The relay: `ANY /relay/<slug>/<path>?<query>` checked and sent to the connection's API.
 *
 * Order: an allowed CORS preflight is answered at once (it carries no key); otherwise the relay
 * key is checked before anything else, then the origin, the path's safety, the method and path
 * policy, and only then is the request forwarded.
 *
 * Hot path cost: one isolate-cached record read, one SHA-256 of the presented key, no KV write
 * but a throttled "last used" note after the answer, and static secrets opened once per isolate.
 */
import { DEFAULT_RELAY_TIMEOUT_MS } from '../connections/schema';
import { sha256Hex } from '../connections/seal';
import type { ConnectionStore, StoredConnection } from '../connections/store';
import { AppError } from '../errors';
import type { TokenProvider } from '../oauth/token-provider';
import { credentialFor } from './credentials';
import { forward, type ForwardOptions } from './forward';
import { buildUpstreamUrl, splitRelayUrl } from './path';
import {
  applyCors,
  assertMethodAllowed,
  assertPathAllowed,
  corsHeaders,
  corsOriginFor,
  isOriginAllowed,
  isPreflight,
  preflightResponse,
  varyOnOrigin,
} from './policy';
import { matchRelayKey, presentedRelayKey, relayUnauthorized } from './relay-key';

/** What the relay needs from the Worker around it. */
export interface RelayDeps {
  store: Pick<ConnectionStore, 'getForRelay' | 'touchKey' | 'openSecret'>;
  /** Creates the token provider (only OAuth connections need one). */
  tokenProvider(): TokenProvider;
  fetch: ForwardOptions['fetch'];
  /** Keeps a promise running after the answer (`ctx.waitUntil`). */
  waitUntil(promise: Promise<unknown>): void;
  deadline?: ForwardOptions['deadline'];
}

/** Re-throws an `AppError` with the CORS headers of an allowed origin, so the browser can read the problem. */
function withCorsHeaders(err: unknown, origin: string): unknown {
  if (!(err instanceof AppError)) return err;
  return new AppError(err.code, {
    detail: err.detail,
    extensions: err.extensions,
    internal: err.internal,
    headers: { ...err.headers, ...corsHeaders(origin) },
  });
}

/** Answers one relay request. Throws `AppError`s for the relay's own failures. */
export async function relay(request: Request, deps: RelayDeps): Promise<Response> {
  const parts = splitRelayUrl(request.url);
  const origin = request.headers.get('Origin');

  if (parts.slug !== null && origin !== null && isPreflight(request)) {
    const record = await deps.store.getForRelay(parts.slug);
    if (record && isOriginAllowed(origin, record.relay)) return preflightResponse(request, origin, record.relay);
  }

  const key = presentedRelayKey(request.headers.get('Authorization'));
  if (key === null) throw relayUnauthorized();
  const [hash, record] = await Promise.all([sha256Hex(key), parts.slug === null ? null : deps.store.getForRelay(parts.slug)]);
  const matched = record ? matchRelayKey(record.keys, hash) : undefined;
  if (!record || !matched) throw relayUnauthorized();
  deps.waitUntil(
    deps.store.touchKey(record.slug, matched.id).catch((err: unknown) => {
      console.warn('[relay] could not record key use', record.slug, matched.id, err instanceof Error ? err.message : 'error');
    }),
  );

  const cors = corsOriginFor(origin, () => new URL(request.url).origin, record.relay);
  try {
    const response = await send(request, record, parts.tail, parts.query, deps);
    if (cors !== null) return applyCors(response, cors);
    return record.relay?.allowedOrigins?.length ? varyOnOrigin(response) : response;
  } catch (err) {
    throw cors === null ? err : withCorsHeaders(err, cors);
  }
}

async function send(request: Request, record: StoredConnection, tail: string, query: string, deps: RelayDeps): Promise<Response> {
  const upstream = buildUpstreamUrl(record.baseUrl, tail, query);
  assertMethodAllowed(request.method, record.relay);
  assertPathAllowed(tail, record.relay);
  const credential = await credentialFor(record, { openSecret: (r) => deps.store.openSecret(r), tokenProvider: deps.tokenProvider });
  return forward(request, upstream, credential, {
    fetch: deps.fetch,
    timeoutMs: record.relay?.timeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS,
    ...(deps.deadline ? { deadline: deps.deadline } : {}),
  });
}
