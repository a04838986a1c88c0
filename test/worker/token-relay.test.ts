/**
 * The token engine's limits seen through the relay: an upstream that answers 401 to every token
 * gets one forced refresh per bound window, never one token request per call.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FORCED_REFRESH_MIN_INTERVAL_MS } from '../../worker/oauth/token-broker';
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
  it('refresh once at the first refusal and retry once, then pass refusals through for the next seconds', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('first-token'), tokenAnswer('second-token'), tokenAnswer('never-sent'));
    await m.on('GET', '/v2/me', { status: 401, json: { error: 'invalid_token' } });
    const { slug, key } = await connect(m);
    for (let i = 0; i < 6; i++) expect((await relayCall(slug, key, '/me')).status).toBe(401);
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(2);
    expect(upstream.map((r) => r.headers.authorization)).toEqual(['Bearer first-token', ...Array(6).fill('Bearer second-token')]);
  });

  it('refresh once more when the bound on forced refreshes has passed, and retry with the new token once', async () => {
    const m = new Mock();
    await m.on('POST', '/oauth/token', tokenAnswer('old-token'), tokenAnswer('new-token'), tokenAnswer('newer-token'), tokenAnswer('never-sent'));
    await m.on('GET', '/v2/me', { status: 401, json: { error: 'invalid_token' } });
    const { slug, key } = await connect(m);
    expect((await relayCall(slug, key, '/me')).status).toBe(401);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + FORCED_REFRESH_MIN_INTERVAL_MS + 1);
    for (let i = 0; i < 3; i++) expect((await relayCall(slug, key, '/me')).status).toBe(401);
    const { token, upstream } = await traffic(m);
    expect(token).toHaveLength(3);
    expect(upstream.map((r) => r.headers.authorization)).toEqual([
      'Bearer old-token',
      'Bearer new-token',
      'Bearer new-token',
      'Bearer newer-token',
      'Bearer newer-token',
      'Bearer newer-token',
    ]);
  });
});
