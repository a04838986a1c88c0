/**
 * `ANY /relay/<slug>/<path>`: the edge endpoint per connection (outside `/api`: no admin auth, no
 * body cap). The Worker's `fetch` sends `/relay/` requests here before Hono routes anything
 * (`relayFetch`); the Hono route answers the same for `app.request()` and paths only Hono's
 * router takes to the relay.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { allowLoopback } from '../app-env';
import { storeFor } from '../connections/store';
import { toProblem } from '../errors';
import { createTokenProvider } from '../oauth/token-provider';
import { RELAY_PATH_PREFIX } from '../relay/path';
import { relay } from '../relay/relay';

/** The upstream `fetch`: a wrapper, as workerd refuses a `fetch` called with another `this`. */
const upstreamFetch = (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init);

/** Answers one relay request; throws the relay's own failures (`AppError`s). */
function answer(request: Request, env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | undefined): Promise<Response> {
  const store = storeFor(env);
  const waitUntil = (promise: Promise<unknown>) => {
    try {
      if (ctx) return ctx.waitUntil(promise);
    } catch {
      // No usable execution context: let the promise run on its own.
    }
  };
  return relay(request, {
    store,
    allowLoopback: allowLoopback(env),
    tokenProvider: () => createTokenProvider(store, env, { waitUntil }),
    fetch: upstreamFetch,
    waitUntil,
  });
}

/** True when the raw request URL's path is `/relay` or lies under `/relay/`. */
export function isRelayUrl(url: string): boolean {
  const authority = url.indexOf('://');
  const pathStart = url.indexOf('/', authority === -1 ? 0 : authority + 3);
  if (pathStart === -1 || !url.startsWith(RELAY_PATH_PREFIX.slice(0, -1), pathStart)) return false;
  const next = url.charCodeAt(pathStart + RELAY_PATH_PREFIX.length - 1);
  // '/', '?', '#' or the end: the path is `/relay` or under it.
  return Number.isNaN(next) || next === 0x2f || next === 0x3f || next === 0x23;
}

/**
 * The relay as the Worker's `fetch` calls it, without Hono's routing: the relay's failures become
 * the same problem answers `app.onError` gives, and a HEAD answer has no body (as through Hono).
 */
export async function relayFetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  let response: Response;
  try {
    response = await answer(request, env, ctx);
  } catch (err) {
    response = toProblem(err, request);
  }
  return request.method === 'HEAD' && response.body !== null ? new Response(null, response) : response;
}

export const relayRoutes = new Hono<AppEnv>().all('*', (c) => {
  let ctx: Pick<ExecutionContext, 'waitUntil'> | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    // No execution context (e.g. `app.request()` in tests).
  }
  return answer(c.req.raw, c.env, ctx);
});
