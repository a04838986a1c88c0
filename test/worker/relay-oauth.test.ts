/**
 * The relay with OAuth 2.0 client-credentials connections: the token arrives upstream, a token
 * refused with 401 is replaced, whatever its age, and the request retried exactly once, and token endpoint
 * failures become the relay's own problems without echoing the endpoint's answer.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Mock, type RecordedRequest } from '../support/worker-mock';
import { admin, captureLogs, relayCall } from '../support/worker-api';

const CLIENT_SECRET = 'relay-oauth-client-secret-%&+ é';
let counter = 0;

function tokenAnswer(accessToken: string) {
  return { json: { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 } };
}

async function connect(m: Mock): Promise<{ slug: string; key: string }> {
  const slug = `oauth-${Date.now().toString(36)}-${counter++}`;
  const created = await admin('/api/connections', {
    method: 'POST',
    json: {
      name: 'OAuth relay',
      slug,
      baseUrl: m.url('/v2'),
      auth: { method: 'oauth2_client_credentials', clientId: 'relay-client', clientSecret: CLIENT_SECRET, tokenUrl: m.url('/oauth/token'), scope: 'orders' },
    },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const keyRes = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: 'oauth' } });
  return { slug, key: ((await keyRes.json()) as { key: string }).key };
}

async function traffic(m: Mock): Promise<{ token: RecordedRequest[]; upstream: RecordedRequest[] }> {
  const { requests, unexpected } = await m.received();
  expect(unexpected).toEqual([]);
  return { token: requests.filter((r) => r.path === '/oauth/token'), upstream: requests.filter((r) => r.path !== '/oauth/token') };
}

/** A body of unknown length (no Content-Length), as a chunked upload. */
function streamOf(text: string, chunkSize = 64 * 1024): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunkSize));
      at += chunkSize;
    },
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('relay with OAuth 2.0 client credentials', () => {
  it('sends the access token from the token endpoint and never the client secret', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('access-token-one'));
    await m.on('GET', '/v2/orders', { json: { orders: [] } });
    const { slug, key } = await connect(m);
    const logs = captureLogs();
    let text: string;
    try {
      const res = await relayCall(slug, key, '/orders?limit=5');
      expect(res.status).toBe(200);
      text = await res.text();
      expect((await relayCall(slug, key, '/orders?limit=5')).status).toBe(200);
    } finally {
      logs.restore();
    }
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(1);
    expect(upstream.map((r) => r.headers.authorization)).toEqual(['Bearer access-token-one', 'Bearer access-token-one']);
    expect(upstream[0]!.rawUrl).toBe('/v2/orders?limit=5');
    expect(JSON.stringify(upstream)).not.toContain('relay-oauth-client-secret');
    for (const out of [text, logs.text()]) {
      expect(out).not.toContain('access-token-one');
      expect(out).not.toContain('relay-oauth-client-secret');
      expect(out).not.toContain(key);
    }
  });

  it('replaces a cached token refused with 401 and retries once with the same body', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('stale-token'), tokenAnswer('fresh-token'));
    await m.on('POST', '/v2/orders', { status: 201, json: { n: 1 } }, { status: 401, json: { error: 'invalid_token' } }, { status: 201, json: { n: 2 } });
    const { slug, key } = await connect(m);
    expect((await relayCall(slug, key, '/orders', { method: 'POST', body: '{"first":true}', headers: { 'Content-Type': 'application/json' } })).status).toBe(201);

    const res = await relayCall(slug, key, '/orders', { method: 'POST', body: '{"second":true}', headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ n: 2 });
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(2);
    expect(upstream.map((r) => r.headers.authorization)).toEqual(['Bearer stale-token', 'Bearer stale-token', 'Bearer fresh-token']);
    expect(upstream.map((r) => r.body)).toEqual(['{"first":true}', '{"second":true}', '{"second":true}']);
    expect(upstream[2]!.headers['content-type']).toBe('application/json');
  });

  it('answers the second 401 as it is when the new token is refused too, without looping', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('token-a'), tokenAnswer('token-b'), tokenAnswer('token-c'));
    await m.on('GET', '/v2/me', { json: {} }, { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' }, json: { error: 'nope' } });
    const { slug, key } = await connect(m);
    expect((await relayCall(slug, key, '/me')).status).toBe(200);
    const res = await relayCall(slug, key, '/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    expect(await res.json()).toEqual({ error: 'nope' });
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(2);
    expect(upstream).toHaveLength(3);
  });

  it('retries a 401 to a token fetched for this very request once, with a fresh token', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('brand-new'), tokenAnswer('another'));
    await m.on('GET', '/v2/me', { status: 401, json: {} }, { json: { me: true } });
    const { slug, key } = await connect(m);
    expect((await relayCall(slug, key, '/me')).status).toBe(200);
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(2);
    expect(upstream.map((r) => r.headers.authorization)).toEqual(['Bearer brand-new', 'Bearer another']);
  });

  it('never retries a 403', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('t1'), tokenAnswer('t2'));
    await m.on('GET', '/v2/admin', { json: {} }, { status: 403, json: { error: 'insufficient_scope' } });
    const { slug, key } = await connect(m);
    expect((await relayCall(slug, key, '/admin')).status).toBe(200);
    expect((await relayCall(slug, key, '/admin')).status).toBe(403);
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(1);
    expect(upstream).toHaveLength(2);
  });

  it('does not retry a request whose body is larger than 1 MiB, and streams that body whole', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('t1'), tokenAnswer('t2'));
    await m.on('POST', '/v2/upload', { json: {} }, { status: 401, json: {} });
    const { slug, key } = await connect(m);
    expect((await relayCall(slug, key, '/upload', { method: 'POST', body: 'warm' })).status).toBe(200);
    const big = 'z'.repeat(1024 * 1024 + 1);
    expect((await relayCall(slug, key, '/upload', { method: 'POST', body: big })).status).toBe(401);
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(1);
    expect(upstream).toHaveLength(2);
    expect(upstream[1]!.body.length).toBe(big.length);
  });

  it('replays a small body of unknown length, and streams a large one of unknown length without a retry', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('t1'), tokenAnswer('t2'), tokenAnswer('t3'));
    await m.on('PUT', '/v2/doc', { json: {} }, { status: 401, json: {} }, { json: { saved: true } }, { status: 401, json: {} });
    const { slug, key } = await connect(m);
    expect((await relayCall(slug, key, '/doc', { method: 'PUT', body: 'warm' })).status).toBe(200);
    const small = 'small body '.repeat(1000);
    expect((await relayCall(slug, key, '/doc', { method: 'PUT', body: streamOf(small) })).status).toBe(200);
    const large = 'L'.repeat(1024 * 1024 + 70 * 1024);
    expect((await relayCall(slug, key, '/doc', { method: 'PUT', body: streamOf(large) })).status).toBe(401);
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(2);
    expect(upstream.map((r) => r.body.length)).toEqual([4, small.length, small.length, large.length]);
    expect(upstream[3]!.body === large).toBe(true);
  });

  it('answers a token endpoint refusal with a 502 problem carrying only the OAuth error fields, and calls no upstream', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', {
      status: 401,
      json: { error: 'invalid_client', error_description: 'Client authentication failed', debug: 'SHOULD-NOT-LEAK stack trace' },
    });
    const { slug, key } = await connect(m);
    const logs = captureLogs();
    try {
      const res = await relayCall(slug, key, '/orders');
      expect(res.status).toBe(502);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      const text = await res.text();
      expect(JSON.parse(text).type).toMatch(/\/token-endpoint-error$/);
      expect(text).not.toContain('SHOULD-NOT-LEAK');
      expect(text).not.toContain('relay-oauth-client-secret');
      expect(logs.text()).not.toContain('relay-oauth-client-secret');
    } finally {
      logs.restore();
    }
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(1);
    expect(upstream).toEqual([]);
  });
});
