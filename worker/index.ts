/**
 * The Worker: the admin API under `/api`, the relay under `/relay/<slug>/…`, the feed trigger under
 * `/hook/<publicKey>`, and the dashboard's
 * static assets for everything else (served by the platform before the Worker runs).
 */
import { Hono } from 'hono';
import type { AppEnv } from './app-env';
import { requireAdmin } from './auth/admin';
import { readPathFor } from './connections/read-path';
import { problemResponse, toProblem } from './errors';
import { API_BODY_LIMIT_BYTES, apiBodyLimit, discardUnreadBody } from './http';
import { activityRoutes } from './routes/activity';
import { connectionRoutes } from './routes/connections';
import { feedRoutes } from './routes/feeds';
import { hookFetch, hookRoutes, isHookUrl } from './routes/hook';
import { keyRoutes } from './routes/keys';
import { isRelayUrl, relayFetch, relayRoutes } from './routes/relay';
import { sessionRoutes } from './routes/session';
import { tokenRoutes } from './routes/token';

const api = new Hono<AppEnv>()
  .use(async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  })
  .use(apiBodyLimit(API_BODY_LIMIT_BYTES))
  .get('/health', (c) => c.json({ status: 'ok' }))
  .route('/session', sessionRoutes)
  .use(requireAdmin())
  .use(async (c, next) => {
    c.set('readPath', readPathFor(c.env));
    await next();
  })
  .route('/connections', connectionRoutes)
  .route('/connections', tokenRoutes)
  .route('/connections', activityRoutes)
  .route('/connections/:slug/keys', keyRoutes)
  .route('/feeds', feedRoutes);

export const app = new Hono<AppEnv>()
  .route('/api', api)
  // Outside `/api`: relay callers use relay keys, not admin auth, and bodies are not capped.
  .route('/relay', relayRoutes)
  // The feed trigger: public (a public key, Origin or a trigger key), the feed's own body limits.
  .route('/hook', hookRoutes)
  .notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = ALLOWED.find(([pattern]) => pattern.test(path))?.[1];
    if (allowed) {
      return problemResponse('method-not-allowed', { detail: `${c.req.method} is not supported here.`, headers: { Allow: allowed } });
    }
    return problemResponse('not-found', { detail: `Nothing at ${c.req.method} ${path}.` });
  })
  .onError((err, c) => toProblem(err, c));

/**
 * Methods each `/api` route answers, read from the app's own routes (middleware excluded), so a
 * request with another method there is 405 with `Allow` rather than 404.
 */
const ALLOWED: [RegExp, string][] = (() => {
  const methods = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === 'ALL' || !path.startsWith('/api/')) continue;
    const set = methods.get(path) ?? new Set<string>();
    set.add(method);
    if (method === 'GET') set.add('HEAD');
    methods.set(path, set);
  }
  return [...methods].map(([path, set]) => [
    new RegExp(`^${path.replace(/\/$/, '').split('/').map((part) => (part.startsWith(':') ? '[^/]+' : part)).join('/')}$`),
    [...set].join(', '),
  ]);
})();

export { ConnectionHome } from './connections/home';

/**
 * The Worker. Relay calls, the hot path, go to the relay before Hono routes anything (it would
 * only add dispatch work per call); their answers and problems are the same as through `app`.
 */
export default {
  async fetch(request, env, ctx) {
    const response = await (isRelayUrl(request.url)
      ? relayFetch(request, env, ctx)
      : isHookUrl(request.url)
        ? hookFetch(request, env, ctx)
        : app.fetch(request, env, ctx));
    // An answer given before the body was read (401, 413, 415, a refused relay call): see `discardUnreadBody`.
    await discardUnreadBody(request);
    return response;
  },
} satisfies ExportedHandler<Env>;
