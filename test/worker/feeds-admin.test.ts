import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { homeOf } from '../../worker/connections/home';
import { Sealer } from '../../worker/connections/seal';
import { openFeedSecret } from '../../worker/feeds/records';
import { admin, captureLogs, dumpKv, ORIGIN } from '../support/worker-api';
import { resetStorage } from '../support/worker-homes';

const TURNSTILE_SECRET = '0x4AAAAAAA-turnstile-Secret-value';
const UPSTREAM_TOKEN = 'upstream-bearer-Token-value';
/** Every trigger key shown in a test: none may appear in a log, KV or SQL. */
const shownKeys: string[] = [];

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status, await res.clone().text()).toBe(status);
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  const body = (await res.json()) as Record<string, any>;
  expect(body).toMatchObject({ type: expect.stringMatching(new RegExp(`/${code}$`)), status });
  return body;
}

async function createConnection(slug: string, relay?: Record<string, unknown>) {
  const res = await admin('/api/connections', {
    method: 'POST',
    json: { name: 'Acme', slug, baseUrl: 'https://api.acme.example/v2', auth: { method: 'bearer', token: UPSTREAM_TOKEN }, ...(relay ? { relay } : {}) },
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

function feedInput(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    name: 'Newsletter signup',
    connection: 'acme-crm',
    trigger: {
      browser: {
        enabled: true,
        allowedOrigins: ['https://shop.example'],
        turnstile: { mode: 'required', siteKey: '0x4AAA-site', secretKey: TURNSTILE_SECRET },
      },
      server: { enabled: true },
    },
    request: {
      method: 'POST',
      path: '/lists/{{/input/list}}/members',
      body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }] },
    },
    ...overrides,
  };
}

async function createFeed(input: Record<string, unknown> = feedInput()): Promise<Record<string, any>> {
  const res = await admin('/api/feeds', { method: 'POST', json: input });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Record<string, any>;
}

async function newTriggerKey(id: string, name = 'crm'): Promise<Response> {
  const res = await admin(`/api/feeds/${id}/keys`, { method: 'POST', json: { name } });
  if (res.status === 201) shownKeys.push(((await res.clone().json()) as { key: string }).key);
  return res;
}

/** Every row of the feed tables of a connection's home, as text. */
async function dumpFeedSql(slug: string): Promise<string> {
  return runInDurableObject(homeOf(env, slug), async (_instance, state) => {
    const feeds = state.storage.sql.exec('SELECT * FROM feed').toArray();
    const keys = state.storage.sql.exec('SELECT * FROM feed_key').toArray();
    return JSON.stringify([feeds, keys]);
  });
}

let logs: ReturnType<typeof captureLogs>;
beforeEach(async () => {
  await resetStorage();
  shownKeys.length = 0;
  logs = captureLogs();
  await createConnection('acme-crm');
});
afterEach(() => {
  const text = logs.text();
  logs.restore();
  expect(text).not.toContain(TURNSTILE_SECRET);
  for (const key of shownKeys) expect(text).not.toContain(key);
});

describe('POST /api/feeds', () => {
  it('creates a feed and answers its view with the trigger URL and no secret', async () => {
    const res = await admin('/api/feeds', { method: 'POST', json: feedInput() });
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain(TURNSTILE_SECRET);
    const view = JSON.parse(text);
    expect(view.id).toMatch(/^fd_[a-z2-7]{16}$/);
    expect(view.publicKey).toMatch(/^fpk_[a-z2-7]{26}$/);
    expect(res.headers.get('Location')).toBe(`/api/feeds/${view.id}`);
    expect(res.headers.get('ETag')).toBe('"1"');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(view).toMatchObject({ name: 'Newsletter signup', connection: 'acme-crm', version: 1, enabled: true, triggerUrl: `${ORIGIN}/hook/${view.publicKey}` });
    expect(view.trigger.browser.turnstile).toEqual({ mode: 'required', siteKey: '0x4AAA-site', secretKeySet: true, allowedHostnames: [] });
  });

  it('seals the Turnstile secret, bound to the feed id, so KV and SQL never hold it in clear', async () => {
    const view = await createFeed();
    expect(await dumpKv()).not.toContain(TURNSTILE_SECRET);
    expect(await dumpFeedSql('acme-crm')).not.toContain(TURNSTILE_SECRET);
    const record = (await homeOf(env, 'acme-crm').getFeed('acme-crm', view.id))!;
    const sealer = Sealer.fromSecretsKey(env.SECRETS_KEY);
    expect(await openFeedSecret(sealer, record)).toBe(TURNSTILE_SECRET);
    // The same ciphertext in another feed does not open.
    const other = await createFeed(feedInput({ name: 'Other' }));
    await expect(openFeedSecret(sealer, { ...record, id: other.id })!).rejects.toThrow();
  });

  it('writes the hot path copy, the public key index and the connection index', async () => {
    const view = await createFeed();
    const copy = (await env.CONNECTIONS.getWithMetadata(`feed:${view.id}`, 'json')) as { value: any; metadata: any };
    expect(copy.value.record.publicKey).toBe(view.publicKey);
    expect(copy.metadata).toEqual({ name: 'Newsletter signup', connection: 'acme-crm', enabled: true, updatedAt: view.updatedAt, version: 1 });
    expect(await env.CONNECTIONS.get(`feedkey:${view.publicKey}`, 'json')).toEqual({ feedId: view.id, connection: 'acme-crm' });
    expect(await env.CONNECTIONS.get(`feedconn:${view.id}`)).toBe('acme-crm');
  });

  it('answers 400 with errors keyed by JSON Pointer', async () => {
    const input = feedInput();
    input.request.timeoutMs = 5;
    const body = await expectProblem(await admin('/api/feeds', { method: 'POST', json: input }), 400, 'validation-failed');
    expect(Object.keys(body.errors)).toEqual(['/request/timeoutMs']);
  });

  it('answers 400 with errors["/connection"] for an unknown connection', async () => {
    const body = await expectProblem(await admin('/api/feeds', { method: 'POST', json: feedInput({ connection: 'nope' }) }), 400, 'validation-failed');
    expect(body.errors['/connection']).toEqual([expect.stringContaining('nope')]);
  });

  it('applies the connection relay policy at save time', async () => {
    await createConnection('strict', { allowedMethods: ['GET'] });
    const body = await expectProblem(await admin('/api/feeds', { method: 'POST', json: feedInput({ connection: 'strict' }) }), 400, 'validation-failed');
    expect(Object.keys(body.errors)).toContain('/request/method');
  });
});

describe('GET /api/feeds/<id>', () => {
  it('answers the view with ETag', async () => {
    const created = await createFeed();
    const res = await admin(`/api/feeds/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('ETag')).toBe('"1"');
    expect(await res.json()).toEqual(created);
  });

  it('answers 404 feed-not-found for a made-up id without waking a home', async () => {
    const before = (await listDurableObjectIds(env.HOMES)).length;
    await expectProblem(await admin('/api/feeds/fd_aaaaaaaaaaaaaaaa'), 404, 'feed-not-found');
    await expectProblem(await admin('/api/feeds/not-an-id'), 404, 'feed-not-found');
    await expectProblem(await admin('/api/feeds/fd_aaaaaaaaaaaaaaaa', { method: 'DELETE' }), 404, 'feed-not-found');
    expect((await listDurableObjectIds(env.HOMES)).length).toBe(before);
  });
});

describe('PUT /api/feeds/<id>', () => {
  it('replaces the feed, keeps an omitted secret and raises the version', async () => {
    const created = await createFeed();
    const sealedBefore = (await homeOf(env, 'acme-crm').getFeed('acme-crm', created.id))!.turnstileSecret;
    const input = feedInput({ name: 'Renamed' });
    delete input.trigger.browser.turnstile.secretKey;
    const res = await admin(`/api/feeds/${created.id}`, { method: 'PUT', headers: { 'If-Match': '"1"' }, json: input });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('ETag')).toBe('"2"');
    const view = (await res.json()) as Record<string, any>;
    expect(view).toMatchObject({ id: created.id, name: 'Renamed', version: 2, publicKey: created.publicKey, createdAt: created.createdAt });
    expect(view.trigger.browser.turnstile.secretKeySet).toBe(true);
    expect((await homeOf(env, 'acme-crm').getFeed('acme-crm', created.id))!.turnstileSecret).toBe(sealedBefore);
    expect(((await env.CONNECTIONS.getWithMetadata(`feed:${created.id}`)).metadata as any).name).toBe('Renamed');
  });

  it('answers 412 version-conflict with the current version', async () => {
    const created = await createFeed();
    const body = await expectProblem(
      await admin(`/api/feeds/${created.id}`, { method: 'PUT', headers: { 'If-Match': '"7"' }, json: feedInput() }),
      412,
      'version-conflict',
    );
    expect(body.version).toBe(1);
  });

  it('lets exactly one of two concurrent saves with the same If-Match through', async () => {
    const created = await createFeed();
    const results = await Promise.all(
      ['A', 'B'].map((name) => admin(`/api/feeds/${created.id}`, { method: 'PUT', headers: { 'If-Match': '"1"' }, json: feedInput({ name }) })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const stored = await (await admin(`/api/feeds/${created.id}`)).json() as Record<string, any>;
    expect(stored.version).toBe(2);
  });

  it('answers 400 connection-immutable when the body names another connection', async () => {
    await createConnection('other-crm');
    const created = await createFeed();
    const body = await expectProblem(
      await admin(`/api/feeds/${created.id}`, { method: 'PUT', json: feedInput({ connection: 'other-crm' }) }),
      400,
      'connection-immutable',
    );
    expect(Object.keys(body.errors)).toEqual(['/connection']);
  });

  it('saves without If-Match, matches * and refuses a malformed If-Match', async () => {
    const created = await createFeed();
    expect((await admin(`/api/feeds/${created.id}`, { method: 'PUT', json: feedInput({ name: 'No tag' }) })).status).toBe(200);
    expect((await admin(`/api/feeds/${created.id}`, { method: 'PUT', headers: { 'If-Match': '*' }, json: feedInput() })).status).toBe(200);
    await expectProblem(await admin(`/api/feeds/${created.id}`, { method: 'PUT', headers: { 'If-Match': 'three' }, json: feedInput() }), 400, 'bad-request');
    expect(((await (await admin(`/api/feeds/${created.id}`)).json()) as { version: number }).version).toBe(3);
  });

  it('answers 400 for an invalid body and 404 for an unknown feed', async () => {
    const created = await createFeed();
    const bad = feedInput();
    bad.request.method = 'TRACE';
    const body = await expectProblem(await admin(`/api/feeds/${created.id}`, { method: 'PUT', json: bad }), 400, 'validation-failed');
    expect(Object.keys(body.errors)).toEqual(['/request/method']);
    await expectProblem(await admin('/api/feeds/fd_bbbbbbbbbbbbbbbb', { method: 'PUT', json: feedInput() }), 404, 'feed-not-found');
  });
});

describe('DELETE /api/feeds/<id>', () => {
  it('deletes the feed with its keys and every KV entry', async () => {
    const created = await createFeed();
    expect((await newTriggerKey(created.id)).status).toBe(201);
    const res = await admin(`/api/feeds/${created.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    await expectProblem(await admin(`/api/feeds/${created.id}`), 404, 'feed-not-found');
    for (const key of [`feed:${created.id}`, `feedconn:${created.id}`, `feedkey:${created.publicKey}`]) expect(await env.CONNECTIONS.get(key)).toBeNull();
    expect(await dumpFeedSql('acme-crm')).toBe('[[],[]]');
  });
});

describe('GET /api/feeds', () => {
  it('pages over every feed and filters by connection; only a null cursor ends', async () => {
    await createConnection('other-crm');
    const ids = [(await createFeed()).id, (await createFeed()).id, (await createFeed(feedInput({ connection: 'other-crm' }))).id];
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const res = await admin(`/api/feeds?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { feeds: Record<string, unknown>[]; cursor: string | null };
      for (const feed of page.feeds) {
        expect(Object.keys(feed).sort()).toEqual(['connection', 'enabled', 'id', 'name', 'updatedAt', 'version']);
        seen.push(feed.id as string);
      }
      cursor = page.cursor;
      expect(++pages).toBeLessThan(10);
    }
    expect(seen.sort()).toEqual([...ids].sort());
    const other = (await (await admin('/api/feeds?connection=other-crm')).json()) as { feeds: { id: string }[]; cursor: string | null };
    expect(other).toEqual({ feeds: [expect.objectContaining({ id: ids[2], connection: 'other-crm' })], cursor: null });
  });

  it('answers 400 for bad listing parameters', async () => {
    await expectProblem(await admin('/api/feeds?limit=0'), 400, 'bad-request');
    await expectProblem(await admin('/api/feeds?connection=Not%20A%20Slug'), 400, 'bad-request');
  });
});

describe('server trigger keys', () => {
  it('shows a key once, keeps only its SHA-256, lists and revokes it', async () => {
    const created = await createFeed();
    const res = await newTriggerKey(created.id, 'crm webhook');
    expect(res.status).toBe(201);
    const made = (await res.json()) as { id: string; name: string; key: string; createdAt: string };
    expect(made.key).toMatch(/^ftk_[A-Za-z0-9_-]{43}$/);
    const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(made.key)))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const kv = await dumpKv();
    expect(kv).toContain(hash);
    expect(kv).not.toContain(made.key);
    const sql = await dumpFeedSql('acme-crm');
    expect(sql).toContain(hash);
    expect(sql).not.toContain(made.key);
    const list = await admin(`/api/feeds/${created.id}/keys`);
    const listText = await list.text();
    expect(listText).not.toContain(made.key);
    expect(listText).not.toContain(hash);
    expect(JSON.parse(listText)).toEqual({ keys: [{ id: made.id, name: 'crm webhook', createdAt: made.createdAt }] });
    expect((await admin(`/api/feeds/${created.id}/keys/${made.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await dumpKv()).not.toContain(hash);
    await expectProblem(await admin(`/api/feeds/${created.id}/keys/${made.id}`, { method: 'DELETE' }), 404, 'trigger-key-not-found');
  });

  it('holds the limit of 20 keys per feed under concurrent creates', async () => {
    const created = await createFeed();
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => newTriggerKey(created.id, `k${i}`)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 400)).toHaveLength(4);
    const list = (await (await admin(`/api/feeds/${created.id}/keys`)).json()) as { keys: unknown[] };
    expect(list.keys).toHaveLength(20);
  });

  it('answers 404 feed-not-found and 400 for a bad name', async () => {
    await expectProblem(await newTriggerKey('fd_cccccccccccccccc'), 404, 'feed-not-found');
    const created = await createFeed();
    await expectProblem(await newTriggerKey(created.id, ''), 400, 'validation-failed');
  });
});

describe('POST /api/feeds/<id>/rotate-public-key', () => {
  it('gives a new public key and removes the old index entry at once', async () => {
    const created = await createFeed();
    const res = await admin(`/api/feeds/${created.id}/rotate-public-key`, { method: 'POST' });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as { publicKey: string; triggerUrl: string };
    expect(rotated.publicKey).toMatch(/^fpk_[a-z2-7]{26}$/);
    expect(rotated.publicKey).not.toBe(created.publicKey);
    expect(rotated.triggerUrl).toBe(`${ORIGIN}/hook/${rotated.publicKey}`);
    expect(await env.CONNECTIONS.get(`feedkey:${created.publicKey}`)).toBeNull();
    expect(await env.CONNECTIONS.get(`feedkey:${rotated.publicKey}`, 'json')).toEqual({ feedId: created.id, connection: 'acme-crm' });
    const view = (await (await admin(`/api/feeds/${created.id}`)).json()) as Record<string, any>;
    expect(view).toMatchObject({ publicKey: rotated.publicKey, triggerUrl: rotated.triggerUrl, version: 2 });
    await expectProblem(await admin('/api/feeds/fd_dddddddddddddddd/rotate-public-key', { method: 'POST' }), 404, 'feed-not-found');
  });
});

describe('DELETE /api/connections/<slug> and feeds', () => {
  it('answers 409 connection-in-use listing the feeds, then deletes once they are gone', async () => {
    const a = await createFeed();
    const b = await createFeed();
    const body = await expectProblem(await admin('/api/connections/acme-crm', { method: 'DELETE' }), 409, 'connection-in-use');
    expect(body.feeds).toEqual([a.id, b.id].sort());
    expect((await admin('/api/connections/acme-crm')).status).toBe(200);
    for (const feed of [a, b]) expect((await admin(`/api/feeds/${feed.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await admin('/api/connections/acme-crm', { method: 'DELETE' })).status).toBe(204);
  });

  it('never leaves a feed pointing at a deleted connection when a create races the delete', async () => {
    for (let round = 0; round < 6; round++) {
      const slug = `race-${round}`;
      await createConnection(slug);
      const [created, deleted] = await Promise.all([
        admin('/api/feeds', { method: 'POST', json: feedInput({ connection: slug }) }),
        admin(`/api/connections/${slug}`, { method: 'DELETE' }),
      ]);
      if (created.status === 201) {
        expect(deleted.status).toBe(409);
        expect((await admin(`/api/connections/${slug}`)).status).toBe(200);
      } else {
        expect([400, 404]).toContain(created.status);
        expect(deleted.status).toBe(204);
        const feeds = (await (await admin(`/api/feeds?connection=${slug}`)).json()) as { feeds: unknown[] };
        expect(feeds.feeds).toEqual([]);
      }
    }
  });
});

describe('secrets', () => {
  it('never answers, logs or stores a Turnstile secret or trigger key in clear', async () => {
    const created = await createFeed();
    const key = await newTriggerKey(created.id);
    const answers = [
      await (await admin(`/api/feeds/${created.id}`)).text(),
      await (await admin('/api/feeds')).text(),
      await (await admin(`/api/feeds/${created.id}/keys`)).text(),
      await (await admin(`/api/feeds/${created.id}`, { method: 'PUT', json: feedInput({ name: 'x' }) })).text(),
      await (await admin(`/api/feeds/${created.id}/rotate-public-key`, { method: 'POST' })).text(),
    ].join('\n');
    const made = (await key.json()) as { key: string };
    for (const text of [answers, await dumpKv(), await dumpFeedSql('acme-crm')]) {
      expect(text).not.toContain(TURNSTILE_SECRET);
      expect(text).not.toContain(made.key);
      expect(text).not.toContain(UPSTREAM_TOKEN);
    }
  });
});
