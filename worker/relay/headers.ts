/**
 * Header hygiene for the relay: which caller headers travel upstream and which upstream headers
 * travel back. Credentials are set by the forward step after this, so they always win.
 */
import { HTTP_TOKEN_PATTERN } from '../../contract/connection';

/**
 * The hop-by-hop headers the runtime owns on an answer: when it writes a Worker's `Response` to an
 * HTTP caller it frames the body itself and does not send the Response's own `Connection`,
 * `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding` or `Upgrade` (checked in workerd: an upstream
 * answer carrying each of them, returned as it came, reaches the caller without any). Almost every
 * HTTP/1.1 upstream sends `Connection: keep-alive`, so these alone are no reason to copy an answer
 * to a GET or the like; a copy made for any reason drops them too (`dropRuntimeOwned`). Two
 * exceptions: an answer to HEAD keeps its `Transfer-Encoding` on the wire, so HEAD answers drop all
 * of them as before (`droppedResponseHeaders(headers, true)`), and a Worker calling through a
 * service binding would receive them as ordinary headers. `Proxy-Connection` is not among them: the
 * runtime sends it on, so it is always dropped.
 */
const RUNTIME_OWNED = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Hop-by-hop headers (RFC 9110 §7.6.1, plus the de-facto `Proxy-Connection` and `Keep-Alive`). */
const HOP_BY_HOP = new Set([...RUNTIME_OWNED, 'proxy-connection']);

/**
 * Caller headers that never travel: the caller's credentials and cookies, headers that describe
 * the caller's network path (client IP and forwarding families: the upstream must not learn or
 * trust them), `Host` and framing (the runtime sets both for the upstream request), host
 * overrides, `Expect`, `Accept-Encoding` (the runtime negotiates encodings with the upstream and
 * encodes the answer for the caller itself), and the method and URL override headers that some
 * frameworks and gateways honour (they would get round the connection's method and path policy).
 */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'cookie',
  'host',
  'content-length',
  'expect',
  'accept-encoding',
  // Forwarding: RFC 7239 and the de-facto spellings (the `x-forwarded-` prefix is below).
  'forwarded',
  'forwarded-for',
  'x-forwarded',
  'x-original-forwarded-for',
  // Client IP, as proxies and CDNs name it.
  'x-real-ip',
  'true-client-ip',
  'client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
  'akamai-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  // Host overrides.
  'x-host',
  'x-original-host',
  'x-http-host-override',
  // Method and URL rewrites.
  'x-http-method-override',
  'x-method-override',
  'x-http-method',
  'x-original-method',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-override-url',
]);
const DROPPED_REQUEST_PREFIXES = ['proxy-', 'x-forwarded-', 'cf-'];

/**
 * Upstream headers that never travel back: cookies (the relay's origin must not collect the
 * upstream's cookies), proxy authentication, CORS headers (the relay answers CORS itself from the
 * connection's policy, so an upstream `Access-Control-Allow-Origin: *` cannot widen it), and
 * headers a browser applies to the whole origin, which is the dashboard's: HSTS, `Clear-Site-Data`
 * (would sign the operator out), `Alt-Svc`, network error logging (`NEL`, `Report-To`) and
 * `Service-Worker-Allowed`. Document-scoped policies such as CSP are kept: they only restrict.
 */
const DROPPED_RESPONSE_HEADERS = new Set([
  'set-cookie',
  'set-cookie2',
  'strict-transport-security',
  'clear-site-data',
  'alt-svc',
  'nel',
  'report-to',
  'service-worker-allowed',
]);
const DROPPED_RESPONSE_PREFIXES = ['proxy-', 'access-control-'];

/**
 * Header names listed in a `Connection` header, lowercased, less those dropped anyway (hop-by-hop)
 * and `close`: `undefined` when none is left, as for the usual `Connection: keep-alive`.
 *
 * Over HTTP the runtime consumes `Connection` before the Worker runs, so this sees one only on
 * requests made inside the runtime (another Worker's `fetch` through a binding, tests); a header
 * named there and not on the fixed lists then travels as an ordinary end-to-end header. That is
 * safe here because the relay adds nothing a caller could strip by naming it: the connection's
 * credential is set after this filtering, whatever `Connection` names.
 */
function connectionNamed(value: string): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== 'close' && !HOP_BY_HOP.has(name) && HTTP_TOKEN_PATTERN.test(name)) (named ??= new Set()).add(name);
  }
  return named;
}

function startsWithAny(name: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * The names in `headers` that may not travel, or `undefined` when there are none. One pass over
 * the names finds them and notes `Connection` (read only when present). In workerd a `get` or
 * `has` costs a good part of such a pass (measured), so the usual path makes none. Names in
 * `owned` (the runtime drops them itself) are not listed.
 */
function namesToDrop(headers: Headers, fixed: ReadonlySet<string>, prefixes: readonly string[], owned?: ReadonlySet<string>): string[] | undefined {
  let dropped: string[] | undefined;
  let connection = false;
  for (const name of headers.keys()) {
    if (name === 'connection') connection = true;
    if (owned?.has(name)) continue;
    if (HOP_BY_HOP.has(name) || fixed.has(name) || startsWithAny(name, prefixes)) (dropped ??= []).push(name);
  }
  const named = connection ? connectionNamed(headers.get('connection') ?? '') : undefined;
  if (named) for (const name of named) (dropped ??= []).push(name);
  return dropped;
}

/**
 * The caller's headers that may travel upstream (a new `Headers`; the input is not changed): the
 * runtime's copy, filtered in place (names deleted after the pass, as deleting while iterating may
 * skip entries), is cheaper than appending the kept ones one by one.
 */
export function upstreamRequestHeaders(incoming: Headers): Headers {
  const out = new Headers(incoming);
  const dropped = namesToDrop(out, DROPPED_REQUEST_HEADERS, DROPPED_REQUEST_PREFIXES);
  if (dropped) for (const name of dropped) out.delete(name);
  return out;
}

/**
 * The upstream answer's headers that may not travel back to the caller, or `undefined` when all
 * may: the usual case, in which the answer is relayed as the runtime gave it, with no copy (a copy
 * of a streamed answer measured about 20 µs of workerd CPU per call).
 */
export function droppedResponseHeaders(headers: Headers, head = false): string[] | undefined {
  return namesToDrop(headers, DROPPED_RESPONSE_HEADERS, DROPPED_RESPONSE_PREFIXES, head ? undefined : RUNTIME_OWNED);
}

/** In a copy of an upstream answer (changed in place): drops the headers the runtime owns. */
export function dropRuntimeOwned(headers: Headers): void {
  for (const name of RUNTIME_OWNED) headers.delete(name);
}

/**
 * An answer's headers as a caller receives them over HTTP: without those the runtime owns (see
 * `RUNTIME_OWNED`), which an answer relayed as it came still holds in memory. For
 * showing an answer (the dashboard's test request), not for the hot path.
 */
export function headersOnTheWire(headers: Headers): [string, string][] {
  return [...headers].filter(([name]) => !RUNTIME_OWNED.has(name));
}

/**
 * In a copy of an upstream answer (changed in place): drops an encoded body's `Content-Length`.
 * The runtime hands over an encoded body decoded and encodes it again for a copy, so the
 * upstream's length of the encoded bytes need not hold (as in Hono's proxy helper); an answer
 * relayed as it came keeps its bytes and its length.
 */
export function dropEncodedLength(headers: Headers): void {
  if (headers.has('content-encoding') && headers.has('content-length')) headers.delete('content-length');
}
