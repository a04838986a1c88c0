/**
 * The relay policy of a connection: allowed methods (405 with `Allow`), allowed path prefixes
 * (403), and allowed browser origins, i.e. CORS: preflights answered at the edge, `Access-Control-
 * Allow-Origin` only for listed origins, and a 403 for a request from any other origin.
 */
import { HTTP_TOKEN_PATTERN, RELAY_METHODS, type RelayPolicy } from '../../contract/connection';
import { AppError } from '../errors';
import type { AnswerHeader } from './forward';
import { pathHasPrefix } from './path';

/** How long a browser may reuse a preflight answer (Chromium caps this at 2 hours). */
const CORS_MAX_AGE_SECONDS = 600;
/** Request headers a browser caller may always send. */
const CORS_BASE_HEADERS = ['authorization', 'content-type'];
const MAX_REQUESTED_HEADERS = 50;

/** The methods the relay forwards for this policy (all it knows when the policy names none). */
export function allowedMethods(policy: RelayPolicy | undefined): readonly string[] {
  return policy?.allowedMethods?.length ? policy.allowedMethods : RELAY_METHODS;
}

/** Throws `method-not-allowed` (with `Allow`) unless the policy allows `method`. */
export function assertMethodAllowed(method: string, policy: RelayPolicy | undefined): void {
  const allowed = allowedMethods(policy);
  if (!allowed.includes(method)) {
    throw new AppError('method-not-allowed', {
      detail: `${method} is not allowed through this connection.`,
      headers: { Allow: allowed.join(', ') },
    });
  }
}

/** Throws `path-not-allowed` unless the (already validated) path tail lies under an allowed prefix. */
export function assertPathAllowed(tail: string, policy: RelayPolicy | undefined): void {
  const prefixes = policy?.allowedPaths;
  if (!prefixes?.length) return;
  if (!prefixes.some((prefix) => pathHasPrefix(tail, prefix))) {
    throw new AppError('path-not-allowed', { detail: 'This path is not allowed through this connection.' });
  }
}

/** True when the policy lists `origin` as an allowed browser origin. */
export function isOriginAllowed(origin: string, policy: RelayPolicy | undefined): boolean {
  return policy?.allowedOrigins?.includes(origin) ?? false;
}

/**
 * The origin to answer CORS for: `origin` when listed, `null` when there is no `Origin` header or
 * it is the relay's own origin (same-origin needs no CORS). Any other origin is refused with 403,
 * so a key that leaked into another site's page cannot make the call.
 */
export function corsOriginFor(origin: string | null, ownOrigin: () => string, policy: RelayPolicy | undefined): string | null {
  if (origin === null) return null;
  if (isOriginAllowed(origin, policy)) return origin;
  if (origin === ownOrigin()) return null;
  throw new AppError('origin-not-allowed', { detail: 'Requests from this origin are not allowed for this connection.' });
}

/** True for a CORS preflight (RFC: Fetch standard, "CORS-preflight request"). */
export function isPreflight(request: Request): boolean {
  return request.method === 'OPTIONS' && request.headers.has('Origin') && request.headers.has('Access-Control-Request-Method');
}

/** The answer to a preflight from an allowed origin. */
export function preflightResponse(request: Request, origin: string, policy: RelayPolicy | undefined): Response {
  const names = new Set(CORS_BASE_HEADERS);
  const requested = request.headers.get('Access-Control-Request-Headers');
  if (requested) {
    for (const part of requested.split(',').slice(0, MAX_REQUESTED_HEADERS)) {
      const name = part.trim().toLowerCase();
      if (HTTP_TOKEN_PATTERN.test(name)) names.add(name);
    }
  }
  return new Response(null, {
    status: 204,
    headers: {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Methods': allowedMethods(policy).join(', '),
      'Access-Control-Allow-Headers': [...names].join(', '),
      'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
      Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    },
  });
}

/** The CORS headers of an actual response to an allowed origin. */
export function corsHeaders(origin: string): Record<string, string> {
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': '*', Vary: 'Origin' };
}

/** The policy's `Vary` on a relayed answer when it lists origins (caches must key on `Origin`). */
const VARY_ON_ORIGIN: readonly AnswerHeader[] = [{ name: 'Vary', value: 'Origin', append: true }];

/**
 * The headers the relay adds to a relayed answer: the CORS headers when `origin` is an allowed
 * one (`Vary` appended to the upstream's), else `Vary: Origin` when the policy lists origins, else
 * none (the answer can then go out as it came).
 */
export function answerCorsHeaders(origin: string | null, policy: RelayPolicy | undefined): readonly AnswerHeader[] | undefined {
  if (origin !== null) return Object.entries(corsHeaders(origin)).map(([name, value]) => ({ name, value, append: name === 'Vary' }));
  return policy?.allowedOrigins?.length ? VARY_ON_ORIGIN : undefined;
}
