/**
 * Who may use the relay: relay keys (checked before anything else, one 401 for every failure),
 * and the connection's policy: methods, path prefixes, browser origins (CORS).
 */
import { listDurableObjectIds } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../worker/index';
import { RELAY_RECORD_CACHE_MS, type RelayEntry } from '../../worker/connections/read-path';
import type { StoredConnection } from '../../worker/connections/records';
import { TokenEndpointError } from '../../worker/oauth/token-client';
import { relay } from '../../worker/relay/relay';
import { Mock } from '../support/worker-mock';
import { admin, call, captureLogs, ORIGIN, newRelayKey, relayAt as relayCall, relayConnection } from '../support/worker-api';
import { countingKv } from '../support/worker-oauth';

const connect = (baseUrl: string, relay?: Record<string, unknown>) => relayConnection(baseUrl, relay, { slugPrefix: 'pol', token: 'policy-upstream-token' });
const newKey = newRelayKey;

async function expectNoUpstreamCall(m: Mock): Promise<void> {
  const { requests, unexpected } = await m.received();
  expect(requests).toEqual([]);
  expect(unexpected).toEqual([]);
}

async function problemType(res: Response): Promise<string> {
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  return ((await res.json()) as { type: string }).type.split('/').pop()!;
}

describe('relay keys at the edge', () => {
  it('answers the same 401 for no key, a malformed header, an unknown key, a foreign key and a slug that does not exist', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const mine = await connect(m.url('/v2'));
    const other = await connect(m.url('/v2'));
    const unknownKey = `rk_${'A'.repeat(43)}`;
    const attempts: [string, string | null, Record<string, string>?][] = [
      [`/relay/${mine.slug}/x`, null],
      [`/relay/${mine.slug}/x`, null, { Authorization: `Basic ${btoa(`u:${mine.key}`)}` }],
      [`/relay/${mine.slug}/x`, null, { Authorization: mine.key }],
      [`/relay/${mine.slug}/x`, unknownKey],
      [`/relay/${mine.slug}/x`, `${mine.key}x`],
      [`/relay/${mine.slug}/x`, other.key],
      [`/relay/no-such-connection/x`, mine.key],
      [`/relay/no-such-connection/x`, null],
      [`/relay/Not_A_Slug/x`, mine.key],
      [`/relay/${mine.slug}`, 'not-a-relay-key'],
    ];
    const bodies = new Set<string>();
    for (const [path, key, headers] of attempts) {
      const res = await relayCall(path, key, { headers });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="relay"');
      const text = await res.text();
      expect(text).not.toContain(mine.slug);
      expect(text).not.toContain('no-such-connection');
      bodies.add(text);
    }
    expect(bodies.size).toBe(1);
    await expectNoUpstreamCall(m);
  });

  it('lets a key through on its own connection and stops it at once when revoked', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: { ok: 1 } });
    const { slug, key } = await connect(m.url('/v2'));
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
    const list = (await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: { id: string }[] };
    const keep = await newKey(slug);
    const del = await admin(`/api/connections/${slug}/keys/${list.keys[0]!.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(401);
    expect((await relayCall(`/relay/${slug}/x`, keep)).status).toBe(200);
    expect((await m.received()).requests).toHaveLength(2);
  });

  it('lets a key created just now through at once, while the connection is cached in this isolate', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const { slug, key } = await connect(m.url('/v2'));
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
    const fresh = await newKey(slug);
    expect((await relayCall(`/relay/${slug}/x`, fresh)).status).toBe(200);
  });

  it('stops every key of a deleted connection', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const { slug, key } = await connect(m.url('/v2'));
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
    expect((await admin(`/api/connections/${slug}`, { method: 'DELETE' })).status).toBe(204);
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(401);
    expect((await m.received()).requests).toHaveLength(1);
  });
});

describe('relay method and path policy', () => {
  it('refuses a method outside allowedMethods with 405 and Allow, before any upstream call', async () => {
    const m = new Mock();
    const { slug, key } = await connect(m.url('/v2'), { allowedMethods: ['GET', 'HEAD'] });
    const res = await relayCall(`/relay/${slug}/orders`, key, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('GET, HEAD');
    expect(await problemType(res)).toBe('method-not-allowed');
    await expectNoUpstreamCall(m);
  });

  it('refuses methods the relay does not know (TRACE) even without a method policy', async () => {
    const m = new Mock();
    const { slug, key } = await connect(m.url('/v2'));
    const res = await relayCall(`/relay/${slug}/x`, key, { method: 'PROPFIND' });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    await expectNoUpstreamCall(m);
  });

  it('forwards only paths under an allowed prefix, matched on segment boundaries', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/orders', { json: [] });
    await m.on('GET', '/v2/orders/7', { json: {} });
    const { slug, key } = await connect(m.url('/v2'), { allowedPaths: ['/orders'] });
    expect((await relayCall(`/relay/${slug}/orders`, key)).status).toBe(200);
    expect((await relayCall(`/relay/${slug}/orders/7`, key)).status).toBe(200);
    for (const path of ['/ordersecret', '/customers', '', '/', '/Orders/7', '/%6Frders']) {
      const res = await relayCall(`/relay/${slug}${path}`, key);
      expect(res.status, path).toBe(403);
      expect(await problemType(res)).toBe('path-not-allowed');
    }
    const { requests, unexpected } = await m.received();
    expect(unexpected).toEqual([]);
    expect(requests.map((r) => r.path)).toEqual(['/v2/orders', '/v2/orders/7']);
  });
});

describe('relay CORS', () => {
  const SHOP = 'https://shop.example';

  it('answers a preflight from an allowed origin at the edge, without a key and without an upstream call', async () => {
    const m = new Mock();
    const { slug } = await connect(m.url('/v2'), { allowedOrigins: [SHOP, 'https://admin.shop.example'], allowedMethods: ['GET', 'POST'] });
    const res = await call(`/relay/${slug}/orders`, {
      method: 'OPTIONS',
      headers: { Origin: SHOP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'X-Trace-Id, content-type, bad header' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(SHOP);
    expect(res.headers.get('Vary')).toContain('Origin');
    expect(res.headers.get('Access-Control-Allow-Methods')).toBe('GET, POST');
    expect(res.headers.get('Access-Control-Allow-Headers')).toBe('authorization, content-type, x-trace-id');
    expect(res.headers.get('Access-Control-Max-Age')).toBe('600');
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    await expectNoUpstreamCall(m);
  });

  it('refuses a preflight from an origin not listed, or for a connection that does not exist, without CORS headers', async () => {
    const m = new Mock();
    const { slug } = await connect(m.url('/v2'), { allowedOrigins: [SHOP] });
    for (const [path, origin] of [
      [`/relay/${slug}/orders`, 'https://evil.example'],
      [`/relay/${slug}/orders`, 'https://shop.example.evil.example'],
      [`/relay/${slug}/orders`, 'null'],
      ['/relay/no-such-slug/orders', SHOP],
    ] as const) {
      const res = await call(path, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' } });
      expect(res.status, `${path} ${origin}`).toBe(401);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
      expect(res.headers.get('Access-Control-Allow-Methods')).toBeNull();
    }
    await expectNoUpstreamCall(m);
  });

  it('adds Access-Control-Allow-Origin and Vary: Origin to an answer for an allowed origin', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/orders', { json: [1], headers: { 'Access-Control-Allow-Origin': '*', Vary: 'Accept' } });
    const { slug, key } = await connect(m.url('/v2'), { allowedOrigins: [SHOP] });
    const res = await relayCall(`/relay/${slug}/orders`, key, { headers: { Origin: SHOP } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(SHOP);
    expect(res.headers.get('Vary')).toBe('Accept, Origin');
    expect(await res.json()).toEqual([1]);
    expect((await m.received()).requests).toHaveLength(1);
  });

  it('gives the relay’s own problems CORS headers for an allowed origin, so the page can read them', async () => {
    const m = new Mock();
    const { slug, key } = await connect(m.url('/v2'), { allowedOrigins: [SHOP], allowedPaths: ['/orders'] });
    const res = await relayCall(`/relay/${slug}/customers`, key, { headers: { Origin: SHOP } });
    expect(res.status).toBe(403);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(SHOP);
    await expectNoUpstreamCall(m);
  });

  it('refuses an actual request from an origin not listed with 403 and no CORS headers', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/orders', { json: [] });
    const listed = await connect(m.url('/v2'), { allowedOrigins: [SHOP] });
    const unlisted = await connect(m.url('/v2'));
    for (const { slug, key } of [listed, unlisted]) {
      const res = await relayCall(`/relay/${slug}/orders`, key, { headers: { Origin: 'https://evil.example' } });
      expect(res.status).toBe(403);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
      expect(await problemType(res)).toBe('origin-not-allowed');
    }
    await expectNoUpstreamCall(m);
  });

  it('lets requests without Origin and from the service’s own origin through without CORS headers', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/orders', { json: [] });
    const { slug, key } = await connect(m.url('/v2'), { allowedOrigins: [SHOP] });
    const noOrigin = await relayCall(`/relay/${slug}/orders`, key);
    const sameOrigin = await relayCall(`/relay/${slug}/orders`, key, { headers: { Origin: ORIGIN } });
    for (const res of [noOrigin, sameOrigin]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
      expect(res.headers.get('Vary')).toBe('Origin');
    }
    expect((await m.received()).requests).toHaveLength(2);
  });

  it('checks the key of a non-preflight OPTIONS and forwards it', async () => {
    const m = new Mock();
    await m.on('OPTIONS', '/v2/orders', { status: 204, headers: { Allow: 'GET' } });
    const { slug, key } = await connect(m.url('/v2'));
    expect((await relayCall(`/relay/${slug}/orders`, null, { method: 'OPTIONS' })).status).toBe(401);
    const res = await relayCall(`/relay/${slug}/orders`, key, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('Allow')).toBe('GET');
    expect((await m.received()).requests).toHaveLength(1);
  });
});

describe('relay requests that cannot be authenticated', () => {
  const SHOP = 'https://shop.example';
  const someKey = `rk_${'B'.repeat(43)}`;
  /** A request through the Worker with a KV that counts its operations. */
  const counted = (kv: KVNamespace, path: string, init: RequestInit = {}, vars: Record<string, string> = {}) =>
    app.request(ORIGIN + path, init, { ...env, CONNECTIONS: kv, ...vars });

  it('reads KV once for an unknown slug, then answers from the isolate for a while, preflights included', async () => {
    const slug = `ghost-${Date.now().toString(36)}`;
    const { kv, total } = countingKv();
    const first = await counted(kv, `/relay/${slug}/x`, { headers: { Authorization: `Bearer ${someKey}` } });
    expect(first.status).toBe(401);
    const cold = total();
    expect(cold).toBe(1); // the relay's copy of the connection, record and key hashes in one entry
    for (let i = 0; i < 5; i++) {
      expect((await counted(kv, `/relay/${slug}/x`, { headers: { Authorization: `Bearer ${someKey}` } })).status).toBe(401);
      const preflight = await counted(kv, `/relay/${slug}/x`, { method: 'OPTIONS', headers: { Origin: SHOP, 'Access-Control-Request-Method': 'GET' } });
      expect(preflight.status).toBe(401);
    }
    expect(total()).toBe(cold);
    expect(RELAY_RECORD_CACHE_MS).toBeLessThanOrEqual(10_000);
    // No home was woken for a slug that does not exist.
    const homes = (await listDurableObjectIds(env.HOMES)).map(String);
    expect(homes).not.toContain(env.HOMES.idFromName(slug).toString());
  });

  it('reads no KV at all for a request without a key', async () => {
    const { kv, total } = countingKv();
    for (const path of ['/relay/some-slug/x', '/relay/other-slug']) {
      expect((await counted(kv, path)).status).toBe(401);
    }
    expect(total()).toBe(0);
  });

  it('forgets an unknown slug as soon as a connection of that slug is created in this isolate', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const slug = `late-${Date.now().toString(36)}`;
    expect((await relayCall(`/relay/${slug}/x`, someKey)).status).toBe(401);
    const created = await admin('/api/connections', { method: 'POST', json: { name: 'Late', slug, baseUrl: m.url('/v2'), auth: { method: 'none' } } });
    expect(created.status).toBe(201);
    expect((await relayCall(`/relay/${slug}/x`, await newKey(slug))).status).toBe(200);
  });

  it('answers a record that cannot be read like an unknown slug: the same 401, never a 500', async () => {
    const logs = captureLogs();
    try {
      const slug = `broken-${Date.now().toString(36)}`;
      await env.CONNECTIONS.put(`conn:${slug}`, JSON.stringify({ v: 2, slug, relay: { allowedOrigins: [SHOP] } }));
      const broken = await relayCall(`/relay/${slug}/x`, someKey);
      const unknown = await relayCall('/relay/no-such-connection-at-all/x', someKey);
      expect(broken.status).toBe(401);
      expect(await broken.text()).toBe(await unknown.text());
      const preflight = await call(`/relay/${slug}/x`, { method: 'OPTIONS', headers: { Origin: SHOP, 'Access-Control-Request-Method': 'GET' } });
      expect(preflight.status).toBe(401);
      expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull();
      expect(logs.text()).toContain(`conn:${slug}`);
    } finally {
      logs.restore();
    }
  });
});

describe('relay checks against this deployment', () => {
  it('refuses a stored loopback or http Base URL when INSECURE_ALLOW_LOOPBACK is not true, without calling it', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const { slug, key } = await connect(m.url('/v2'));
    const logs = captureLogs();
    let res: Response;
    try {
      res = await app.request(`${ORIGIN}/relay/${slug}/x`, { headers: { Authorization: `Bearer ${key}` } }, { ...env, INSECURE_ALLOW_LOOPBACK: 'false' });
    } finally {
      logs.restore();
    }
    expect(res.status).toBe(500);
    expect(await problemType(res)).toBe('misconfigured');
    await expectNoUpstreamCall(m);
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
  });

  it('keeps the class and data of a problem it adds CORS headers to', async () => {
    const record = {
      v: 3,
      id: 'c1-0000',
      version: 1,
      name: 'OAuth',
      slug: 'cors-oauth',
      baseUrl: 'https://api.example/v1',
      auth: { method: 'oauth2_client_credentials', clientId: 'id', clientSecret: 'sealed', tokenUrl: 'https://auth.example/token', clientAuth: 'client_secret_basic' },
      relay: { allowedOrigins: ['https://shop.example'] },
      secretVersion: 's1',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    } as StoredConnection;
    const key = `rk_${'C'.repeat(43)}`;
    const hash = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))), (b) => b.toString(16).padStart(2, '0')).join('');
    const entry: RelayEntry = { record, keys: [{ id: 'k1', name: 'k', hash, createdAt: record.createdAt }] };
    const refused = new TokenEndpointError({ reason: 'oauth-error', status: 400, error: 'invalid_client' } as ConstructorParameters<typeof TokenEndpointError>[0]);
    const request = new Request('https://relay.example/relay/cors-oauth/orders', { headers: { Authorization: `Bearer ${key}`, Origin: 'https://shop.example' } });
    const thrown = await relay(request, {
      relayEntry: async () => entry,
      touchKey: () => undefined,
      openSecret: async () => undefined,
      allowLoopback: false,
      tokenProvider: () => ({ getAccessToken: () => Promise.reject(refused), invalidate: async () => undefined }),
      fetch: () => Promise.reject(new Error('no upstream call expected')),
      waitUntil: () => undefined,
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(thrown).toBe(refused);
    expect(thrown).toBeInstanceOf(TokenEndpointError);
    expect((thrown as TokenEndpointError).headers).toMatchObject({ 'Access-Control-Allow-Origin': 'https://shop.example' });
    expect((thrown as TokenEndpointError).extensions).toMatchObject({ error: 'invalid_client' });
  });
});
