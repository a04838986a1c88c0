/**
 * The token cache against the mock token endpoint and real local KV: single flight, refresh ahead
 * of expiry, the negative cache, invalidation, KV reuse across isolates, and cache keys that follow
 * every edit of a connection.
 */
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoredConnection } from '../../worker/connections/store';
import { forgetIsolateTokens } from '../../worker/oauth/token-cache';
import { TokenEndpointError } from '../../worker/oauth/token-client';
import { createTokenProvider, type TokenProviderOptions } from '../../worker/oauth/token-provider';
import { admin, captureLogs, dumpKv } from '../support/worker-api';
import { Mock, type MockResponse } from '../support/worker-mock';
import {
  basicCredentials,
  countingKv,
  createOAuthConnection,
  expectNoSecrets,
  replaceOAuthConnection,
  testStore,
  uniqueSlug,
} from '../support/worker-oauth';

const SECRET = 'cache-Secret!%&+ :/=é';
const SECRET_2 = 'second-Secret!%&+ :/=ü';
/** Every access token the mock hands out in this file. */
const issued: string[] = [];

function token(name: string, expiresIn: number | undefined = 3600): MockResponse {
  const accessToken = `at-${name}-${crypto.randomUUID()}`;
  issued.push(accessToken);
  return { json: { access_token: accessToken, token_type: 'Bearer', ...(expiresIn !== undefined ? { expires_in: expiresIn } : {}) } };
}
const accessTokenOf = (answer: MockResponse) => (answer.json as { access_token: string }).access_token;

/** A clock the test moves by hand. */
function manualClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

async function connectionTo(mock: Mock, auth: Record<string, unknown> = {}): Promise<StoredConnection> {
  return createOAuthConnection({ clientSecret: SECRET, tokenUrl: mock.url('/token'), scope: 'read', ...auth });
}

async function tokenRequests(mock: Mock, path = '/token') {
  const { requests, unexpected } = await mock.received();
  expect(unexpected).toEqual([]);
  return requests.filter((r) => r.path === path);
}

const provider = (options: TokenProviderOptions = {}) => createTokenProvider(testStore(), env, options);

let logs: ReturnType<typeof captureLogs>;
beforeAll(() => {
  logs = captureLogs();
});
afterAll(async () => {
  logs.restore();
  expectNoSecrets(logs.text(), [SECRET, SECRET_2, ...issued], 'the log');
  const kv = await dumpKv();
  expect(kv).toContain('token:');
  expectNoSecrets(kv, [SECRET, SECRET_2, ...issued], 'raw KV');
});

describe('single flight', () => {
  it('sends exactly one token request for 100 concurrent callers on a cold cache, and one more after expiry minus the refresh margin', async () => {
    const mock = new Mock();
    const first = token('first', 3600);
    const second = token('second', 3600);
    await mock.on('POST', '/token', first, second);
    const record = await connectionTo(mock);
    const clock = manualClock();
    const tokens = provider({ now: clock.now });

    const cold = await Promise.all(Array.from({ length: 100 }, () => tokens.getAccessToken(record)));
    expect(new Set(cold.map((t) => t.accessToken))).toEqual(new Set([accessTokenOf(first)]));
    expect(await tokenRequests(mock)).toHaveLength(1);

    // Refresh margin: min(60 s, 3600 s / 2) = 60 s before expiry.
    clock.advance((3600 - 60) * 1000 - 1);
    const warm = await Promise.all(Array.from({ length: 100 }, () => tokens.getAccessToken(record)));
    expect(warm.every((t) => t.fromCache && t.accessToken === accessTokenOf(first))).toBe(true);
    expect(await tokenRequests(mock)).toHaveLength(1);

    clock.advance(1);
    const refreshed = await Promise.all(Array.from({ length: 100 }, () => tokens.getAccessToken(record)));
    expect(new Set(refreshed.map((t) => t.accessToken))).toEqual(new Set([accessTokenOf(second)]));
    const requests = await tokenRequests(mock);
    expect(requests).toHaveLength(2);
    expect((await testStore().getTokenStats(record.slug)).fetches).toBe(2);
  });

  it('refreshes a short-lived token at half its lifetime', async () => {
    const mock = new Mock();
    const first = token('short', 60);
    const second = token('short-2', 60);
    await mock.on('POST', '/token', first, second);
    const record = await connectionTo(mock);
    const clock = manualClock();
    const tokens = provider({ now: clock.now });

    expect((await tokens.getAccessToken(record)).accessToken).toBe(accessTokenOf(first));
    clock.advance(30_000 - 1);
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(first), fromCache: true });
    clock.advance(1);
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(second), fromCache: false });
    expect(await tokenRequests(mock)).toHaveLength(2);
  });

  it('serves a warm token from isolate memory without touching KV or crypto', async () => {
    const mock = new Mock();
    const answer = token('warm');
    await mock.on('POST', '/token', answer);
    const record = await connectionTo(mock);
    const { kv, counts, total } = countingKv();
    const tokens = createTokenProvider(testStore(kv), env);

    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(answer), fromCache: false });
    expect(counts.get).toBeGreaterThan(0);
    const before = total();
    const subtle = (['digest', 'encrypt', 'decrypt', 'importKey'] as const).map((name) => vi.spyOn(crypto.subtle, name));
    try {
      for (let i = 0; i < 1000; i++) {
        expect((await tokens.getAccessToken(record)).fromCache).toBe(true);
      }
      expect(total()).toBe(before);
      for (const spy of subtle) expect(spy).not.toHaveBeenCalled();
    } finally {
      subtle.forEach((spy) => spy.mockRestore());
    }
    expect(await tokenRequests(mock)).toHaveLength(1);
  });

  it('lets another isolate reuse the token from KV without a request', async () => {
    const mock = new Mock();
    const answer = token('shared');
    await mock.on('POST', '/token', answer);
    const record = await connectionTo(mock);
    expect((await provider().getAccessToken(record)).fromCache).toBe(false);

    forgetIsolateTokens();
    expect(await provider().getAccessToken(record)).toEqual({ accessToken: accessTokenOf(answer), fromCache: true });
    expect(await tokenRequests(mock)).toHaveLength(1);
  });

  it('starts a new request when a flight has outlived its timeout (its request context was lost)', async () => {
    const mock = new Mock();
    const slow = { ...token('slow'), delayMs: 1_000 };
    const next = token('next');
    await mock.on('POST', '/token', slow, next);
    const record = await connectionTo(mock);
    const clock = manualClock();
    const tokens = provider({ now: clock.now, timeoutMs: 5_000 });

    const stuck = tokens.getAccessToken(record);
    clock.advance(5_000 + 10_000 + 1);
    const fresh = await tokens.getAccessToken(record);
    await stuck;
    expect(fresh.fromCache).toBe(false);
    expect(await tokenRequests(mock)).toHaveLength(2);
  });
});

describe('failures', () => {
  it('shares one failed request among concurrent callers and remembers the failure for a few seconds', async () => {
    const mock = new Mock();
    const recovered = token('recovered');
    await mock.on('POST', '/token', { status: 500, body: 'down' }, recovered);
    const record = await connectionTo(mock);
    const clock = manualClock();
    const tokens = provider({ now: clock.now, failureTtlMs: 5_000 });

    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => tokens.getAccessToken(record)));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as TokenEndpointError;
      expect(reason).toBeInstanceOf(TokenEndpointError);
      expect(reason.failure).toEqual({ reason: 'server-error', status: 500 });
    }
    expect(await tokenRequests(mock)).toHaveLength(1);

    clock.advance(4_999);
    await expect(tokens.getAccessToken(record)).rejects.toBeInstanceOf(TokenEndpointError);
    expect(await tokenRequests(mock)).toHaveLength(1);

    clock.advance(1);
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(recovered), fromCache: false });
    expect(await tokenRequests(mock)).toHaveLength(2);
    const stats = await testStore().getTokenStats(record.slug);
    expect(stats).toMatchObject({ fetches: 2, lastError: null });
  });

  it('records the last error with the OAuth error as data', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', { status: 400, json: { error: 'invalid_scope', error_description: 'no such scope' } });
    const record = await connectionTo(mock);
    await expect(provider().getAccessToken(record)).rejects.toBeInstanceOf(TokenEndpointError);
    const stats = await testStore().getTokenStats(record.slug);
    expect(stats).toMatchObject({
      fetches: 1,
      lastError: { code: 'oauth-error', error: 'invalid_scope', errorDescription: 'no such scope', status: 400 },
    });
    expect(await tokenRequests(mock)).toHaveLength(1);
  });

  it('keeps serving a token whose refresh failed until it expires', async () => {
    const mock = new Mock();
    const first = token('kept', 3600);
    await mock.on('POST', '/token', first, { status: 503, body: 'maintenance' });
    const record = await connectionTo(mock);
    const clock = manualClock();
    const tokens = provider({ now: clock.now, failureTtlMs: 5_000 });

    await tokens.getAccessToken(record);
    clock.advance((3600 - 60) * 1000);
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(first), fromCache: true });
    expect(await tokenRequests(mock)).toHaveLength(2);
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(first), fromCache: true });
    expect(await tokenRequests(mock)).toHaveLength(2);

    clock.advance(60_000);
    await expect(tokens.getAccessToken(record)).rejects.toMatchObject({ code: 'token-endpoint-error' });
    expect(await tokenRequests(mock)).toHaveLength(3);
  });

  it('refuses a connection that does not use client credentials', async () => {
    const slug = uniqueSlug('bearer');
    const res = await admin('/api/connections', {
      method: 'POST',
      json: { name: 'Bearer API', slug, baseUrl: 'https://api.acme.example', auth: { method: 'bearer', token: 'static-token-value' } },
    });
    expect(res.status).toBe(201);
    const record = (await testStore().get(slug))!;
    await expect(provider().getAccessToken(record)).rejects.toMatchObject({ code: 'not-oauth-connection', status: 400 });
  });
});

describe('invalidation and edits', () => {
  it('drops a refused token only while it is still the cached one', async () => {
    const mock = new Mock();
    const first = token('refused');
    const second = token('replacement');
    await mock.on('POST', '/token', first, second);
    const record = await connectionTo(mock);
    const tokens = provider();

    expect((await tokens.getAccessToken(record)).accessToken).toBe(accessTokenOf(first));
    await tokens.invalidate(record, 'at-some-older-token');
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(first), fromCache: true });
    expect(await tokenRequests(mock)).toHaveLength(1);

    await tokens.invalidate(record, accessTokenOf(first));
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(second), fromCache: false });
    forgetIsolateTokens();
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(second), fromCache: true });
    expect(await tokenRequests(mock)).toHaveLength(2);
  });

  it('uses a new token after the client secret, the scope or the Token URL is edited through the API', async () => {
    const mock = new Mock();
    const answers = [token('v1'), token('v2'), token('v3')];
    const moved = token('moved');
    await mock.on('POST', '/token', ...answers);
    await mock.on('POST', '/token2', moved);
    let record = await connectionTo(mock);
    const tokens = provider();
    expect((await tokens.getAccessToken(record)).accessToken).toBe(accessTokenOf(answers[0]!));

    // An edit that shapes nothing about the token keeps it.
    const renamed = await admin(`/api/connections/${record.slug}`, {
      method: 'PUT',
      json: { name: 'Renamed', slug: record.slug, baseUrl: 'https://api.acme.example/v3', auth: { ...record.auth, clientSecret: undefined } },
    });
    expect(renamed.status).toBe(200);
    record = (await testStore().get(record.slug))!;
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(answers[0]!), fromCache: true });

    record = await replaceOAuthConnection(record.slug, { clientSecret: SECRET_2, tokenUrl: mock.url('/token'), scope: 'read' });
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(answers[1]!), fromCache: false });

    record = await replaceOAuthConnection(record.slug, { clientSecret: undefined, tokenUrl: mock.url('/token'), scope: 'write' });
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(answers[2]!), fromCache: false });

    record = await replaceOAuthConnection(record.slug, { clientSecret: undefined, tokenUrl: mock.url('/token2'), scope: 'write' });
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(moved), fromCache: false });

    const requests = await tokenRequests(mock);
    expect(requests).toHaveLength(3);
    expect(requests.map((r) => basicCredentials(r.headers.authorization).secret)).toEqual([SECRET, SECRET_2, SECRET_2]);
    expect(requests.map((r) => new URLSearchParams(r.body).get('scope'))).toEqual(['read', 'read', 'write']);
    const toMoved = await tokenRequests(mock, '/token2');
    expect(toMoved).toHaveLength(1);
    expect(basicCredentials(toMoved[0]!.headers.authorization).secret).toBe(SECRET_2);
  });

  it('purges the cached tokens of a deleted connection', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', token('deleted'));
    const record = await connectionTo(mock);
    await provider().getAccessToken(record);
    expect(await dumpKv()).toContain(`token:${record.slug}:`);

    expect((await admin(`/api/connections/${record.slug}`, { method: 'DELETE' })).status).toBe(204);
    expect(await dumpKv()).not.toContain(`token:${record.slug}:`);
    expect(await tokenRequests(mock)).toHaveLength(1);
  });
});
