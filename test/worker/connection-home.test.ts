/**
 * The connection's home under concurrent use, in workerd with real Durable Objects and KV:
 * concurrent creates, stale `If-Match`, a rotation racing a rename, a delete during a token
 * request, single flight across isolates, a 401 storm, back-off, the read path when the home is
 * out of reach, secrets bound to their record and destination, and records of the KV-only format.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { homeOf } from '../../worker/connections/home';
import { openSecret, secretContext, type StoredConnection } from '../../worker/connections/records';
import { Sealer } from '../../worker/connections/seal';
import { tokenTag } from '../../worker/oauth/fingerprint';
import { TOKEN_FAILURE_BACKOFF_MS } from '../../worker/oauth/token-broker';
import { TokenDoor, TokenIsolateState } from '../../worker/oauth/token-door';
import { admin, call, captureLogs, dumpKv } from '../support/worker-api';
import { openStoredSecret, storedRecord } from '../support/worker-homes';
import { Mock, type MockResponse } from '../support/worker-mock';
import { uniqueSlug } from '../support/worker-oauth';

const SECRETS = ['home-Secret-A!%&é', 'home-Secret-B!%&ü'];
const issued: string[] = [];

function token(name: string, extra: Partial<MockResponse> = {}): MockResponse {
  const accessToken = `at-${name}-${crypto.randomUUID()}`;
  issued.push(accessToken);
  return { json: { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 }, ...extra };
}

function oauthBody(slug: string, m: Mock, extra: Record<string, unknown> = {}, auth: Record<string, unknown> = {}) {
  return {
    name: 'Home',
    slug,
    baseUrl: m.url('/v2'),
    auth: { method: 'oauth2_client_credentials', clientId: 'home-client', clientSecret: SECRETS[0], tokenUrl: m.url('/token'), ...auth },
    ...extra,
  };
}

async function create(body: Record<string, unknown>): Promise<StoredConnection> {
  const res = await admin('/api/connections', { method: 'POST', json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await storedRecord(body.slug as string))!;
}

async function tokenRequests(m: Mock): Promise<number> {
  const { requests, unexpected } = await m.received();
  expect(unexpected).toEqual([]);
  return requests.filter((r) => r.path === '/token').length;
}

let logs: ReturnType<typeof captureLogs>;
beforeAll(() => {
  logs = captureLogs();
});
afterAll(async () => {
  logs.restore();
  const where = { log: logs.text(), kv: await dumpKv() };
  for (const [name, text] of Object.entries(where)) {
    for (const secret of [...SECRETS, ...issued]) expect(text.includes(secret), `${name} holds a secret or token`).toBe(false);
  }
});

describe('concurrent writes', () => {
  it('gives exactly one of 20 concurrent creates of a slug its 201; the rest get 409, and the winner is what is stored', async () => {
    for (let round = 0; round < 3; round++) {
      const slug = uniqueSlug('race');
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          admin('/api/connections', {
            method: 'POST',
            json: { name: `Racer ${i}`, slug, baseUrl: `https://api${i}.example/v1`, auth: { method: 'bearer', token: `race-token-${i}` } },
          }),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(19);
      const winner = (await answers[statuses.indexOf(201)]!.json()) as { name: string; baseUrl: string };
      const stored = (await storedRecord(slug))!;
      expect(stored.baseUrl).toBe(winner.baseUrl);
      const i = Number(winner.name.split(' ')[1]);
      expect(await openStoredSecret(stored)).toBe(`race-token-${i}`);
      const copy = (await env.CONNECTIONS.get(`conn:${slug}`, 'json')) as { record: StoredConnection };
      expect(copy.record.baseUrl).toBe(winner.baseUrl);
    }
  });

  it('never reverts a secret rotation that races a rename which leaves the secret out', async () => {
    const m = new Mock();
    const slug = uniqueSlug('rotate');
    await create({ name: 'Rotate', slug, baseUrl: m.url('/v2'), auth: { method: 'bearer', token: 'old-bearer-token' } });
    for (let round = 0; round < 20; round++) {
      const [rotate, rename] = await Promise.all([
        admin(`/api/connections/${slug}`, { method: 'PUT', json: { name: 'Rotate', slug, baseUrl: m.url('/v2'), auth: { method: 'bearer', token: `new-bearer-token-${round}` } } }),
        admin(`/api/connections/${slug}`, { method: 'PUT', json: { name: `Renamed ${round}`, slug, baseUrl: m.url('/v2'), auth: { method: 'bearer' } } }),
      ]);
      expect([rotate.status, rename.status]).toEqual([200, 200]);
      expect(await openStoredSecret((await storedRecord(slug))!)).toBe(`new-bearer-token-${round}`);
    }
    const { version } = (await storedRecord(slug))!;
    expect(version).toBe(41);
  });

  it('answers 412 with the current version to a stale If-Match, and applies a matching one', async () => {
    const m = new Mock();
    const slug = uniqueSlug('etag');
    await create({ name: 'Etag', slug, baseUrl: m.url('/v2'), auth: { method: 'none' } });
    const got = await admin(`/api/connections/${slug}`);
    expect(got.headers.get('ETag')).toBe('"1"');
    const body = (name: string) => ({ name, slug, baseUrl: m.url('/v2'), auth: { method: 'none' } });
    const first = await admin(`/api/connections/${slug}`, { method: 'PUT', headers: { 'If-Match': '"1"' }, json: body('First') });
    expect(first.status).toBe(200);
    expect(first.headers.get('ETag')).toBe('"2"');
    const stale = await admin(`/api/connections/${slug}`, { method: 'PUT', headers: { 'If-Match': '"1"' }, json: body('Second') });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('Content-Type')).toBe('application/problem+json');
    expect(await stale.json()).toMatchObject({ type: expect.stringContaining('version-conflict'), status: 412, version: 2 });
    expect((await storedRecord(slug))!.name).toBe('First');
    expect((await admin(`/api/connections/${slug}`, { method: 'PUT', headers: { 'If-Match': '"7", "2"' }, json: body('Listed') })).status).toBe(200);
    expect((await admin(`/api/connections/${slug}`, { method: 'PUT', headers: { 'If-Match': '*' }, json: body('Any') })).status).toBe(200);
    expect((await admin(`/api/connections/${slug}`, { method: 'PUT', headers: { 'If-Match': 'W/"4"' }, json: body('Weak') })).status).toBe(412);
    const malformed = await admin(`/api/connections/${slug}`, { method: 'PUT', headers: { 'If-Match': '4' }, json: body('Bad') });
    expect(malformed.status).toBe(400);
    expect((await admin(`/api/connections/${uniqueSlug('nope')}`, { method: 'PUT', headers: { 'If-Match': '"1"' }, json: body('x') })).status).toBe(404);
    expect((await storedRecord(slug))!).toMatchObject({ name: 'Any', version: 4 });
  });

  it('lets exactly one of two edits with the same If-Match through', async () => {
    const m = new Mock();
    const slug = uniqueSlug('twice');
    await create({ name: 'Twice', slug, baseUrl: m.url('/v2'), auth: { method: 'none' } });
    const edit = (name: string) => admin(`/api/connections/${slug}`, { method: 'PUT', headers: { 'If-Match': '"1"' }, json: { name, slug, baseUrl: m.url('/v2'), auth: { method: 'none' } } });
    const statuses = (await Promise.all([edit('A'), edit('B')])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 412]);
  });
});

describe('delete and re-create', () => {
  it('leaves nothing behind that a token request in flight during the delete would have written', async () => {
    const m = new Mock();
    await m.on('POST', '/token', token('slow', { delayMs: 300 }), token('later'));
    const slug = uniqueSlug('gone');
    await create(oauthBody(slug, m));
    const door = new TokenDoor(env, { state: new TokenIsolateState() });
    const record = (await storedRecord(slug))!;
    const inFlight = door.getAccessToken(record).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100));
    expect((await admin(`/api/connections/${slug}`, { method: 'DELETE' })).status).toBe(204);
    await inFlight;
    expect(await tokenRequests(m)).toBe(1);
    expect(await env.CONNECTIONS.get(`tok:${record.id}`)).toBeNull();
    const rows = await runInDurableObject(homeOf(env, slug), (_home, state) =>
      state.storage.sql.exec<{ n: number }>('SELECT (SELECT COUNT(*) FROM token) + (SELECT COUNT(*) FROM token_state) AS n').one().n,
    );
    expect(rows).toBe(0);

    const again = await create(oauthBody(slug, m));
    expect(again.id).not.toBe(record.id);
    const status = (await (await admin(`/api/connections/${slug}/token`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ cached: false, fetches: 0, lastError: null });
  });
});

describe('the token broker', () => {
  it('makes one token request for 8 isolates × 25 concurrent calls on a cold cache', async () => {
    const m = new Mock();
    await m.on('POST', '/token', token('shared', { delayMs: 50 }), token('second'));
    const record = await create(oauthBody(uniqueSlug('flight'), m));
    const isolates = Array.from({ length: 8 }, () => new TokenDoor(env, { state: new TokenIsolateState() }));
    const tokens = await Promise.all(isolates.flatMap((door) => Array.from({ length: 25 }, () => door.getAccessToken(record))));
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(await tokenRequests(m)).toBe(1);
    // A ninth isolate, later: from the KV mirror, no call to the token endpoint.
    expect((await new TokenDoor(env, { state: new TokenIsolateState() }).getAccessToken(record)).accessToken).toBe(tokens[0]!.accessToken);
    expect(await tokenRequests(m)).toBe(1);
  });

  it('refreshes once when many isolates report the same refused token at once, and never for a token already replaced', async () => {
    const m = new Mock();
    await m.on('POST', '/token', token('refused'), token('fresh'), token('never'));
    const record = await create(oauthBody(uniqueSlug('storm'), m));
    const isolates = Array.from({ length: 10 }, () => new TokenDoor(env, { state: new TokenIsolateState() }));
    const refused = (await isolates[0]!.getAccessToken(record)).accessToken;
    await Promise.all(isolates.map((door) => door.getAccessToken(record)));
    await Promise.all(isolates.map((door) => door.invalidate(record, refused)));
    const after = await Promise.all(isolates.map((door) => door.getAccessToken(record)));
    expect(new Set(after.map((t) => t.accessToken))).toEqual(new Set([issued.at(-2)]));
    expect(after[0]!.accessToken).not.toBe(refused);
    // A late report of the old token changes nothing.
    await isolates[3]!.invalidate(record, refused);
    expect(await tokenRequests(m)).toBe(2);
  });

  it('backs off after a failure: no request until the back-off has passed, and the status says when', async () => {
    const m = new Mock();
    await m.on('POST', '/token', { status: 503, json: { error: 'temporarily_unavailable' } }, token('after'));
    const record = await create(oauthBody(uniqueSlug('backoff'), m));
    const door = () => new TokenDoor(env, { state: new TokenIsolateState() });
    await expect(door().getAccessToken(record)).rejects.toMatchObject({ code: 'token-endpoint-error' });
    await expect(door().getAccessToken(record)).rejects.toMatchObject({ code: 'token-endpoint-error' });
    expect(await tokenRequests(m)).toBe(1);
    const status = (await (await admin(`/api/connections/${record.slug}/token`)).json()) as { nextAttemptAt: string; lastError: { code: string } };
    expect(status.lastError.code).toBe('server-error');
    expect(Date.parse(status.nextAttemptAt) - Date.now()).toBeLessThanOrEqual(TOKEN_FAILURE_BACKOFF_MS);
    // Past the back-off (the home's clock moved), the endpoint is asked again.
    await runInDurableObject(homeOf(env, record.slug), (home) => {
      const moved = Date.now() + TOKEN_FAILURE_BACKOFF_MS + 1;
      home.clock = () => moved;
    });
    expect((await door().getAccessToken(record)).accessToken).toBe(issued.at(-1));
    expect(await tokenRequests(m)).toBe(2);
    await runInDurableObject(homeOf(env, record.slug), (home) => {
      home.clock = () => Date.now();
    });
  });

  it('serves a cached token when the home cannot be reached, and fetches (memory only, counted) without one', async () => {
    const m = new Mock();
    await m.on('POST', '/token', token('mirrored'), token('fallback'));
    const record = await create(oauthBody(uniqueSlug('offline'), m));
    const mirrored = (await new TokenDoor(env, { state: new TokenIsolateState() }).getAccessToken(record)).accessToken;
    const unreachable = {
      ...env,
      HOMES: {
        getByName() {
          throw new Error('Durable Object unreachable');
        },
      },
    } as unknown as Env;
    expect((await new TokenDoor(unreachable, { state: new TokenIsolateState() }).getAccessToken(record)).accessToken).toBe(mirrored);
    expect(await tokenRequests(m)).toBe(1);

    await env.CONNECTIONS.delete(`tok:${record.id}`);
    const kvBefore = (await env.CONNECTIONS.list()).keys.length;
    const offline = new TokenIsolateState();
    const fallback = await new TokenDoor(unreachable, { state: offline }).getAccessToken(record);
    expect(fallback).toEqual({ accessToken: issued.at(-1), fromCache: false });
    expect(await tokenRequests(m)).toBe(2);
    expect((await env.CONNECTIONS.list()).keys.length).toBe(kvBefore);
    expect(offline.fallbacks.get(record.slug)).toBe(1);
    const status = (await (await admin(`/api/connections/${record.slug}/token`)).json()) as { homeReachable: boolean };
    expect(status.homeReachable).toBe(true);
  });

  it('answers the refused-token report only for the token that is current', async () => {
    const m = new Mock();
    await m.on('POST', '/token', token('current'), token('never'));
    const record = await create(oauthBody(uniqueSlug('tag'), m));
    const current = (await new TokenDoor(env, { state: new TokenIsolateState() }).getAccessToken(record)).accessToken;
    const answer = await homeOf(env, record.slug).refused(record.slug, await tokenTag('some-other-token'));
    expect(answer).toMatchObject({ ok: true, token: { accessToken: current } });
    expect(await tokenRequests(m)).toBe(1);
  });
});

describe('secrets sealed at rest', () => {
  it('bind a secret to its record id, field and destination: moved or re-pointed, it does not open', async () => {
    const m = new Mock();
    const record = await create(oauthBody(uniqueSlug('bound'), m));
    const sealer = Sealer.fromSecretsKey(env.SECRETS_KEY);
    expect(await openSecret(sealer, record)).toBe(SECRETS[0]);
    const auth = record.auth as { tokenUrl: string };
    await expect(openSecret(sealer, { ...record, id: 'another-record-id' })).rejects.toThrow();
    await expect(openSecret(sealer, { ...record, auth: { ...record.auth, tokenUrl: 'https://evil.example/token' } as StoredConnection['auth'] })).rejects.toThrow();
    // The same path on the same origin is the same destination.
    expect(await openSecret(sealer, { ...record, auth: { ...record.auth, tokenUrl: `${new URL(auth.tokenUrl).origin}/other` } as StoredConnection['auth'] })).toBe(SECRETS[0]);
    expect(secretContext(record.id, 'clientSecret', new URL(auth.tokenUrl).origin)).toContain(record.id);
  });

  it('refuses to relay with a record edited in storage to send its secret elsewhere', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const slug = uniqueSlug('edited');
    await create({ name: 'Edited', slug, baseUrl: m.url('/v2'), auth: { method: 'bearer', token: 'edited-bearer-token' } });
    const keyRes = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: 'k' } });
    const { key } = (await keyRes.json()) as { key: string };
    const copy = (await env.CONNECTIONS.get(`conn:${slug}`, 'json')) as { record: StoredConnection };
    const other = new Mock();
    await other.on('GET', '/v2/x', { json: {} });
    copy.record.baseUrl = other.url('/v2').replace('127.0.0.1', 'localhost');
    await env.CONNECTIONS.put(`conn:${slug}`, JSON.stringify(copy));
    const res = await call(`/relay/${slug}/x`, { headers: { Authorization: `Bearer ${key}` } });
    expect(res.status).toBe(500);
    expect((await other.received()).requests).toEqual([]);
  });
});

describe('records of the KV-only format', () => {
  it('are migrated by their home on first read: re-sealed, keys kept, old entries removed', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const slug = uniqueSlug('legacy');
    const sealer = Sealer.fromSecretsKey(env.SECRETS_KEY);
    const at = '2026-01-01T00:00:00.000Z';
    const key = `rk_${'L'.repeat(43)}`;
    const hash = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))), (b) => b.toString(16).padStart(2, '0')).join('');
    const legacy = {
      v: 2,
      id: 'legacy-record-id-1',
      name: 'Legacy',
      slug,
      baseUrl: m.url('/v2'),
      auth: { method: 'bearer', token: await sealer.seal('legacy-bearer-token', `conn|${slug}|auth.token`) },
      secretVersion: 's1',
      createdAt: at,
      updatedAt: at,
    };
    const keyEntry = { id: '0000000001abcdefgh', name: 'old key', hash, createdAt: at, connectionId: legacy.id };
    await env.CONNECTIONS.put(`conn:${slug}`, JSON.stringify(legacy));
    await env.CONNECTIONS.put(`rkey:${slug}:${keyEntry.id}`, JSON.stringify(keyEntry), { metadata: keyEntry });
    await env.CONNECTIONS.put(`tokstat:${slug}`, '{"fetches":3}');

    const res = await call(`/relay/${slug}/x`, { headers: { Authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect((await m.received()).requests[0]!.headers.authorization).toBe('Bearer legacy-bearer-token');
    const stored = (await storedRecord(slug))!;
    expect(stored).toMatchObject({ v: 3, id: legacy.id, version: 1 });
    expect(await openStoredSecret(stored)).toBe('legacy-bearer-token');
    expect(((await env.CONNECTIONS.get(`conn:${slug}`, 'json')) as { v: number }).v).toBe(3);
    expect((await env.CONNECTIONS.list({ prefix: `rkey:${slug}:` })).keys).toEqual([]);
    expect(await env.CONNECTIONS.get(`tokstat:${slug}`)).toBeNull();
    const keys = ((await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: { id: string }[] }).keys;
    expect(keys.map((k) => k.id)).toEqual([keyEntry.id]);
  });
});
