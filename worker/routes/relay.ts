/** `ANY /relay/<slug>/<path>`: the edge endpoint per connection (outside `/api`: no admin auth, no body cap). */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { allowLoopback } from '../app-env';
import { Sealer } from '../connections/seal';
import { ConnectionStore } from '../connections/store';
import { createTokenProvider } from '../oauth/token-provider';
import { relay } from '../relay/relay';

export const relayRoutes = new Hono<AppEnv>().all('*', (c) => {
  const store = new ConnectionStore(c.env.CONNECTIONS, Sealer.fromSecretsKey(c.env.SECRETS_KEY));
  const waitUntil = (promise: Promise<unknown>) => {
    try {
      c.executionCtx.waitUntil(promise);
    } catch {
      // No execution context (e.g. `app.request()` in tests): let the promise run on its own.
    }
  };
  return relay(c.req.raw, {
    store,
    allowLoopback: allowLoopback(c.env),
    tokenProvider: () => createTokenProvider(store, c.env, { waitUntil }),
    // A wrapper, not `fetch` itself: workerd refuses a `fetch` called with another `this`.
    fetch: (input, init) => fetch(input, init),
    waitUntil,
  });
});
