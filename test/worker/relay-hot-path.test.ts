/**
 * What the relay remembers per isolate to keep its hot path cheap, and that none of it weakens a
 * check: a relay key that matched is remembered with the cached entry it matched in (revoked keys
 * and keys of other connections still stop), the Base URL is checked once per cached record (and
 * again when the deployment's setting differs), the "last used" note is throttled before any
 * promise is made, the timeout lets a long download finish, and `/relay/` requests skip Hono's
 * routing with the same answers.
 */
import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../../worker/index';
import { homeOf } from '../../worker/connections/home';
import { RELAY_RECORD_CACHE_MS, type RelayEntry } from '../../worker/connections/read-path';
import type { StoredConnection } from '../../worker/connections/records';
import { sha256Hex as hex } from '../../worker/connections/seal';
import { relay, type RelayDeps } from '../../worker/relay/relay';
import { isRelayUrl, touchKey } from '../../worker/routes/relay';
import { Mock } from '../support/worker-mock';
import { admin, call, captureLogs, ORIGIN, newRelayKey, relayAt as relayCall, relayConnection } from '../support/worker-api';

const connect = (baseUrl: string, relay?: Record<string, unknown>) => relayConnection(baseUrl, relay, { slugPrefix: 'hot', token: 'hot-upstream-token' });
const newKey = newRelayKey;

async function keyIds(slug: string): Promise<string[]> {
  const res = await admin(`/api/connections/${slug}/keys`);
  return ((await res.json()) as { keys: { id: string }[] }).keys.map((k) => k.id);
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('relay keys remembered per cached entry', () => {
  it('stops a key revoked in this isolate at once, however often it was used before', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const { slug, key } = await connect(m.url('/v2'));
    for (let i = 0; i < 3; i++) expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
    const [id] = await keyIds(slug);
    expect((await admin(`/api/connections/${slug}/keys/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(401);
    expect((await m.received()).requests).toHaveLength(3);
  });

  it('refuses a key remembered for its own connection on another connection, and a slug that does not exist', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const a = await connect(m.url('/v2'));
    const b = await connect(m.url('/v2'));
    expect((await relayCall(`/relay/${a.slug}/x`, a.key)).status).toBe(200);
    expect((await relayCall(`/relay/${b.slug}/x`, b.key)).status).toBe(200);
    expect((await relayCall(`/relay/${b.slug}/x`, a.key)).status).toBe(401);
    expect((await relayCall(`/relay/${a.slug}/x`, b.key)).status).toBe(401);
    expect((await relayCall(`/relay/no-such-hot-connection/x`, a.key)).status).toBe(401);
    expect((await relayCall(`/relay/${a.slug}/x`, a.key)).status).toBe(200);
    expect((await m.received()).requests).toHaveLength(3);
  });

  it('stops a remembered key revoked in another isolate once the cached entry is read again from KV', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const { slug, key } = await connect(m.url('/v2'));
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
    const [id] = await keyIds(slug);
    // Another isolate's revocation: the home rewrites the KV copy, this isolate's cache is not told.
    await homeOf(env, slug).deleteKey(slug, id!);
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + RELAY_RECORD_CACHE_MS + 1);
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(401);
  });

  it('hashes a matching key once per cached entry, and a wrong key on every call', async () => {
    const key = `rk_${'D'.repeat(43)}`;
    const wrong = `rk_${'E'.repeat(43)}`;
    const record = {
      v: 3,
      id: 'c1-memo-id',
      version: 1,
      name: 'Memo',
      slug: 'memo',
      baseUrl: 'https://api.example/v1',
      auth: { method: 'none' },
      secretVersion: 's1',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    } as StoredConnection;
    const keys = [{ id: 'k1', name: 'k', hash: await hex(key), createdAt: record.createdAt }];
    let entry: RelayEntry = { record, keys };
    const upstream: string[] = [];
    const deps: RelayDeps = {
      relayEntry: async () => entry,
      touchKey: () => undefined,
      openSecret: async () => undefined,
      allowLoopback: false,
      tokenProvider: () => {
        throw new Error('no token provider expected');
      },
      fetch: async (input) => {
        upstream.push(String(input));
        return new Response('{}');
      },
      waitUntil: () => undefined,
    };
    const digest = vi.spyOn(crypto.subtle, 'digest');
    const send = (k: string) => relay(new Request('https://relay.example/relay/memo/x', { headers: { Authorization: `Bearer ${k}` } }), deps).then((r) => r.status, (err: { status?: number }) => err.status);

    for (let i = 0; i < 3; i++) expect(await send(key)).toBe(200);
    expect(digest).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) expect(await send(wrong)).toBe(401);
    expect(digest).toHaveBeenCalledTimes(4);
    // The store read the connection again (a new entry object): the key is checked again.
    entry = { record, keys: [...keys] };
    expect(await send(key)).toBe(200);
    expect(digest).toHaveBeenCalledTimes(5);
    // Read again without the key: refused, whatever was remembered before.
    entry = { record, keys: [] };
    expect(await send(key)).toBe(401);
    expect(upstream).toEqual(Array(4).fill('https://api.example/v1/x'));
  });
});

describe('relay checks remembered per cached record', () => {
  it('checks the Base URL against this deployment every time the setting differs, in either order', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const { slug, key } = await connect(m.url('/v2'));
    const strict = () => app.request(`${ORIGIN}/relay/${slug}/x`, { headers: { Authorization: `Bearer ${key}` } }, { ...env, INSECURE_ALLOW_LOOPBACK: 'false' });
    expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
    const logs = captureLogs();
    try {
      expect((await strict()).status).toBe(500);
      expect((await relayCall(`/relay/${slug}/x`, key)).status).toBe(200);
      expect((await strict()).status).toBe(500);
    } finally {
      logs.restore();
    }
    expect((await m.received()).requests).toHaveLength(2);
  });
});

describe('relay key use notes', () => {
  it("answers no promise for a use within the throttle window, and notes the first use in the connection's home", async () => {
    const { slug } = await connect('https://api.example/v1');
    const [id, other] = await keyIds(slug).then(async (ids) => [ids[0]!, (await newKey(slug), (await keyIds(slug))[1]!)]);
    const first = touchKey(env, slug, id!);
    expect(first).toBeInstanceOf(Promise);
    await first;
    const keys = ((await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: { id: string; lastUsedAt: string | null }[] }).keys;
    expect(keys.find((k) => k.id === id)!.lastUsedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(keys.find((k) => k.id === other)!.lastUsedAt).toBeNull();
    expect(touchKey(env, slug, id!)).toBeUndefined();
    const second = touchKey(env, slug, other!);
    expect(second).toBeInstanceOf(Promise);
    await second;
  });
});

describe('relay timeout', () => {
  it('lets an answer whose body arrives after the timeout finish, once its headers came in time', async () => {
    const m = new Mock();
    const body = 'x'.repeat(64 * 1024);
    await m.on('GET', '/v2/slow-body', { body, bodyDelayMs: 1500, headers: { 'Content-Type': 'text/plain' } });
    const { slug, key } = await connect(m.url('/v2'), { timeoutMs: 1000 });
    const res = await relayCall(`/relay/${slug}/slow-body`, key);
    expect(res.status).toBe(200);
    const started = Date.now();
    expect(await res.text()).toBe(body);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });
});

describe('relay dispatch before Hono', () => {
  it.each([
    ['http://h/relay', true],
    ['http://h/relay/', true],
    ['http://h/relay/acme/orders?x=1', true],
    ['http://h/relay?x=1', true],
    ['http://h/relay#x', true],
    ['http://h/relayed/acme', false],
    ['http://h/relay-acme/x', false],
    ['http://h/api/relay/acme', false],
    ['http://h/', false],
    ['http://h', false],
  ])('takes %s for a relay URL: %s', (url, expected) => {
    expect(isRelayUrl(url)).toBe(expected);
  });

  it('gives the same problems as the Hono route, and a HEAD answer without a body', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: { ok: true } });
    await m.on('HEAD', '/v2/x', { headers: { 'X-Count': '1' } });
    const { slug, key } = await connect(m.url('/v2'));
    const cases: [string, RequestInit][] = [
      [`/relay/${slug}/x`, {}],
      [`/relay/${slug}/x`, { headers: { Authorization: 'Bearer rk_wrong' } }],
      [`/relay/${slug}/a%2fb`, { headers: { Authorization: `Bearer ${key}` } }],
      ['/relay', { headers: { Authorization: `Bearer ${key}` } }],
    ];
    for (const [path, init] of cases) {
      const direct = await exports.default.fetch(new Request(ORIGIN + path, init));
      const viaHono = await app.request(ORIGIN + path, init, env);
      expect(direct.status, path).toBe(viaHono.status);
      expect(direct.headers.get('Content-Type')).toBe('application/problem+json');
      expect([...direct.headers]).toEqual([...viaHono.headers]);
      expect(await direct.text()).toBe(await viaHono.text());
    }
    const head = await relayCall(`/relay/${slug}/x`, key, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('X-Count')).toBe('1');
    expect(await head.text()).toBe('');
  });
});
