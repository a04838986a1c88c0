/**
 * The token cache against the mock token endpoint and real local KV: single flight, refresh ahead
 * of expiry, the negative cache, invalidation (and its limits against an upstream that refuses every
 * token), KV reuse across isolates, bookkeeping in the background, flights that outlive a purge or
 * an edit, and cache keys that follow every edit of a connection.
 */
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoredConnection } from '../../worker/connections/store';
import { TokenCache, TokenIsolateState, TOKEN_MIN_AGE_BEFORE_INVALIDATE_SECONDS } from '../../worker/oauth/token-cache';
import { TokenEndpointError } from '../../worker/oauth/token-client';
import { createTokenProvider, type TokenProvider, type TokenProviderOptions } from '../../worker/oauth/token-provider';
import { admin, captureLogs, dumpKv } from '../support/worker-api';
import { Mock, type MockResponse } from '../support/worker-mock';
import {
  basicCredentials,
  countingKv,
  createOAuthConnection,
  deferred,
  expectNoSecrets,
  gatedFetch,
  gatedKv,
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

/** Bookkeeping the providers of this file handed to `waitUntil`. */
const background: Promise<unknown>[] = [];
const waitUntil = (promise: Promise<unknown>) => void background.push(promise);
/** Waits for every KV write handed to `waitUntil` so far. */
async function settled(): Promise<void> {
  while (background.length > 0) await Promise.all(background.splice(0));
}

const provider = (options: TokenProviderOptions = {}) => createTokenProvider(testStore(), env, { waitUntil, ...options });
/** A provider in a freshly started isolate: nothing in memory, KV shared. */
const otherIsolate = (options: TokenProviderOptions = {}) => provider({ state: new TokenIsolateState(), ...options });
const sleep = (ms: number) => new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms));
const MIN_AGE_MS = TOKEN_MIN_AGE_BEFORE_INVALIDATE_SECONDS * 1000;

/**
 * One relay call to an upstream that answers 401 to every token, as the relay's forward step
 * handles it: a cached token is invalidated and, if a different one comes, sent once more.
 * Returns the tokens sent upstream.
 */
async function refusedRelayCall(tokens: TokenProvider, record: StoredConnection): Promise<string[]> {
  const first = await tokens.getAccessToken(record);
  if (!first.fromCache) return [first.accessToken];
  await tokens.invalidate(record, first.accessToken);
  const fresh = await tokens.getAccessToken(record);
  return fresh.accessToken === first.accessToken ? [first.accessToken] : [first.accessToken, fresh.accessToken];
}

let logs: ReturnType<typeof captureLogs>;
beforeAll(() => {
  logs = captureLogs();
});
afterAll(async () => {
  await settled();
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
    await settled();
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
    const tokens = createTokenProvider(testStore(kv), env, { waitUntil });

    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(answer), fromCache: false });
    await settled();
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
    await settled();

    expect(await otherIsolate().getAccessToken(record)).toEqual({ accessToken: accessTokenOf(answer), fromCache: true });
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
    await settled();
    const stats = await testStore().getTokenStats(record.slug);
    expect(stats).toMatchObject({ fetches: 2, lastError: null });
  });

  it('records the last error with the OAuth error as data', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', { status: 400, json: { error: 'invalid_scope', error_description: 'no such scope' } });
    const record = await connectionTo(mock);
    await expect(provider().getAccessToken(record)).rejects.toBeInstanceOf(TokenEndpointError);
    await settled();
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
    const clock = manualClock();
    const tokens = provider({ now: clock.now });

    expect((await tokens.getAccessToken(record)).accessToken).toBe(accessTokenOf(first));
    clock.advance(MIN_AGE_MS);
    await tokens.invalidate(record, 'at-some-older-token');
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(first), fromCache: true });
    expect(await tokenRequests(mock)).toHaveLength(1);

    await tokens.invalidate(record, accessTokenOf(first));
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(second), fromCache: false });
    await settled();
    expect(await otherIsolate({ now: clock.now }).getAccessToken(record)).toEqual({ accessToken: accessTokenOf(second), fromCache: true });
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
    await settled();
    expect(await dumpKv()).toContain(`token:${record.slug}:`);

    expect((await admin(`/api/connections/${record.slug}`, { method: 'DELETE' })).status).toBe(204);
    expect(await dumpKv()).not.toContain(`token:${record.slug}:`);
    expect(await tokenRequests(mock)).toHaveLength(1);
  });
});

describe('an upstream that refuses every token', () => {
  it('keeps a token younger than the minimum age, so refused relay calls request no new token', async () => {
    const mock = new Mock();
    const first = token('young');
    const second = token('old-enough');
    await mock.on('POST', '/token', first, second, token('third'));
    const record = await connectionTo(mock);
    const clock = manualClock();
    const { kv, total } = countingKv();
    const tokens = createTokenProvider(testStore(kv), env, { now: clock.now, waitUntil });

    // The cold call fetches (no retry on a fresh token); six more within the window send the same token.
    expect(await refusedRelayCall(tokens, record)).toEqual([accessTokenOf(first)]);
    await settled();
    const kvOperations = total();
    for (let i = 0; i < 6; i++) {
      clock.advance(4_000);
      expect(await refusedRelayCall(tokens, record)).toEqual([accessTokenOf(first)]);
    }
    expect(await tokenRequests(mock)).toHaveLength(1);
    expect(total()).toBe(kvOperations);

    // Once the token is old enough, one call replaces it; the rest of the window keeps the new one.
    clock.advance(MIN_AGE_MS - 6 * 4_000);
    expect(await refusedRelayCall(tokens, record)).toEqual([accessTokenOf(first), accessTokenOf(second)]);
    for (let i = 0; i < 6; i++) {
      clock.advance(4_000);
      expect(await refusedRelayCall(tokens, record)).toEqual([accessTokenOf(second)]);
    }
    expect(await tokenRequests(mock)).toHaveLength(2);
  });

  it('replaces an old token once for many concurrent refused calls', async () => {
    const mock = new Mock();
    const first = token('shared-old');
    const second = token('shared-new');
    await mock.on('POST', '/token', first, second, token('never'));
    const record = await connectionTo(mock);
    const clock = manualClock();
    const tokens = provider({ now: clock.now });

    await tokens.getAccessToken(record);
    clock.advance(MIN_AGE_MS);
    const sent = await Promise.all(Array.from({ length: 20 }, () => refusedRelayCall(tokens, record)));
    expect(sent.every((tokensSent) => tokensSent.at(-1) === accessTokenOf(second))).toBe(true);
    expect(await tokenRequests(mock)).toHaveLength(2);
  });

  it('never reloads a dropped token from KV while its delete is under way', async () => {
    const mock = new Mock();
    const dropped = token('being-deleted');
    const next = token('next-one');
    await mock.on('POST', '/token', dropped, next);
    const record = await connectionTo(mock);
    const clock = manualClock();
    const tokens = provider({ now: clock.now });

    await tokens.getAccessToken(record);
    await settled();
    clock.advance(MIN_AGE_MS);
    const dropping = tokens.invalidate(record, accessTokenOf(dropped));
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(next), fromCache: false });
    await dropping;
    expect(await tokenRequests(mock)).toHaveLength(2);
  });

  it('drops a connection’s token at most once per window, even when the next one is old too', async () => {
    const mock = new Mock();
    const first = token('dropped');
    const fromElsewhere = token('from-another-isolate');
    await mock.on('POST', '/token', first, fromElsewhere, token('never'));
    const record = await connectionTo(mock);
    const clock = manualClock();
    const tokens = provider({ now: clock.now });

    await tokens.getAccessToken(record);
    await settled();
    clock.advance(MIN_AGE_MS);
    await tokens.invalidate(record, accessTokenOf(first));

    // Another isolate, whose token is already older than the minimum age, fills KV again.
    const elsewhere = manualClock();
    elsewhere.advance(-MIN_AGE_MS);
    expect(await otherIsolate({ now: elsewhere.now }).getAccessToken(record)).toEqual({ accessToken: accessTokenOf(fromElsewhere), fromCache: false });
    await settled();

    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(fromElsewhere), fromCache: true });
    await tokens.invalidate(record, accessTokenOf(fromElsewhere));
    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(fromElsewhere), fromCache: true });
    expect(await tokenRequests(mock)).toHaveLength(2);

    clock.advance(MIN_AGE_MS);
    await tokens.invalidate(record, accessTokenOf(fromElsewhere));
    expect((await tokens.getAccessToken(record)).fromCache).toBe(false);
    expect(await tokenRequests(mock)).toHaveLength(3);
  });
});

describe('bookkeeping', () => {
  it('hands out a new token before its KV writes finish, and gives them to waitUntil', async () => {
    const mock = new Mock();
    const answer = token('quick');
    await mock.on('POST', '/token', answer);
    const record = await connectionTo(mock);
    const gate = deferred();
    const pending: Promise<unknown>[] = [];
    const tokens = createTokenProvider(testStore(gatedKv(gate.promise)), env, { waitUntil: (p) => void pending.push(p) });

    expect(await Promise.race([tokens.getAccessToken(record), sleep(1_000)])).toEqual({ accessToken: accessTokenOf(answer), fromCache: false });
    expect(pending).toHaveLength(1);
    expect(await dumpKv()).not.toContain(`token:${record.slug}:`);

    gate.resolve();
    await Promise.all(pending);
    expect(await dumpKv()).toContain(`token:${record.slug}:`);
    expect(await testStore().getTokenStats(record.slug)).toMatchObject({ fetches: 1, lastError: null });
  });

  it('answers a failed token request before its statistics are written', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', { status: 400, json: { error: 'invalid_client' } });
    const record = await connectionTo(mock);
    const gate = deferred();
    const pending: Promise<unknown>[] = [];
    const tokens = createTokenProvider(testStore(gatedKv(gate.promise)), env, { waitUntil: (p) => void pending.push(p) });

    const outcome = await Promise.race([tokens.getAccessToken(record).catch((e: unknown) => e), sleep(1_000)]);
    expect(outcome).toBeInstanceOf(TokenEndpointError);
    expect(pending).toHaveLength(1);
    gate.resolve();
    await Promise.all(pending);
    expect(await testStore().getTokenStats(record.slug)).toMatchObject({ fetches: 1, lastError: { error: 'invalid_client' } });
  });

  it.each([
    ['without waitUntil', {}],
    ['when waitUntil throws (no execution context)', { waitUntil: () => { throw new Error('no execution context'); } }],
  ] as [string, TokenProviderOptions][])('still writes the token to KV %s', async (_case, options) => {
    const mock = new Mock();
    await mock.on('POST', '/token', token('on-its-own'));
    const record = await connectionTo(mock);
    expect((await createTokenProvider(testStore(), env, options).getAccessToken(record)).fromCache).toBe(false);
    await vi.waitFor(async () => expect(await dumpKv()).toContain(`token:${record.slug}:`));
    await vi.waitFor(async () => expect((await testStore().getTokenStats(record.slug)).fetches).toBe(1));
  });

  it('times "Test connection" by its token request alone, and waits for its KV writes', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', token('tested'), { status: 400, json: { error: 'invalid_scope' } });
    const record = await connectionTo(mock);
    const HELD_MS = 400;
    for (const ok of [true, false]) {
      const gate = deferred();
      const started = Date.now();
      setTimeout(() => gate.resolve(), HELD_MS);
      const outcome = await new TokenCache(testStore(gatedKv(gate.promise)), env).test(record);
      expect(outcome.ok).toBe(ok);
      expect(Date.now() - started).toBeGreaterThanOrEqual(HELD_MS);
      expect(outcome.durationMs).toBeLessThan(HELD_MS);
    }
    expect(await testStore().getTokenStats(record.slug)).toMatchObject({ fetches: 2, lastError: { error: 'invalid_scope' } });
  });
});

describe('flights', () => {
  it('gives a caller that joins a flight its own deadline', async () => {
    const mock = new Mock();
    const late = token('late');
    await mock.on('POST', '/token', late);
    const record = await connectionTo(mock);
    const gate = deferred();
    const state = new TokenIsolateState();
    const started = provider({ state, fetch: gatedFetch(gate.promise) }).getAccessToken(record);

    const before = Date.now();
    const joined = await Promise.race([provider({ state, timeoutMs: 300 }).getAccessToken(record).catch((e: unknown) => e), sleep(2_000)]);
    expect(joined).toBeInstanceOf(TokenEndpointError);
    expect(joined).toMatchObject({ code: 'token-endpoint-timeout', status: 504 });
    expect(Date.now() - before).toBeLessThan(2_000);

    gate.resolve();
    expect(await started).toEqual({ accessToken: accessTokenOf(late), fromCache: false });
    expect(await tokenRequests(mock)).toHaveLength(1);
  });

  it('lets a flight that started before a purge answer its callers but write nothing back', async () => {
    const mock = new Mock();
    const beforePurge = token('before-purge');
    const afterPurge = token('after-purge');
    await mock.on('POST', '/token', beforePurge, afterPurge);
    const record = await connectionTo(mock);
    const gate = deferred();
    const state = new TokenIsolateState();
    const running = provider({ state, fetch: gatedFetch(gate.promise) }).getAccessToken(record);

    await new TokenCache(testStore(), env, { state }).purge(record.slug);
    gate.resolve();
    expect(await running).toEqual({ accessToken: accessTokenOf(beforePurge), fromCache: false });
    await settled();
    expect(await dumpKv()).not.toContain(`token:${record.slug}:`);
    expect(await provider({ state }).getAccessToken(record)).toEqual({ accessToken: accessTokenOf(afterPurge), fromCache: false });
    expect(await tokenRequests(mock)).toHaveLength(2);
  });

  it('takes back a token whose KV write was still under way when the connection was purged', async () => {
    const mock = new Mock();
    const answer = token('written-late');
    await mock.on('POST', '/token', answer);
    const record = await connectionTo(mock);
    const gate = deferred();
    const state = new TokenIsolateState();
    const pending: Promise<unknown>[] = [];
    const tokens = createTokenProvider(testStore(gatedKv(gate.promise)), env, { state, waitUntil: (p) => void pending.push(p) });

    expect(await tokens.getAccessToken(record)).toEqual({ accessToken: accessTokenOf(answer), fromCache: false });
    await new TokenCache(testStore(), env, { state }).purge(record.slug);
    gate.resolve();
    await Promise.all(pending);
    expect(await dumpKv()).not.toContain(`token:${record.slug}:`);
  });

  it('keeps the token of the new settings when a flight for the old ones ends after an edit', async () => {
    const mock = new Mock();
    const oldSettings = token('old-settings');
    const newSettings = token('new-settings');
    await mock.on('POST', '/token', oldSettings);
    await mock.on('POST', '/token2', newSettings);
    const record = await connectionTo(mock);
    const gate = deferred();
    const state = new TokenIsolateState();
    const old = provider({ state, fetch: gatedFetch(gate.promise) }).getAccessToken(record);

    const edited = await replaceOAuthConnection(record.slug, { clientSecret: undefined, tokenUrl: mock.url('/token2'), scope: 'read' });
    expect(await provider({ state }).getAccessToken(edited)).toEqual({ accessToken: accessTokenOf(newSettings), fromCache: false });
    gate.resolve();
    expect(await old).toEqual({ accessToken: accessTokenOf(oldSettings), fromCache: false });

    const { kv, total } = countingKv();
    expect(await createTokenProvider(testStore(kv), env, { state }).getAccessToken(edited)).toEqual({ accessToken: accessTokenOf(newSettings), fromCache: true });
    expect(total()).toBe(0);
    expect(await tokenRequests(mock)).toHaveLength(1);
    expect(await tokenRequests(mock, '/token2')).toHaveLength(1);
  });

  it('keeps the remembered failure of the new settings when a flight for the old ones succeeds after an edit', async () => {
    const mock = new Mock();
    const oldSettings = token('old-ok');
    await mock.on('POST', '/token', oldSettings);
    await mock.on('POST', '/token2', { status: 500, body: 'down' }, token('too-early'));
    const record = await connectionTo(mock);
    const gate = deferred();
    const state = new TokenIsolateState();
    const old = provider({ state, fetch: gatedFetch(gate.promise) }).getAccessToken(record);

    const edited = await replaceOAuthConnection(record.slug, { clientSecret: undefined, tokenUrl: mock.url('/token2'), scope: 'read' });
    await expect(provider({ state }).getAccessToken(edited)).rejects.toMatchObject({ failure: { reason: 'server-error' } });
    gate.resolve();
    expect(await old).toEqual({ accessToken: accessTokenOf(oldSettings), fromCache: false });

    await expect(provider({ state }).getAccessToken(edited)).rejects.toMatchObject({ failure: { reason: 'server-error' } });
    expect(await tokenRequests(mock, '/token2')).toHaveLength(1);
  });
});
