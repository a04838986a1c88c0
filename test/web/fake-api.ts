/**
 * A fake of the dashboard's HTTP API at the `fetch` boundary: answers like the real Worker from a
 * route table, records every request, and records any request it was not told about (the setup
 * file fails the test on those).
 */
import { vi } from 'vitest';
import type { ConnectionSummary } from '../../contract/answers';
import type { ConnectionView } from '../../contract/connection';
import { feedView, validateFeedInput } from '../../contract/feed';
import type { DryRunAnswer, FeedAnswer, FeedSummary } from '../../contract/feed-api';

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

export type Reply = Response | (() => Response | Promise<Response>);
export type Routes = Record<string, Reply | ((request: RecordedRequest) => Response | Promise<Response>)>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** An RFC 9457 problem as the Worker answers it. */
export function problem(status: number, title: string, detail: string, errors?: Record<string, string[]>): Response {
  return new Response(JSON.stringify({ type: `https://edge-api-connector.dev/problems/x`, title, status, detail, ...(errors ? { errors } : {}) }), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  });
}

export const SESSION = { authenticated: true, insecureAllowLoopback: false };

export const OAUTH_VIEW: ConnectionView = {
  name: 'Acme CRM',
  slug: 'acme-crm',
  baseUrl: 'https://api.acme.example/v2',
  auth: {
    method: 'oauth2_client_credentials',
    clientId: 'abc',
    clientSecretSet: true,
    tokenUrl: 'https://auth.acme.example/oauth/token',
    scope: 'read:orders',
    clientAuth: 'client_secret_basic',
  },
  relayUrl: 'http://localhost:3000/relay/acme-crm',
  version: 1,
  createdAt: '2026-11-01T10:00:00.000Z',
  updatedAt: '2026-11-02T10:00:00.000Z',
};

export const TOKEN_STATUS = { cached: false, expiresAt: null, lastError: null, fetches: 0 };

/** Stats of a window without calls, as the API answers them. */
export function emptyStats(window: '1h' | '24h' | '7d' = '24h') {
  return { window, bucketSeconds: 3600, buckets: [], totals: { total: 0, outcomes: {}, p50Ms: null, p95Ms: null, errorRate: null } };
}

/** What a connection's page asks for when it opens: the view, its keys, its activity and (for OAuth) its token status. */
export function connectionRoutes(view: ConnectionView = OAUTH_VIEW): Routes {
  const path = `/api/connections/${view.slug}`;
  return {
    [`GET ${path}`]: () => json(200, view),
    [`GET ${path}/keys`]: () => json(200, { keys: [] }),
    [`GET ${path}/calls?limit=50`]: () => json(200, { calls: [], cursor: null }),
    [`GET ${path}/stats?window=24h`]: () => json(200, emptyStats()),
    [`GET /api/feeds?connection=${view.slug}`]: () => json(200, { feeds: [], cursor: null }),
    ...(view.auth.method === 'oauth2_client_credentials' ? { [`GET ${path}/token`]: () => json(200, TOKEN_STATUS) } : {}),
  };
}

/** A stored connection of each method, as the API shows it. */
export const VIEWS = {
  oauth2_client_credentials: OAUTH_VIEW,
  bearer: { ...OAUTH_VIEW, auth: { method: 'bearer', tokenSet: true } },
  basic: { ...OAUTH_VIEW, auth: { method: 'basic', username: 'acme', passwordSet: true } },
  api_key: { ...OAUTH_VIEW, auth: { method: 'api_key', name: 'x-key', in: 'header', valueSet: true } },
  none: { ...OAUTH_VIEW, auth: { method: 'none' } },
} satisfies Record<string, ConnectionView>;

/** The notifications region's text (confirmations of what happened). */
export function noticesText(): string {
  return document.querySelector('[aria-label="Notifications"]')?.textContent ?? '';
}

export interface FakeApi {
  requests: RecordedRequest[];
  unexpected: string[];
  /** Requests made to `METHOD /path`. */
  calls(route: string): RecordedRequest[];
  /** Adds or replaces routes. */
  on(routes: Routes): void;
}

let current: FakeApi | undefined;

/** The fake installed by the running test, for the setup file's checks. */
export function currentFakeApi(): FakeApi | undefined {
  return current;
}

export function resetFakeApi(): void {
  current = undefined;
}

/**
 * Installs the fake. Routes are `"METHOD /path"`; a reply is a Response (used once, then cloned
 * for repeats) or a function of the request. `GET /api/session` answers signed in unless overridden.
 */
export function fakeApi(routes: Routes = {}): FakeApi {
  const table: Routes = { 'GET /api/session': () => json(200, SESSION), ...routes };
  const api: FakeApi = {
    requests: [],
    unexpected: [],
    calls: (route) => api.requests.filter((r) => `${r.method} ${r.path}` === route),
    on: (more) => Object.assign(table, more),
  };
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, 'http://localhost:3000');
    const method = (init?.method ?? 'GET').toUpperCase();
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const request: RecordedRequest = { method, path: url.pathname + url.search, body, headers };
    api.requests.push(request);
    const reply = table[`${method} ${request.path}`];
    if (!reply) {
      api.unexpected.push(`${method} ${request.path}`);
      throw new TypeError(`Unexpected request: ${method} ${request.path}`);
    }
    if (reply instanceof Response) return reply.clone();
    return reply(request);
  });
  current = api;
  return api;
}

/** The listing's Summary of `OAUTH_VIEW`. */
export const OAUTH_SUMMARY: ConnectionSummary = {
  slug: OAUTH_VIEW.slug,
  name: OAUTH_VIEW.name,
  method: OAUTH_VIEW.auth.method,
  baseOrigin: new URL(OAUTH_VIEW.baseUrl).origin,
  updatedAt: OAUTH_VIEW.updatedAt,
  version: OAUTH_VIEW.version,
};

// ---- Feeds

/** A stored feed as `GET /api/feeds/<id>` answers it: browser and server mode, two mapped fields, a condition. */
export const FEED_VIEW: FeedAnswer = (() => {
  const checked = validateFeedInput({
    name: 'Newsletter signup',
    connection: 'acme-crm',
    trigger: { browser: { enabled: true, allowedOrigins: ['https://shop.example'] }, server: { enabled: true } },
    input: { fields: [{ name: 'email', required: true, format: 'email' }, { name: 'consent' }] },
    condition: { logic: 'all', rules: [{ source: '/input/consent', op: 'is', value: 'yes' }] },
    request: {
      method: 'POST',
      path: '/lists/members',
      headers: [{ name: 'X-Source', value: 'edge-feed' }],
      body: { format: 'json', fields: [{ target: '/email_address', value: '{{/input/email}}' }, { target: '/status', value: 'subscribed' }] },
    },
  });
  if (!checked.success) throw new Error(`FEED_VIEW is invalid: ${JSON.stringify(checked.errors)}`);
  const view = feedView(checked.output, { id: 'fd_7k3m9q2x', version: 3, publicKey: 'fpk_abc', createdAt: '2026-11-01T10:00:00.000Z', updatedAt: '2026-11-02T10:00:00.000Z' });
  return {
    ...view,
    triggerUrl: 'http://localhost:3000/hook/fpk_abc',
    snippets: {
      html: '<form method="post" action="http://localhost:3000/hook/fpk_abc">\n  <input name="email" type="email" required>\n  <button>Send</button>\n</form>',
      fetch: "await fetch('http://localhost:3000/hook/fpk_abc', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email }) });",
    },
  };
})();

export const FEED_SUMMARY: FeedSummary = {
  id: FEED_VIEW.id,
  name: FEED_VIEW.name,
  connection: FEED_VIEW.connection,
  enabled: true,
  updatedAt: FEED_VIEW.updatedAt,
  version: FEED_VIEW.version,
};

/** A dry run's answer for `FEED_VIEW` with a consenting sample. */
export const DRY_RUN_ANSWER: DryRunAnswer = {
  input: { email: 'someone@example.com', consent: 'yes' },
  condition: { result: true, rules: [{ source: '/input/consent', op: 'is', value: 'yes', actual: 'yes', matched: true }] },
  request: {
    method: 'POST',
    url: 'https://api.acme.example/v2/lists/members',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ***', 'x-source': 'edge-feed' },
    body: { email_address: 'someone@example.com', status: 'subscribed' },
  },
  warnings: [{ code: 'unknown-field', name: 'utm_source' }],
  answer: { status: 200, body: { ok: true, runId: 'run_preview', data: {} } },
};

/** What a feed's page asks for when it opens: the feed, its trigger keys, runs, stats, and the preview's dry run. */
export function feedRoutes(view: FeedAnswer = FEED_VIEW): Routes {
  const path = `/api/feeds/${view.id}`;
  return {
    [`GET ${path}`]: () => json(200, view),
    [`GET ${path}/keys`]: () => json(200, { keys: [] }),
    [`GET ${path}/runs`]: () => json(200, { runs: [], cursor: null }),
    [`GET ${path}/stats`]: () => json(200, { window: '24h', total: 0, outcomes: {} }),
    [`POST ${path}/dry-run`]: () => json(200, DRY_RUN_ANSWER),
    'POST /api/feeds/dry-run': () => json(200, DRY_RUN_ANSWER),
  };
}
