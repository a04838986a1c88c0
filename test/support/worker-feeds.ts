/** Helpers for the feed trigger, dry-run and runs tests (workerd): a connection to the mock upstream, feeds, trigger calls. */
import { expect } from 'vitest';
import { flushCalls } from '../../worker/activity/recorder';
import { env } from 'cloudflare:workers';
import { admin, call } from './worker-api';
import { Mock } from './worker-mock';

/** The connection's secret in every feed test: it may appear in no answer and no log. */
export const UPSTREAM_SECRET = 'feed-Upstream-Secret-9f2c';
export const SHOP = 'https://shop.example';

let counter = 0;

/** Creates a connection to `baseUrl` (bearer auth with `UPSTREAM_SECRET` unless `auth` says otherwise); answers its slug. */
export async function feedConnection(baseUrl: string, extra: Record<string, unknown> = {}): Promise<string> {
  const slug = `feed-${Date.now().toString(36)}-${counter++}`;
  const res = await admin('/api/connections', {
    method: 'POST',
    json: { name: 'Feed upstream', slug, baseUrl, auth: { method: 'bearer', token: UPSTREAM_SECRET }, ...extra },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return slug;
}

/** A feed input: browser mode for `SHOP`, JSON body `{email, name}` to POST /members. */
export function feedOf(connection: string, overrides: Record<string, any> = {}): Record<string, any> {
  return {
    name: 'Signup',
    connection,
    trigger: { browser: { enabled: true, allowedOrigins: [SHOP] } },
    input: { fields: [{ name: 'email', required: true, format: 'email' }, { name: 'name' }] },
    request: {
      method: 'POST',
      path: '/members',
      body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }, { target: '/name', value: '{{/input/name}}' }] },
    },
    ...overrides,
  };
}

/** Creates a feed; answers its view. */
export async function createFeed(input: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await admin('/api/feeds', { method: 'POST', json: input });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Record<string, any>;
}

/** A mock upstream, a connection to it and a feed of that connection (`feedOf` with `overrides`). */
export async function feedSetup(overrides: Record<string, any> = {}, connectionExtra: Record<string, unknown> = {}) {
  const mock = new Mock();
  const slug = await feedConnection(mock.url('/api'), connectionExtra);
  const feed = await createFeed(feedOf(slug, overrides));
  return { mock, slug, feed, key: feed.publicKey as string };
}

/** A trigger call to `/hook/<publicKey>`. */
export function hook(publicKey: string, init: RequestInit = {}): Promise<Response> {
  return call(`/hook/${publicKey}`, { method: 'POST', redirect: 'manual', ...init });
}

/** A browser form post (urlencoded) from `origin` to the feed. */
export function formPost(publicKey: string, body: string | URLSearchParams, headers: Record<string, string> = {}, origin: string | null = SHOP): Promise<Response> {
  return hook(publicKey, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(origin !== null ? { Origin: origin } : {}), ...headers },
    body: typeof body === 'string' ? body : body.toString(),
  });
}

/** A `fetch` from a page with a JSON body. */
export function jsonPost(publicKey: string, body: unknown, headers: Record<string, string> = {}, origin: string | null = SHOP): Promise<Response> {
  return hook(publicKey, {
    headers: { 'Content-Type': 'application/json', ...(origin !== null ? { Origin: origin } : {}), ...headers },
    body: JSON.stringify(body),
  });
}

/** Navigation headers as a browser sends them for a form submit. */
export const NAVIGATE = { 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document', Accept: 'text/html,application/xhtml+xml' };

/** Asserts a problem answer and answers its body. */
export async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, any>> {
  const text = await res.clone().text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  const body = JSON.parse(text) as Record<string, any>;
  expect(body.type, text).toMatch(new RegExp(`/${code}$`));
  return body;
}

/** Asserts the upstream mock received nothing at all. */
export async function expectNoUpstream(mock: Mock): Promise<void> {
  const { requests, unexpected } = await mock.received();
  expect(requests).toEqual([]);
  expect(unexpected).toEqual([]);
}

/** Sends the recorder's waiting entries, then lists the feed's runs through the admin API. */
export async function runsOf(feedId: string, query = ''): Promise<any[]> {
  await flushCalls(env);
  const res = await admin(`/api/feeds/${feedId}/runs${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { runs: any[] }).runs;
}

/** One run with its detail. */
export async function runOf(feedId: string, runId: string): Promise<any> {
  await flushCalls(env);
  const res = await admin(`/api/feeds/${feedId}/runs/${runId}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}
