/**
 * The token cache's limits seen through the relay: an upstream that answers 401 to every token
 * cannot make relay calls request a new token each time; a token old enough is replaced once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TOKEN_MIN_AGE_BEFORE_INVALIDATE_SECONDS } from '../../worker/oauth/token-cache';
import { admin, relayCall } from '../support/worker-api';
import { Mock, type RecordedRequest } from '../support/worker-mock';
import { uniqueSlug } from '../support/worker-oauth';

const CLIENT_SECRET = 'token-relay-Secret!%&+ :/=é';

function tokenAnswer(accessToken: string) {
  return { json: { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 } };
}

async function connect(m: Mock): Promise<{ slug: string; key: string }> {
  const slug = uniqueSlug('refused');
  const created = await admin('/api/connections', {
    method: 'POST',
    json: {
      name: 'Refusing API',
      slug,
      baseUrl: m.url('/v2'),
      auth: { method: 'oauth2_client_credentials', clientId: 'relay-client', clientSecret: CLIENT_SECRET, tokenUrl: m.url('/oauth/token') },
    },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const keyRes = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: 'refused' } });
  return { slug, key: ((await keyRes.json()) as { key: string }).key };
}


async function traffic(m: Mock): Promise<{ token: RecordedRequest[]; upstream: RecordedRequest[] }> {
  const { requests, unexpected } = await m.received();
  expect(unexpected).toEqual([]);
  return { token: requests.filter((r) => r.path === '/oauth/token'), upstream: requests.filter((r) => r.path !== '/oauth/token') };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('relay calls to an upstream that refuses every token', () => {
  it('request one token for six calls while the token is young, and retry none', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('young-token'), tokenAnswer('never-sent'));
    await m.on('GET', '/v2/me', { status: 401, json: { error: 'invalid_token' } });
    const { slug, key } = await connect(m);
    for (let i = 0; i < 6; i++) expect((await relayCall(slug, key, '/me')).status).toBe(401);
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(1);
    expect(upstream.map((r) => r.headers.authorization)).toEqual(Array(6).fill('Bearer young-token'));
  });

  it('replace a token older than the minimum age once, and retry with the new one once', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('old-token'), tokenAnswer('new-token'), tokenAnswer('never-sent'));
    await m.on('GET', '/v2/me', { status: 401, json: { error: 'invalid_token' } });
    const { slug, key } = await connect(m);
    expect((await relayCall(slug, key, '/me')).status).toBe(401);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + TOKEN_MIN_AGE_BEFORE_INVALIDATE_SECONDS * 1000);
    for (let i = 0; i < 3; i++) expect((await relayCall(slug, key, '/me')).status).toBe(401);
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(2);
    expect(upstream.map((r) => r.headers.authorization)).toEqual([
      'Bearer old-token',
      'Bearer old-token',
      'Bearer new-token',
      'Bearer new-token',
      'Bearer new-token',
    ]);
  });
});
