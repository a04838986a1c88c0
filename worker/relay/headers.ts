/**
 * Header hygiene for the relay: which caller headers travel upstream and which upstream headers
 * travel back. Credentials are set by the forward step after this, so they always win.
 */
import { HTTP_TOKEN_PATTERN } from '../connections/schema';

/** Hop-by-hop headers (RFC 9110 §7.6.1, plus the de-facto `Proxy-Connection` and `Keep-Alive`). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/**
 * Caller headers that never travel: the caller's credentials and cookies, headers that describe
 * the caller's network path (the upstream must not learn or trust them), `Host` and framing
 * (the runtime sets both for the upstream request), `Expect`, `Accept-Encoding` (the runtime
 * negotiates encodings with the upstream and encodes the answer for the caller itself), and the
 * method and URL override headers that some frameworks and gateways honour (they would get round
 * the connection's method and path policy).
 */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'cookie',
  'forwarded',
  'host',
  'content-length',
  'expect',
  'accept-encoding',
  'x-real-ip',
  'true-client-ip',
  'x-http-method-override',
  'x-method-override',
  'x-http-method',
  'x-original-url',
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

/** Header names listed in a `Connection` header, lowercased. */
function connectionNamed(headers: Headers): Set<string> {
  const value = headers.get('connection');
  const named = new Set<string>();
  if (value) {
    for (const part of value.split(',')) {
      const name = part.trim().toLowerCase();
      if (HTTP_TOKEN_PATTERN.test(name)) named.add(name);
    }
  }
  return named;
}

function startsWithAny(name: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

/** The caller's headers that may travel upstream (a new `Headers`; the input is not changed). */
export function upstreamRequestHeaders(incoming: Headers): Headers {
  const named = connectionNamed(incoming);
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (HOP_BY_HOP.has(name) || DROPPED_REQUEST_HEADERS.has(name) || named.has(name) || startsWithAny(name, DROPPED_REQUEST_PREFIXES)) continue;
    out.append(name, value);
  }
  return out;
}

/** The upstream's headers that may travel back to the caller (a new `Headers`). */
export function callerResponseHeaders(upstream: Headers): Headers {
  const named = connectionNamed(upstream);
  // The runtime hands over an encoded body decoded and encodes it again for the caller, so the
  // upstream's length of the encoded bytes need not hold (as in Hono's proxy helper).
  const encoded = upstream.has('content-encoding');
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (HOP_BY_HOP.has(name) || DROPPED_RESPONSE_HEADERS.has(name) || named.has(name) || startsWithAny(name, DROPPED_RESPONSE_PREFIXES)) continue;
    if (encoded && name === 'content-length') continue;
    out.append(name, value);
  }
  // The answer is served from the dashboard's origin: never let a browser sniff it into something else.
  out.set('X-Content-Type-Options', 'nosniff');
  return out;
}
