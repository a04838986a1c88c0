/** Helpers for worker tests: requests through the real Worker, log capture, raw KV access. */
import { env, exports } from 'cloudflare:workers';
import { expect, vi } from 'vitest';
import { TEST_ADMIN_TOKEN } from './constants';

export const ORIGIN = 'http://127.0.0.1:8787';
export const ADMIN = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** Sends a request through the Worker's default export, as a client would. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(ORIGIN + path, init));
}

/**
 * A relay call to `path` (from `/relay/` on) with `key` as its bearer relay key, unless `init`
 * sets `Authorization` itself; `null` sends no key.
 */
export function relayAt(path: string, key: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key !== null && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${key}`);
  return call(path, { ...init, headers });
}

/** A relay call to `/relay/<slug><path>` with `key` (see `relayAt`). */
export function relayCall(slug: string, key: string | null, path: string, init: RequestInit = {}): Promise<Response> {
  return relayAt(`/relay/${slug}${path}`, key, init);
}

/** An authenticated admin API call; `json` becomes the body with the JSON content type. */
export function admin(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  for (const [k, v] of Object.entries(ADMIN)) if (!headers.has(k)) headers.set(k, v);
  if (json !== undefined) headers.set('Content-Type', 'application/json');
  return call(path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
}

/** Every line written to the console while the spy is active, joined. */
export function captureLogs(): { text: () => string; restore: () => void } {
  const lines: string[] = [];
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    }),
  );
  return { text: () => lines.join('\n'), restore: () => spies.forEach((s) => s.mockRestore()) };
}

/** Every raw value in the KV namespace, concatenated: to prove a secret is not stored in clear. */
export async function dumpKv(): Promise<string> {
  const { keys } = await env.CONNECTIONS.list();
  const values = await Promise.all(keys.map(async (k) => `${k.name}=${await env.CONNECTIONS.get(k.name)}`));
  return values.join('\n');
}

/** A valid OAuth 2.0 client-credentials connection input. */
export function oauthInput(overrides: Record<string, any> = {}, auth: Record<string, unknown> = {}): Record<string, any> {
  return {
    name: 'Acme CRM',
    slug: 'acme-crm',
    baseUrl: 'https://api.acme.example/v2',
    auth: {
      method: 'oauth2_client_credentials',
      clientId: 'acme-client',
      clientSecret: 'pa55-Secret!%&+ :/=é',
      tokenUrl: 'https://auth.acme.example/oauth/token',
      scope: 'read:orders write:orders',
      ...auth,
    },
    ...overrides,
  };
}

let connectionCounter = 0;

/**
 * Creates a bearer-token connection to `baseUrl` (optionally with a relay policy) and a relay key
 * for it, through the admin API.
 */
export async function relayConnection(
  baseUrl: string,
  relay?: Record<string, unknown>,
  options: { slugPrefix?: string; token?: string } = {},
): Promise<{ slug: string; key: string }> {
  const slug = `${options.slugPrefix ?? 'rel'}-${Date.now().toString(36)}-${connectionCounter++}`;
  const created = await admin('/api/connections', {
    method: 'POST',
    json: { name: 'Relay test', slug, baseUrl, auth: { method: 'bearer', token: options.token ?? 'upstream-token' }, ...(relay ? { relay } : {}) },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  return { slug, key: await newRelayKey(slug) };
}

/** Creates a relay key for `slug` and returns the key, shown this once. */
export async function newRelayKey(slug: string): Promise<string> {
  const res = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: 'k' } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { key: string }).key;
}
