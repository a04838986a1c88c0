/**
 * `ANY /relay/<slug>/<path>`: the edge endpoint per connection (outside `/api`: no admin auth, no
 * body cap). The Worker's `fetch` sends `/relay/` requests here before Hono routes anything
 * (`relayFetch`); the Hono route answers the same for `app.request()` and paths only Hono's
 * router takes to the relay.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { allowLoopback } from '../app-env';
import { homeOf } from '../connections/home';
import { readPathFor } from '../connections/read-path';
import { openSecret } from '../connections/records';
import { Sealer } from '../connections/seal';
import { toProblem } from '../errors';
import { TokenDoor } from '../oauth/token-door';
import { RELAY_PATH_PREFIX } from '../relay/path';
import { relay, type RelayTrace } from '../relay/relay';
import { relayCallEntry } from '../activity/call-entry';
import { recordCall } from '../activity/recorder';
import { executionContextOf, waitUntilOf } from '../http';

/** The upstream `fetch`: a wrapper, as workerd refuses a `fetch` called with another `this`. */
const upstreamFetch = (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init);

/** How often one isolate tells a connection's home that a relay key was used. */
const KEY_USED_NOTE_INTERVAL_MS = 60_000;
/** Last note sent by this isolate per `<slug>\n<key id>`. */
const keyUseNotes = new Map<string, number>();
const KEY_USE_NOTES_MAX = 10_000;

/**
 * Tells the connection's home that a key was used, at most once a minute per key and isolate.
 * Decided at once: a call that sends nothing answers `undefined`, not a promise, so the hot path
 * makes none. The stub is made here, by the request that sends (I/O objects cannot cross requests).
 */
export function touchKey(env: Env, slug: string, id: string): Promise<void> | undefined {
  const name = `${slug}\n${id}`;
  const now = Date.now();
  if ((keyUseNotes.get(name) ?? 0) + KEY_USED_NOTE_INTERVAL_MS > now) return undefined;
  if (keyUseNotes.size >= KEY_USE_NOTES_MAX) keyUseNotes.clear();
  keyUseNotes.set(name, now);
  // A real promise (the stub answers a thenable that is also a proxy).
  return Promise.resolve(homeOf(env, slug).touchKeys(slug, [{ id, at: new Date(now).toISOString() }]));
}

/** Without an execution context, a promise runs on its own. */
const noWaitUntil = () => undefined;

/** Answers one relay request; throws the relay's own failures (`AppError`s). Every call of a connection that exists is logged. */
async function answer(request: Request, env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | undefined): Promise<Response> {
  const readPath = readPathFor(env);
  const keepAlive = waitUntilOf(ctx);
  const trace: RelayTrace = {};
  const startedAt = Date.now();
  let response: Response | null = null;
  let error: unknown = null;
  try {
    response = await relay(request, {
      relayEntry: (slug) => readPath.relayEntry(slug),
      touchKey: (slug, id) => touchKey(env, slug, id),
      openSecret: (record) => openSecret(Sealer.fromSecretsKey(env.SECRETS_KEY), record),
      allowLoopback: allowLoopback(env),
      tokenProvider: () => new TokenDoor(env),
      fetch: upstreamFetch,
      waitUntil: keepAlive ?? noWaitUntil,
      trace,
    });
    return response;
  } catch (err) {
    error = err;
    throw err;
  } finally {
    const { record } = trace;
    if (record) {
      const entry = relayCallEntry({
        request,
        record,
        tail: trace.tail ?? '',
        query: trace.query ?? '',
        keyName: trace.keyName ?? null,
        origin: trace.origin ?? null,
        startedAt,
        endedAt: Date.now(),
        response,
        error,
        upstream: trace.upstream,
      });
      recordCall(env, keepAlive, record.slug, record.id, entry);
    }
  }
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

export const relayRoutes = new Hono<AppEnv>().all('*', (c) => answer(c.req.raw, c.env, executionContextOf(c)));
