/** The relay keys API: `/api/connections/<slug>/keys`, against real local KV in workerd. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../worker/connections/seal';
import { Mock } from '../support/worker-mock';
import { admin, call, captureLogs, dumpKv } from '../support/worker-api';

let counter = 0;

async function newConnection(baseUrl = 'https://api.acme.example/v2'): Promise<string> {
  const slug = `keys-${Date.now().toString(36)}-${counter++}`;
  const res = await admin('/api/connections', { method: 'POST', json: { name: 'Keys', slug, baseUrl, auth: { method: 'none' } } });
  expect(res.status).toBe(201);
  return slug;
}

interface CreatedKey {
  id: string;
  name: string;
  key: string;
  createdAt: string;
}

async function createKey(slug: string, name = 'Website'): Promise<CreatedKey> {
  const res = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name } });
  expect(res.status).toBe(201);
  return res.json();
}

describe('POST /api/connections/<slug>/keys', () => {
  it('creates a key shown once: rk_ and 256 random bits in base64url, with id, name and creation time', async () => {
    const slug = await newConnection();
    const res = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: '  Shop front  ' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as CreatedKey;
    expect(Object.keys(body).sort()).toEqual(['createdAt', 'id', 'key', 'name']);
    expect(body.name).toBe('Shop front');
    expect(body.key).toMatch(/^rk_[A-Za-z0-9_-]{43,}$/);
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
    // A single key has no GET, so there is no Location to point at.
    expect(res.headers.get('Location')).toBeNull();
    const second = await createKey(slug);
    expect(second.key).not.toBe(body.key);
    expect(second.id).not.toBe(body.id);
  });

  it.each([
    ['no name', {}],
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['a name over 100 characters', { name: 'n'.repeat(101) }],
    ['a name that is not text', { name: 42 }],
    ['an unknown field', { name: 'ok', key: 'rk_chosen-by-caller' }],
  ])('refuses %s with 400 validation-failed', async (_label, json) => {
    const slug = await newConnection();
    const res = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { type: string; errors: Record<string, string[]> };
    expect(problem.type).toMatch(/\/validation-failed$/);
    expect(Object.keys(problem.errors).length).toBeGreaterThan(0);
    const list = (await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: unknown[] };
    expect(list.keys).toEqual([]);
  });

  it('accepts a name of exactly 100 characters', async () => {
    const slug = await newConnection();
    expect((await createKey(slug, 'n'.repeat(100))).name).toHaveLength(100);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const slug = await newConnection();
    const res = await admin(`/api/connections/${slug}/keys`, { method: 'POST', body: 'name=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
  });

  it('answers 404 connection-not-found for a connection that does not exist', async () => {
    const res = await admin('/api/connections/no-such-conn/keys', { method: 'POST', json: { name: 'x' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { type: string }).type).toMatch(/\/connection-not-found$/);
  });

  it('stores only the SHA-256 hash of a key, never the key itself', async () => {
    const slug = await newConnection();
    const created = await createKey(slug);
    const kv = await dumpKv();
    expect(kv).not.toContain(created.key);
    expect(kv).not.toContain(created.key.slice(3));
    expect(kv).toContain(await sha256Hex(created.key));
  });
});

describe('GET /api/connections/<slug>/keys', () => {
  it('lists id, name, creation and last use of each key, without hash or key', async () => {
    const slug = await newConnection();
    const a = await createKey(slug, 'A');
    const b = await createKey(slug, 'B');
    const res = await admin(`/api/connections/${slug}/keys`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      keys: [
        { id: a.id, name: 'A', createdAt: a.createdAt, lastUsedAt: null },
        { id: b.id, name: 'B', createdAt: b.createdAt, lastUsedAt: null },
      ],
    });
    for (const k of [a, b]) {
      expect(text).not.toContain(k.key);
      expect(text).not.toContain(await sha256Hex(k.key));
    }
  });

  it('keeps the keys of each connection apart', async () => {
    const one = await newConnection();
    const two = await newConnection();
    await createKey(one);
    const list = (await (await admin(`/api/connections/${two}/keys`)).json()) as { keys: unknown[] };
    expect(list.keys).toEqual([]);
  });

  it('records when a key was last used by the relay', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ping', { json: {} });
    const slug = await newConnection(m.url('/v2'));
    const created = await createKey(slug);
    const before = Date.now();
    const relayed = await call(`/relay/${slug}/ping`, { headers: { Authorization: `Bearer ${created.key}` } });
    expect(relayed.status).toBe(200);
    let lastUsedAt: string | null = null;
    for (let i = 0; i < 50 && lastUsedAt === null; i++) {
      const list = (await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: { lastUsedAt: string | null }[] };
      lastUsedAt = list.keys[0]!.lastUsedAt;
      if (lastUsedAt === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(lastUsedAt).not.toBeNull();
    expect(Date.parse(lastUsedAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect((await m.received()).requests).toHaveLength(1);
  });

  it('answers 404 for a connection that does not exist or a slug that cannot exist', async () => {
    for (const path of ['/api/connections/no-such-conn/keys', '/api/connections/Not_A_Slug/keys']) {
      const res = await admin(path);
      expect(res.status, path).toBe(404);
    }
  });
});

describe('DELETE /api/connections/<slug>/keys/<id>', () => {
  it('revokes a key: 204, gone from the list, and a second delete is 404 key-not-found', async () => {
    const slug = await newConnection();
    const gone = await createKey(slug, 'gone');
    const kept = await createKey(slug, 'kept');
    const res = await admin(`/api/connections/${slug}/keys/${gone.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    const list = (await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: { id: string }[] };
    expect(list.keys.map((k) => k.id)).toEqual([kept.id]);
    expect(await dumpKv()).not.toContain(await sha256Hex(gone.key));
    const again = await admin(`/api/connections/${slug}/keys/${gone.id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { type: string }).type).toMatch(/\/key-not-found$/);
  });

  it('answers 404 connection-not-found for a connection that does not exist', async () => {
    const res = await admin('/api/connections/no-such-conn/keys/abc', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { type: string }).type).toMatch(/\/connection-not-found$/);
  });

  it('does not revoke a key through another connection', async () => {
    const owner = await newConnection();
    const other = await newConnection();
    const k = await createKey(owner);
    expect((await admin(`/api/connections/${other}/keys/${k.id}`, { method: 'DELETE' })).status).toBe(404);
    const list = (await (await admin(`/api/connections/${owner}/keys`)).json()) as { keys: { id: string }[] };
    expect(list.keys.map((x) => x.id)).toEqual([k.id]);
  });
});

describe('keys API access and methods', () => {
  it('answers 401 without admin authentication, for every keys route', async () => {
    const slug = await newConnection();
    const k = await createKey(slug);
    for (const [method, path] of [
      ['GET', `/api/connections/${slug}/keys`],
      ['POST', `/api/connections/${slug}/keys`],
      ['DELETE', `/api/connections/${slug}/keys/${k.id}`],
    ] as const) {
      const res = await call(path, { method, headers: { 'Content-Type': 'application/json' }, body: method === 'POST' ? '{"name":"x"}' : null });
      expect(res.status, `${method} ${path}`).toBe(401);
      const res2 = await call(path, { method, headers: { Authorization: `Bearer ${k.key}` } });
      expect(res2.status, `relay key on ${method} ${path}`).toBe(401);
    }
    const list = (await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: unknown[] };
    expect(list.keys).toHaveLength(1);
  });

  it('answers 405 with Allow for methods the keys routes do not have', async () => {
    const slug = await newConnection();
    const put = await admin(`/api/connections/${slug}/keys`, { method: 'PUT', json: {} });
    expect(put.status).toBe(405);
    expect(put.headers.get('Allow')).toBe('GET, HEAD, POST');
    const get = await admin(`/api/connections/${slug}/keys/some-id`);
    expect(get.status).toBe(405);
    expect(get.headers.get('Allow')).toBe('DELETE');
  });

  it('never writes a key to the logs', async () => {
    const logs = captureLogs();
    let created: CreatedKey;
    try {
      const slug = await newConnection();
      created = await createKey(slug);
      await admin(`/api/connections/${slug}/keys`);
      await call(`/relay/${slug}/x`, { headers: { Authorization: `Bearer ${created.key}x` } });
      await admin(`/api/connections/${slug}/keys/${created.id}`, { method: 'DELETE' });
      await call(`/relay/${slug}/x`, { headers: { Authorization: `Bearer ${created.key}` } });
    } finally {
      logs.restore();
    }
    expect(logs.text()).not.toContain(created.key);
    expect(logs.text()).not.toContain(created.key.slice(3, 20));
  });
});

async function keyIds(slug: string): Promise<string[]> {
  const list = (await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: { id: string }[] };
  return list.keys.map((k) => k.id);
}

describe('relay keys under concurrent changes', () => {
  it('stores every key of concurrent creations, each usable at once', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ping', { json: {} });
    const slug = await newConnection(m.url('/v2'));
    const created = await Promise.all(['one', 'two', 'three'].map((name) => createKey(slug, name)));
    expect((await keyIds(slug)).sort()).toEqual(created.map((k) => k.id).sort());
    for (const k of created) {
      expect((await call(`/relay/${slug}/ping`, { headers: { Authorization: `Bearer ${k.key}` } })).status).toBe(200);
    }
  });

  it('lists keys in creation order, also for keys made within one millisecond', async () => {
    const slug = await newConnection();
    const created: CreatedKey[] = [];
    for (const name of ['a', 'b', 'c', 'd']) created.push(await createKey(slug, name));
    expect(await keyIds(slug)).toEqual(created.map((k) => k.id));
  });

  it('keeps a revoked key revoked when an edit of the connection is saved at the same moment', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ping', { json: {} });
    const slug = await newConnection(m.url('/v2'));
    const revoked = await createKey(slug, 'revoked');
    const kept = await createKey(slug, 'kept');
    const [revoke, rename] = await Promise.all([
      admin(`/api/connections/${slug}/keys/${revoked.id}`, { method: 'DELETE' }),
      admin(`/api/connections/${slug}`, { method: 'PUT', json: { name: 'Renamed', slug, baseUrl: m.url('/v2'), auth: { method: 'none' } } }),
    ]);
    expect([revoke.status, rename.status]).toEqual([204, 200]);
    expect(await keyIds(slug)).toEqual([kept.id]);
    expect((await call(`/relay/${slug}/ping`, { headers: { Authorization: `Bearer ${revoked.key}` } })).status).toBe(401);
    expect((await call(`/relay/${slug}/ping`, { headers: { Authorization: `Bearer ${kept.key}` } })).status).toBe(200);
  });

  it('holds the limit of 50 keys when 60 are created at once', async () => {
    const slug = await newConnection();
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: `k${i}` } })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 400)).toHaveLength(10);
    expect(await keyIds(slug)).toHaveLength(50);
  });

  it("keeps only key hashes in the relay's copy of the connection, never a key", async () => {
    const slug = await newConnection();
    const k = await createKey(slug, 'Own entry');
    const copy = (await env.CONNECTIONS.get(`conn:${slug}`, 'json')) as { keys: Record<string, unknown>[] };
    expect(copy.keys).toEqual([{ id: k.id, name: 'Own entry', hash: await sha256Hex(k.key), createdAt: k.createdAt }]);
    expect(JSON.stringify(copy)).not.toContain(k.key);
  });

  it('never lets a key of a deleted connection open a new connection of the same slug', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ping', { json: {} });
    const slug = await newConnection(m.url('/v2'));
    const old = await createKey(slug);
    expect((await admin(`/api/connections/${slug}`, { method: 'DELETE' })).status).toBe(204);
    const again = await admin('/api/connections', { method: 'POST', json: { name: 'Again', slug, baseUrl: m.url('/v2'), auth: { method: 'none' } } });
    expect(again.status).toBe(201);
    expect((await call(`/relay/${slug}/ping`, { headers: { Authorization: `Bearer ${old.key}` } })).status).toBe(401);
    expect(await keyIds(slug)).toEqual([]);
    expect((await m.received()).requests).toEqual([]);
  });
});

