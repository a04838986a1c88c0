/**
 * The relay: `ANY /relay/<slug>/<path>?<query>` checked and sent to the connection's API.
 *
 * Order: an allowed CORS preflight is answered at once (it carries no key); otherwise the relay
 * key is checked before anything else, then the origin, the Base URL against this deployment's
 * `INSECURE_ALLOW_LOOPBACK`, the path's safety, the method and path policy, and only then is the
 * request forwarded.
 *
 * Hot path cost: one isolate-cached read of the record and its keys (one KV get when cold; an
 * unknown slug is cached as such too and never wakes a connection's home), one SHA-256 of the
 * presented key per cached entry (a key that matched is remembered with the entry, see
 * `relay-key.ts`), the Base URL parsed and checked once per cached record, no write but a "last
 * used" note to the connection's home after the answer, at most once a minute per key and
 * isolate, and static secrets opened once per isolate.
 *
 * What an unauthenticated caller can learn: nothing about a slug from a request without a key
 * (other than a preflight, it costs no KV read at all) or with a wrong one (the same 401 for an
 * unknown slug, a record that cannot be read and a wrong key). A CORS preflight is answered from
 * the connection's policy, so a preflight from a listed origin tells that the slug exists:
 * inherent, as the browser must be let through, and the caller must know a listed origin.
 * Unlisted origins and unknown slugs get the same 401, and cost at most one KV read per slug and
 * isolate every `RELAY_RECORD_CACHE_MS` (the read path caches absence too).
 */
import { DEFAULT_RELAY_TIMEOUT_MS, urlProblem } from '../../contract/connection';
import type { RelayEntry } from '../connections/read-path';
import type { StoredConnection } from '../connections/records';
import { AppError } from '../errors';
import type { TokenProvider } from '../oauth/token-door';
import { credentialFor } from './credentials';
import { forward, type AnswerHeader, type ForwardFacts, type ForwardOptions, type OutgoingRequest } from './forward';
import { buildUpstreamUrl, parseUpstreamBase, splitRelayUrl, type UpstreamBase } from './path';
import { answerCorsHeaders, assertMethodAllowed, assertPathAllowed, corsHeaders, corsOriginFor, isOriginAllowed, isPreflight, preflightResponse } from './policy';
import { checkRelayKey, presentedRelayKey, relayUnauthorized, rememberedRelayKey } from './relay-key';

/** What the relay needs from the Worker around it. */
export interface RelayDeps {
  /** The relay's copy of a connection (the read path): at once when it is in memory. */
  relayEntry(slug: string): RelayEntry | null | Promise<RelayEntry | null>;
  /** Notes that a key was used; `undefined` when nothing is sent (throttled, the common case). */
  touchKey(slug: string, id: string): Promise<void> | undefined;
  /** Opens the record's sealed secret. */
  openSecret(record: StoredConnection): Promise<string | undefined>;
  /** The `INSECURE_ALLOW_LOOPBACK` var: stored Base URLs are checked against it again (once per cached record). */
  allowLoopback: boolean;
  /** Creates the token provider (only OAuth connections need one). */
  tokenProvider(): Pick<TokenProvider, 'getAccessToken' | 'invalidate' | 'cachedAccessToken'>;
  fetch: ForwardOptions['fetch'];
  /** Keeps a promise running after the answer (`ctx.waitUntil`). */
  waitUntil(promise: Promise<unknown>): void;
  deadline?: ForwardOptions['deadline'];
  /** Filled in as the call goes, for the call log (never a key or a secret). */
  trace?: RelayTrace;
}

/** What the call log learns of one relay call. */
export interface RelayTrace {
  /** The connection, once the slug is known to exist. */
  record?: StoredConnection;
  keyName?: string;
  tail?: string;
  query?: string;
  /** The caller's `Origin` header, as the relay read it. */
  origin?: string | null;
  upstream?: ForwardFacts;
}

/** Adds the CORS headers of an allowed origin to an `AppError`, so the browser can read the problem. */
function withCorsHeaders(err: unknown, origin: string): unknown {
  return err instanceof AppError ? err.withHeaders(corsHeaders(origin)) : err;
}

/** Answers one relay request. Throws `AppError`s for the relay's own failures. */
export async function relay(request: Request, deps: RelayDeps): Promise<Response> {
  const parts = splitRelayUrl(request.url);
  const headers = request.headers;
  const origin = headers.get('Origin');

  const trace = deps.trace;
  if (trace) {
    trace.tail = parts.tail;
    trace.query = parts.query;
    trace.origin = origin;
  }
  if (parts.slug !== null && origin !== null && isPreflight(request)) {
    const entry = await deps.relayEntry(parts.slug);
    if (entry && isOriginAllowed(origin, entry.record.relay)) {
      if (trace) trace.record = entry.record;
      return preflightResponse(request, origin, entry.record.relay);
    }
  }

  const key = presentedRelayKey(headers.get('Authorization'));
  if (key === null) throw relayUnauthorized();
  // Awaited only when it is a promise: an await costs a turn of the microtask queue even on a value.
  const found = parts.slug === null ? null : deps.relayEntry(parts.slug);
  const entry = found instanceof Promise ? await found : found;
  const matched = rememberedRelayKey(entry, key) ?? (await checkRelayKey(entry, key));
  if (trace && entry) trace.record = entry.record;
  if (!entry || !matched) throw relayUnauthorized();
  if (trace) trace.keyName = matched.name;
  const { record } = entry;
  // Throttled: most calls write nothing and get no promise to keep alive.
  const touched = deps.touchKey(record.slug, matched.id);
  if (touched) {
    deps.waitUntil(
      touched.catch((err: unknown) => {
        console.warn('[relay] could not record key use', record.slug, matched.id, err instanceof Error ? err.message : 'error');
      }),
    );
  }

  const cors = corsOriginFor(origin, () => new URL(request.url).origin, record.relay);
  try {
    return await send(request, record, parts.tail, parts.query, deps, answerCorsHeaders(cors, record.relay));
  } catch (err) {
    throw cors === null ? err : withCorsHeaders(err, cors);
  }
}

/** The Base URL of a record, checked against this deployment and parsed: once per record object. */
interface CheckedBase {
  allowLoopback: boolean;
  refusal: string | undefined;
  base: UpstreamBase | undefined;
}
const checkedBases = new WeakMap<StoredConnection, CheckedBase>();

function checkedBaseOf(record: StoredConnection, allowLoopback: boolean): CheckedBase {
  let checked = checkedBases.get(record);
  if (checked === undefined || checked.allowLoopback !== allowLoopback) {
    // Stored records are read with loopback allowed; what this deployment allows decides here.
    const refusal = urlProblem(record.baseUrl, { allowLoopback, allowQuery: false });
    checked = { allowLoopback, refusal, base: refusal === undefined ? parseUpstreamBase(record.baseUrl) : undefined };
    checkedBases.set(record, checked);
  }
  return checked;
}

async function send(
  request: Request | OutgoingRequest,
  record: StoredConnection,
  tail: string,
  query: string,
  deps: RelayDeps,
  answerHeaders?: readonly AnswerHeader[],
): Promise<Response> {
  const { refusal, base } = checkedBaseOf(record, deps.allowLoopback);
  if (refusal !== undefined || base === undefined) {
    throw new AppError('misconfigured', {
      detail: 'The Base URL of this connection is not allowed in this deployment.',
      internal: `${record.slug}: ${refusal}`,
    });
  }
  const upstream = buildUpstreamUrl(base, tail, query);
  assertMethodAllowed(request.method, record.relay);
  assertPathAllowed(tail, record.relay);
  const opened = credentialFor(record, { openSecret: (r) => deps.openSecret(r), tokenProvider: deps.tokenProvider });
  const credential = opened instanceof Promise ? await opened : opened;
  const trace = deps.trace;
  return forward(request, upstream, credential, {
    fetch: deps.fetch,
    timeoutMs: record.relay?.timeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS,
    answerHeaders,
    ...(deps.deadline ? { deadline: deps.deadline } : {}),
    ...(trace ? { observe: (facts: ForwardFacts) => void (trace.upstream = facts) } : {}),
  });
}

/**
 * The relay core without caller authentication, for the admin's test request and feed runs: the
 * same URL guards, policy, credentials and forward step (no CORS: their callers are the Worker).
 */
export const sendUpstream = (request: Request | OutgoingRequest, record: StoredConnection, tail: string, query: string, deps: RelayDeps): Promise<Response> =>
  send(request, record, tail, query, deps);
