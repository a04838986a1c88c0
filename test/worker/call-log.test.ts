/**
 * The call log, in workerd against real homes and KV: every relay call, token request and test is
 * recorded with its fields and outcome, batched per isolate, listed newest first with filters and
 * a cursor, summed into stats, kept for the retention, shown in the listing's Summary, and never
 * holds a secret, token or relay key.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, CallListAnswer, StatsAnswer, TestRequestAnswer } from '../../contract/activity';
import { CALL_LOG_MAX_ENTRIES, quantile, type CallInput } from '../../worker/activity/call-store';
import { CALL_BATCH_MAX, flushCalls, recordCall, recorderCounters, REFUSED_PER_BATCH } from '../../worker/activity/recorder';
import { homeOf } from '../../worker/connections/home';
import { admin, call, captureLogs, newRelayKey } from '../support/worker-api';
import { Mock } from '../support/worker-mock';
import { storedRecord } from '../support/worker-homes';
import { uniqueSlug } from '../support/worker-oauth';

const BEARER = 'calllog-bearer-Secret-77';
const API_KEY = 'calllog-apikey-Secret-88';
const CLIENT_SECRET = 'calllog-client-Secret-99';
const relayKeys: string[] = [];
const accessTokens: string[] = [];

async function connection(m: Mock, extra: Record<string, unknown> = {}, auth: Record<string, unknown> = { method: 'bearer', token: BEARER }): Promise<{ slug: string; key: string }> {
  const slug = uniqueSlug('log');
  const res = await admin('/api/connections', { method: 'POST', json: { name: 'Logged', slug, baseUrl: m.url('/v2'), auth, ...extra } });
  expect(res.status, await res.clone().text()).toBe(201);
  const keyRes = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: 'website' } });
  const { key } = (await keyRes.json()) as { key: string };
  relayKeys.push(key);
  return { slug, key };
}

const relayCall = (slug: string, key: string, path: string, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${key}`);
  return call(`/relay/${slug}${path}`, { ...init, headers });
};

/** A relay call's entry as an isolate sends it: a GET answered 200, changed by `overrides`. */
const relayEntry = (overrides: Partial<CallInput> = {}): CallInput => ({
  at: Date.now(), kind: 'relay', method: 'GET', path: '/x', status: 200, upstreamStatus: 200, durationMs: 1, outcome: 'success',
  keyName: null, retried: false, tokenFetched: false, bytesIn: null, bytesOut: null, origin: null, errorCode: null, ...overrides,
});

async function calls(slug: string, query = ''): Promise<CallListAnswer> {
  await flushCalls(env);
  const res = await admin(`/api/connections/${slug}/calls${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

let logs: ReturnType<typeof captureLogs>;
const answers: string[] = [];
beforeAll(() => {
  logs = captureLogs();
});
afterAll(async () => {
  logs.restore();
  const secrets = [BEARER, API_KEY, CLIENT_SECRET, ...relayKeys, ...accessTokens];
  for (const [where, text] of Object.entries({ log: logs.text(), answers: answers.join('\n') })) {
    for (const secret of secrets) expect(text.includes(secret), `${where} holds a secret, token or relay key`).toBe(false);
  }
});

describe('recording relay calls', () => {
  it('records every field of a relay call, query values left out', async () => {
    const m = new Mock();
    const orders = JSON.stringify({ orders: [1, 2, 3] });
    await m.on('GET', '/v2/orders', { body: orders, headers: { 'Content-Type': 'application/json', 'Content-Length': String(orders.length) } });
    const { slug, key } = await connection(m, { relay: { allowedOrigins: ['https://shop.example'] } });
    const res = await relayCall(slug, key, '/orders?limit=5&page=2', { headers: { Origin: 'https://shop.example' } });
    expect(res.status).toBe(200);
    const body = await res.text();
    const { calls: list } = await calls(slug);
    answers.push(JSON.stringify(list));
    expect(list).toHaveLength(1);
    expect(list[0]).toEqual({
      id: expect.stringMatching(/^c_/),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      kind: 'relay',
      method: 'GET',
      path: '/orders?limit=&page=',
      status: 200,
      upstreamStatus: 200,
      durationMs: expect.any(Number),
      outcome: 'success',
      keyName: 'website',
      retried: false,
      tokenFetched: false,
      bytesIn: null,
      // From Content-Length; a streamed answer without one is logged as unknown (null).
      bytesOut: body.length,
      origin: 'https://shop.example',
      errorCode: null,
    });
    const one = await admin(`/api/connections/${slug}/calls/${list[0]!.id}`);
    expect(await one.json()).toEqual(list[0]);
  });

  it('keeps full queries when the connection asks for them, with the API key parameter redacted', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/search', { json: {} });
    const { slug, key } = await connection(m, { log: { fullQuery: true } }, { method: 'api_key', name: 'api_key', value: API_KEY, in: 'query' });
    await relayCall(slug, key, `/search?q=shoes&api_key=${API_KEY}`);
    const [entry] = (await calls(slug)).calls;
    expect(entry!.path).toBe('/search?q=shoes&api_key=[redacted]');
    expect((await m.received()).requests[0]!.rawUrl).toContain(API_KEY);
  });

  it('gives each kind of answer its outcome and problem code', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/missing', { status: 404, json: {} });
    await m.on('GET', '/v2/broken', { status: 503, json: {} });
    const { slug, key } = await connection(m, { relay: { allowedPaths: ['/missing', '/broken'] } });
    expect((await relayCall(slug, key, '/missing')).status).toBe(404);
    expect((await relayCall(slug, key, '/broken')).status).toBe(503);
    expect((await relayCall(slug, key, '/secret-admin')).status).toBe(403);
    expect((await relayCall(slug, 'rk_' + 'W'.repeat(43), '/missing')).status).toBe(401);
    const list = (await calls(slug)).calls;
    const byPath = (path: string, keyName: string | null = 'website') => list.find((c) => c.path === path && c.keyName === keyName)!;
    expect(byPath('/missing')).toMatchObject({ outcome: 'client-error', status: 404, upstreamStatus: 404, errorCode: null });
    expect(byPath('/broken')).toMatchObject({ outcome: 'server-error', status: 503, upstreamStatus: 503 });
    expect(byPath('/secret-admin')).toMatchObject({ outcome: 'refused', status: 403, upstreamStatus: null, errorCode: 'path-not-allowed' });
    expect(byPath('/missing', null)).toMatchObject({ outcome: 'refused', status: 401, errorCode: 'unauthorized', keyName: null });
  });

  it('records an unreachable upstream as a network error', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/gone', { destroy: true });
    const { slug, key } = await connection(m);
    expect((await relayCall(slug, key, '/gone')).status).toBe(502);
    const [entry] = (await calls(slug)).calls;
    expect(entry).toMatchObject({ outcome: 'network-error', status: 502, errorCode: 'upstream-unreachable' });
  });

  it('aggregates refused calls when they flood', async () => {
    const m = new Mock();
    const { slug } = await connection(m);
    await flushCalls(env);
    const before = recorderCounters.batches;
    for (let i = 0; i < 30; i++) await call(`/relay/${slug}/x`, { headers: { Authorization: `Bearer rk_${'F'.repeat(43)}` } });
    await flushCalls(env);
    // Per batch: the first refusals one by one, the rest counted into one entry (a slow machine may
    // see the timed flush split the 30 calls into more than one batch).
    const batches = recorderCounters.batches - before;
    const list = (await calls(slug)).calls;
    const single = list.filter((c) => c.count === undefined);
    const aggregated = list.filter((c) => c.count !== undefined);
    expect(single.length).toBeLessThanOrEqual(REFUSED_PER_BATCH * batches);
    expect(aggregated.length).toBeGreaterThanOrEqual(1);
    expect(aggregated.length).toBeLessThanOrEqual(batches);
    expect(single.length + aggregated.reduce((n, c) => n + c.count!, 0)).toBe(30);
    expect(list.length).toBeLessThan(30);
    const stats = (await (await admin(`/api/connections/${slug}/stats?window=1h`)).json()) as StatsAnswer;
    expect(stats.totals.outcomes.refused).toBe(30);
  });

  it('sends one batch per 500 calls of a connection, and records them all', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ping', { json: {} });
    const { slug, key } = await connection(m);
    await flushCalls(env);
    const before = recorderCounters.batches;
    const started = Date.now();
    const made = CALL_BATCH_MAX + 50;
    for (let i = 0; i < made; i += 25) await Promise.all(Array.from({ length: 25 }, () => relayCall(slug, key, '/ping')));
    // One batch per 500 entries, plus at most one per second that passed (the timed flush).
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(recorderCounters.batches - before).toBeGreaterThanOrEqual(1);
    expect(recorderCounters.batches - before).toBeLessThanOrEqual(Math.floor(made / CALL_BATCH_MAX) + seconds);
    const all: Call[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: CallListAnswer = await calls(slug, `?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...page.calls);
      cursor = page.cursor;
    }
    expect(all).toHaveLength(made);
    expect(new Set(all.map((c) => c.id)).size).toBe(made);
    expect(recorderCounters.batches - before).toBeLessThanOrEqual(Math.ceil(made / CALL_BATCH_MAX) + seconds);
  });

  it('sends the aggregate of refused calls with a full batch, counted in its size', async () => {
    const m = new Mock();
    const { slug } = await connection(m);
    const { id } = (await storedRecord(slug))!;
    await flushCalls(env);
    const sending: Promise<unknown>[] = [];
    const at = Date.now();
    const refused = relayEntry({ at, status: 401, upstreamStatus: null, outcome: 'refused', errorCode: 'unauthorized' });
    const ok = relayEntry({ at });
    // 10 refusals one by one, 5 more in one aggregate, then successes until the batch is full:
    // 10 + 489 entries and the aggregate make 500, the most the home takes in one call.
    const refusedMade = REFUSED_PER_BATCH + 5;
    const okMade = CALL_BATCH_MAX - REFUSED_PER_BATCH - 1;
    const before = recorderCounters.batches;
    for (let i = 0; i < refusedMade; i++) recordCall(env, (p) => void sending.push(p), slug, id, { ...refused });
    for (let i = 0; i < okMade; i++) recordCall(env, (p) => void sending.push(p), slug, id, { ...ok });
    expect(recorderCounters.batches - before).toBe(1);
    await Promise.all(sending);
    const stats = (await (await admin(`/api/connections/${slug}/stats?window=1h`)).json()) as StatsAnswer;
    expect(stats.totals.outcomes.refused).toBe(refusedMade);
    expect(stats.totals.outcomes.success).toBe(okMade);
    expect(stats.totals.total).toBe(refusedMade + okMade);
  });

  it('records token requests, and a relay call that needed one', async () => {
    const m = new Mock();
    const accessToken = `calllog-at-${crypto.randomUUID()}`;
    accessTokens.push(accessToken);
    await m.on('POST', '/token', { json: { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 } });
    await m.on('GET', '/v2/me', { json: {} });
    const { slug, key } = await connection(m, {}, { method: 'oauth2_client_credentials', clientId: 'c', clientSecret: CLIENT_SECRET, tokenUrl: m.url('/token?tenant=a') });
    expect((await relayCall(slug, key, '/me')).status).toBe(200);
    const list = (await calls(slug)).calls;
    answers.push(JSON.stringify(list));
    expect(list.map((c) => c.kind).sort()).toEqual(['relay', 'token']);
    expect(list.find((c) => c.kind === 'token')).toMatchObject({ method: 'POST', path: new URL(m.url('/token')).pathname, outcome: 'success', tokenFetched: true });
    expect(list.find((c) => c.kind === 'relay')).toMatchObject({ tokenFetched: true, outcome: 'success' });
    expect((await admin(`/api/connections/${slug}/test`, { method: 'POST' })).status).toBe(200);
    expect((await calls(slug, '?kind=test')).calls).toHaveLength(1);
  });
});

describe('GET /api/connections/<slug>/calls and stats', () => {
  it('filters by outcome, kind and time, and answers 400 for bad parameters', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ok', { json: {} });
    await m.on('GET', '/v2/nope', { status: 404, json: {} });
    const { slug, key } = await connection(m);
    await relayCall(slug, key, '/ok');
    await relayCall(slug, key, '/nope');
    await relayCall(slug, key, '/ok');
    expect((await calls(slug, '?outcome=success')).calls.map((c) => c.path)).toEqual(['/ok', '/ok']);
    expect((await calls(slug, '?outcome=success&outcome=client-error')).calls).toHaveLength(3);
    expect((await calls(slug, '?kind=token')).calls).toEqual([]);
    expect((await calls(slug, `?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).calls).toEqual([]);
    const newestFirst = (await calls(slug)).calls.map((c) => c.path);
    expect(newestFirst).toEqual(['/ok', '/nope', '/ok']);
    for (const bad of ['?limit=0', '?limit=501', '?outcome=great', '?kind=magic', '?since=yesterday', '?cursor=abc']) {
      const res = await admin(`/api/connections/${slug}/calls${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    }
    expect((await admin(`/api/connections/${slug}/calls/c_unknown`)).status).toBe(404);
    expect((await admin(`/api/connections/${uniqueSlug('none')}/calls`)).status).toBe(404);
    expect((await admin(`/api/connections/${slug}/stats?window=1y`)).status).toBe(400);
  });

  it('answers stats in buckets with counts by outcome and approximate p50 and p95', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ok', { json: {} });
    await m.on('GET', '/v2/nope', { status: 500, json: {} });
    const { slug, key } = await connection(m);
    for (let i = 0; i < 4; i++) await relayCall(slug, key, '/ok');
    await relayCall(slug, key, '/nope');
    await flushCalls(env);
    for (const [window, buckets, seconds] of [['1h', 60, 60], ['24h', 96, 900], ['7d', 84, 7200]] as const) {
      const stats = (await (await admin(`/api/connections/${slug}/stats?window=${window}`)).json()) as StatsAnswer;
      expect(stats.window).toBe(window);
      expect(stats.bucketSeconds).toBe(seconds);
      expect(stats.buckets).toHaveLength(buckets);
      expect(stats.totals).toMatchObject({ total: 5, outcomes: { success: 4, 'server-error': 1 }, errorRate: 0.2 });
      expect(stats.totals.p50Ms).not.toBeNull();
      expect(stats.buckets.reduce((n, b) => n + b.total, 0)).toBe(5);
    }
  });

  it('computes quantiles inside the histogram bucket', () => {
    // Buckets: [0,1) [1,2) [2,5) ...: 10 calls under 1 ms and 10 between 2 and 5 ms.
    const histogram = [10, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(quantile(histogram, 0.5)).toBe(1);
    expect(quantile(histogram, 0.95)).toBe(4.7);
    expect(quantile(histogram.map(() => 0), 0.5)).toBeNull();
  });
});

describe('retention', () => {
  it('keeps calls for the retention days, and at most 10,000 per connection', async () => {
    const m = new Mock();
    const { slug } = await connection(m, { log: { retainDays: 1 } });
    const home = homeOf(env, slug);
    const entry = (at: number) => relayEntry({ at, durationMs: 3 });
    const now = Date.now();
    expect(await home.appendCalls(slug, [entry(now - 2 * 86_400_000), entry(now)], null)).toBe(2);
    expect((await calls(slug)).calls).toHaveLength(1);
    const count = () => runInDurableObject(home, (_h, state) => state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM calls').one().n);
    expect(await count()).toBe(1);
    // An entry past the retention that arrives after a newer one is never answered, by the listing or by its id.
    expect(await home.appendCalls(slug, [entry(now + 1), entry(now - 3 * 86_400_000)], null)).toBe(2);
    const listed = (await calls(slug)).calls;
    expect(listed.map((c) => c.at)).toEqual([new Date(now + 1).toISOString(), new Date(now).toISOString()]);
    const newest = Number.parseInt(listed[0]!.id.slice(2), 36);
    expect((await admin(`/api/connections/${slug}/calls/c_${(newest + 1).toString(36)}`)).status).toBe(404);
    expect((await admin(`/api/connections/${slug}/calls/${listed[0]!.id}`)).status).toBe(200);
    for (let i = 0; i < 21; i++) await home.appendCalls(slug, Array.from({ length: 500 }, (_, j) => entry(now + i * 500 + j)), null);
    expect(await count()).toBe(CALL_LOG_MAX_ENTRIES);
    // Entries that fail validation are dropped, not stored.
    expect(await home.appendCalls(slug, [{ ...entry(now), outcome: 'great' }, { ...entry(now), path: 'x'.repeat(5000) }], null)).toBe(0);
  });

  it('drops every entry that is not a Call, and keeps nothing but the fields of a Call', async () => {
    const m = new Mock();
    const { slug } = await connection(m);
    const home = homeOf(env, slug);
    const good: CallInput = {
      at: Date.now(), kind: 'relay', method: 'GET', path: '/ok', status: 200, upstreamStatus: null, durationMs: 2.5, outcome: 'success',
      keyName: 'k', retried: false, tokenFetched: true, bytesIn: 0, bytesOut: null, origin: null, errorCode: null,
    };
    const bad: unknown[] = [
      null, 'entry', [], { ...good, at: -1 }, { ...good, at: 1.5 }, { ...good, kind: 'other' }, { ...good, method: 'M'.repeat(17) },
      { ...good, status: 1000 }, { ...good, upstreamStatus: '200' }, { ...good, durationMs: -1 }, { ...good, durationMs: Number.NaN },
      { ...good, outcome: 'great' }, { ...good, keyName: 'k'.repeat(101) }, { ...good, retried: 'no' }, { ...good, bytesIn: -3 },
      { ...good, origin: 5 }, { ...good, errorCode: 'e'.repeat(65) }, { ...good, count: 0 }, { ...good, feedId: 'f'.repeat(65) },
      { ...good, trigger: 7 }, { ...good, path: undefined },
      // From the future: past the clock's margin, or past the last date there is.
      { ...good, at: good.at + 86_400_000 }, { ...good, at: 9e15 },
    ];
    expect(await home.appendCalls(slug, [...bad, { ...good, secret: 'never-stored-9f2c', extra: { a: 1 } }], null)).toBe(1);
    const listed = (await calls(slug)).calls;
    expect(listed).toHaveLength(1);
    const { id, ...stored } = listed[0]!;
    expect(id).toMatch(/^c_[0-9a-z]{1,10}$/);
    expect(stored).toEqual({ ...good, at: new Date(good.at).toISOString() });
    const rows = await runInDurableObject(home, (_h, state) => state.storage.sql.exec('SELECT * FROM calls').toArray());
    expect(JSON.stringify(rows)).not.toContain('never-stored-9f2c');
  });

  it('stores a batch in its order, each entry with its own id', async () => {
    const m = new Mock();
    const { slug } = await connection(m);
    const home = homeOf(env, slug);
    const now = Date.now();
    const batch = Array.from({ length: 120 }, (_, i) => relayEntry({ at: now, path: `/p${i}` }));
    expect(await home.appendCalls(slug, batch, null)).toBe(120);
    expect(await home.appendCalls(slug, batch.slice(0, 3), null)).toBe(3);
    const listed = (await admin(`/api/connections/${slug}/calls?limit=200`).then((r) => r.json())) as { calls: { id: string; path: string }[] };
    expect(listed.calls.map((c) => c.path)).toEqual([...['/p2', '/p1', '/p0'], ...batch.map((e) => e.path).reverse()]);
    expect(new Set(listed.calls.map((c) => c.id)).size).toBe(123);
  });

  it('removes the log with the connection; a re-created slug starts empty', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ping', { json: {} });
    const { slug, key } = await connection(m);
    await relayCall(slug, key, '/ping');
    expect((await calls(slug)).calls).toHaveLength(1);
    expect((await admin(`/api/connections/${slug}`, { method: 'DELETE' })).status).toBe(204);
    expect((await admin('/api/connections', { method: 'POST', json: { name: 'Again', slug, baseUrl: m.url('/v2'), auth: { method: 'none' } } })).status).toBe(201);
    expect((await calls(slug)).calls).toEqual([]);
    const stats = (await (await admin(`/api/connections/${slug}/stats?window=1h`)).json()) as StatsAnswer;
    expect(stats.totals.total).toBe(0);
  });
});

describe('a re-created slug', () => {
  it('never receives the calls of the connection deleted before it, still buffered in an isolate', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ping', { json: {} });
    const { slug, key } = await connection(m);
    const old = (await storedRecord(slug))!;
    await flushCalls(env);
    // Answered, its entry waiting in this isolate's buffer (the timed flush runs a second later).
    expect((await relayCall(slug, key, '/ping')).status).toBe(200);
    expect((await admin(`/api/connections/${slug}`, { method: 'DELETE' })).status).toBe(204);
    expect((await admin('/api/connections', { method: 'POST', json: { name: 'Again', slug, baseUrl: m.url('/v2'), auth: { method: 'none' } } })).status).toBe(201);
    const again = (await storedRecord(slug))!;
    expect(again.id).not.toBe(old.id);
    expect((await calls(slug)).calls).toEqual([]);
    const stats = (await (await admin(`/api/connections/${slug}/stats?window=1h`)).json()) as StatsAnswer;
    expect(stats.totals.total).toBe(0);
    // The home's own check: a batch names the connection it was made for.
    const entry = relayEntry({ path: '/ping' });
    const home = homeOf(env, slug);
    expect(await home.appendCalls(slug, [entry], old.id)).toBe(0);
    expect(await home.appendCalls(slug, [entry], again.id)).toBe(1);
    expect((await calls(slug)).calls).toHaveLength(1);
  });
});

describe('an isolate buffering calls of two connections of one slug', () => {
  it('sends what waits for the old one apart, so that only the new one is logged', async () => {
    const m = new Mock();
    const { slug } = await connection(m);
    const old = (await storedRecord(slug))!;
    expect((await admin(`/api/connections/${slug}`, { method: 'DELETE' })).status).toBe(204);
    expect((await admin('/api/connections', { method: 'POST', json: { name: 'Again', slug, baseUrl: m.url('/v2'), auth: { method: 'none' } } })).status).toBe(201);
    const again = (await storedRecord(slug))!;
    await flushCalls(env);
    const sending: Promise<unknown>[] = [];
    const before = recorderCounters.batches;
    recordCall(env, (p) => void sending.push(p), slug, old.id, relayEntry({ path: '/old' }));
    recordCall(env, (p) => void sending.push(p), slug, again.id, relayEntry({ path: '/new' }));
    // The old connection's entry went at once, in a batch of its own.
    expect(recorderCounters.batches - before).toBe(1);
    await Promise.all(sending);
    expect((await calls(slug)).calls.map((c) => c.path)).toEqual(['/new']);
  });
});

describe('the listing', () => {
  it("shows each connection's last call, calls in 24 h and error rate from its Summary", async () => {
    const m = new Mock();
    await m.on('GET', '/v2/ok', { json: {} });
    await m.on('GET', '/v2/bad', { status: 500, json: {} });
    const { slug, key } = await connection(m);
    const summary = async () => ((await (await admin(`/api/connections?q=${slug}`)).json()) as { connections: Record<string, unknown>[] }).connections[0];
    await relayCall(slug, key, '/ok');
    await flushCalls(env);
    // Written with the connection a moment ago: the figures wait for the next minute.
    expect(await summary()).toMatchObject({ calls24h: 0, lastCallAt: null });
    await runInDurableObject(homeOf(env, slug), (home) => {
      const later = Date.now() + 61_000;
      home.clock = () => later;
    });
    await relayCall(slug, key, '/bad');
    await flushCalls(env);
    expect(await summary()).toMatchObject({ slug, calls24h: 2, errorRate24h: 0.5, lastCallAt: expect.stringMatching(/^\d{4}-/) });
  });
});

describe('POST /api/connections/<slug>/request', () => {
  it('sends one request through the relay core with the credentials and logs it as a test', async () => {
    const m = new Mock();
    await m.on('POST', '/v2/orders', { status: 201, headers: { 'X-Order': '7' }, json: { id: 7 } });
    const { slug } = await connection(m);
    const res = await admin(`/api/connections/${slug}/request`, {
      method: 'POST',
      json: { method: 'POST', path: '/orders', query: [{ name: 'dry', value: 'yes' }], headers: [{ name: 'X-Trace', value: 't1' }], body: '{"item":1}' },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    answers.push(text);
    const answer = JSON.parse(text) as TestRequestAnswer;
    expect(answer).toMatchObject({ status: 201, body: '{"id":7}', truncated: false });
    expect(answer.headers).toContainEqual(['x-order', '7']);
    // As a caller would receive it: without the connection headers the runtime writes itself.
    const names = answer.headers.map(([name]) => name);
    expect(names).toContain('content-type');
    for (const owned of ['connection', 'keep-alive', 'transfer-encoding']) expect(names).not.toContain(owned);
    expect(answer.token).toBeUndefined();
    const [received] = (await m.received()).requests;
    expect(received).toMatchObject({ method: 'POST', rawUrl: '/v2/orders?dry=yes', body: '{"item":1}' });
    expect(received!.headers.authorization).toBe(`Bearer ${BEARER}`);
    expect(received!.headers['x-trace']).toBe('t1');
    const [logged] = (await calls(slug)).calls;
    expect(logged).toMatchObject({ kind: 'test', method: 'POST', path: '/orders?dry=', status: 201, outcome: 'success' });
  });

  it('shows the token step of an OAuth connection without the token, and the relay policy refusal as a problem', async () => {
    const m = new Mock();
    const accessToken = `calllog-at-${crypto.randomUUID()}`;
    accessTokens.push(accessToken);
    await m.on('POST', '/token', { json: { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 } });
    await m.on('GET', '/v2/me', { json: { me: true } });
    const { slug } = await connection(m, { relay: { allowedPaths: ['/me'] } }, { method: 'oauth2_client_credentials', clientId: 'c', clientSecret: CLIENT_SECRET, tokenUrl: m.url('/token') });
    const first = (await (await admin(`/api/connections/${slug}/request`, { method: 'POST', json: { method: 'GET', path: '/me' } })).json()) as TestRequestAnswer;
    answers.push(JSON.stringify(first));
    expect(first).toMatchObject({ status: 200, token: { fetched: true, durationMs: expect.any(Number) } });
    const second = (await (await admin(`/api/connections/${slug}/request`, { method: 'POST', json: { method: 'GET', path: '/me' } })).json()) as TestRequestAnswer;
    expect(second.token).toMatchObject({ fetched: false });
    const refused = (await (await admin(`/api/connections/${slug}/request`, { method: 'POST', json: { method: 'GET', path: '/admin' } })).json()) as TestRequestAnswer;
    expect(refused).toMatchObject({ status: 403, problem: { code: 'path-not-allowed' } });
    const unsafe = (await (await admin(`/api/connections/${slug}/request`, { method: 'POST', json: { method: 'GET', path: '/%2e%2e/admin' } })).json()) as TestRequestAnswer;
    expect(unsafe).toMatchObject({ status: 400, problem: { code: 'unsafe-path' } });
    expect((await m.received()).requests.filter((r) => r.path !== '/token').map((r) => r.path)).toEqual(['/v2/me', '/v2/me']);
  });

  it('answers 400 for bad input and sends nothing', async () => {
    const m = new Mock();
    const { slug } = await connection(m);
    for (const body of [{ method: 'TRACE', path: '/x' }, { method: 'GET', path: 'x' }, { method: 'GET', path: '/x?y=1' }, { method: 'GET', path: '/x', body: 'no' }, { method: 'GET', path: '/x', headers: [{ name: 'X', value: 'a\r\nb' }] }]) {
      const res = await admin(`/api/connections/${slug}/request`, { method: 'POST', json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await m.received()).requests).toEqual([]);
  });
});
