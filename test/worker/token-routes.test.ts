/**
 * `POST /api/connections/<slug>/test` and `GET`/`DELETE /api/connections/<slug>/token` through the
 * Worker, against the mock token endpoint; and the hints a person reads when a test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenFailure } from '../../worker/oauth/token-client';
import { hintFor } from '../../worker/oauth/token-hints';
import { admin, call, captureLogs, dumpKv } from '../support/worker-api';
import { Mock, type MockResponse } from '../support/worker-mock';
import { createOAuthConnection, expectNoSecrets, uniqueSlug } from '../support/worker-oauth';

const SECRET = 'route-Secret!%&+ :/=é';
/** A bearer token is a header value: visible ASCII only. */
const BEARER_TOKEN = 'route-Secret!%&+:/=';
const issued: string[] = [];

function token(expiresIn?: number, extra: Record<string, unknown> = {}): MockResponse {
  const accessToken = `at-route-${crypto.randomUUID()}`;
  issued.push(accessToken);
  return { json: { access_token: accessToken, token_type: 'Bearer', ...(expiresIn !== undefined ? { expires_in: expiresIn } : {}), ...extra } };
}

/** A JSON answer of the API, checked for secrets and tokens. */
async function json(res: Response): Promise<Record<string, unknown>> {
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  const text = await res.text();
  expectNoSecrets(text, [SECRET, ...issued], 'the answer');
  return JSON.parse(text);
}

const post = (slug: string) => admin(`/api/connections/${slug}/test`, { method: 'POST' });
const status = (slug: string) => admin(`/api/connections/${slug}/token`);
const purge = (slug: string) => admin(`/api/connections/${slug}/token`, { method: 'DELETE' });

async function expectRequests(mock: Mock, count: number) {
  const { requests, unexpected } = await mock.received();
  expect(unexpected).toEqual([]);
  expect(requests).toHaveLength(count);
}

async function bearerConnection(): Promise<string> {
  const slug = uniqueSlug('bearer');
  const res = await admin('/api/connections', {
    method: 'POST',
    json: { name: 'Static token', slug, baseUrl: 'https://api.acme.example', auth: { method: 'bearer', token: BEARER_TOKEN } },
  });
  expect(res.status).toBe(201);
  return slug;
}

let logs: ReturnType<typeof captureLogs>;
beforeAll(() => {
  logs = captureLogs();
});
afterAll(async () => {
  logs.restore();
  expectNoSecrets(logs.text(), [SECRET, ...issued], 'the log');
  expectNoSecrets(await dumpKv(), [SECRET, ...issued], 'raw KV');
});

describe('POST /api/connections/<slug>/test', () => {
  it('requests a fresh token each time and answers its type, lifetime, scope and duration, never the token', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', token(3600, { scope: 'read' }), token(3600, { scope: 'read' }));
    const record = await createOAuthConnection({ clientSecret: SECRET, tokenUrl: mock.url('/token'), scope: 'read' });

    const first = await post(record.slug);
    expect(first.status).toBe(200);
    const answer = await json(first);
    expect(answer).toEqual({ ok: true, tokenType: 'bearer', expiresIn: 3600, scope: 'read', durationMs: expect.any(Number) });

    expect(await json(await post(record.slug))).toMatchObject({ ok: true });
    await expectRequests(mock, 2);
  });

  it('answers the connection default lifetime and the requested scope when the server says neither', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', token(undefined));
    const record = await createOAuthConnection({ clientSecret: SECRET, tokenUrl: mock.url('/token'), scope: 'read', tokenLifetimeSeconds: 900 });
    expect(await json(await post(record.slug))).toMatchObject({ ok: true, expiresIn: 900, scope: 'read' });
    await expectRequests(mock, 1);
  });

  it.each<[string, MockResponse, Record<string, unknown>, Record<string, unknown>, RegExp]>([
    [
      'invalid_client under client_secret_basic',
      { status: 401, json: { error: 'invalid_client', error_description: 'bad credentials' } },
      {},
      { status: 401, error: 'invalid_client', errorDescription: 'bad credentials' },
      /try client_secret_post/,
    ],
    [
      'invalid_client under client_secret_post',
      { status: 401, json: { error: 'invalid_client' } },
      { clientAuth: 'client_secret_post' },
      { status: 401, error: 'invalid_client' },
      /try client_secret_basic/,
    ],
    ['invalid_scope', { status: 400, json: { error: 'invalid_scope' } }, { scope: 'admin' }, { status: 400, error: 'invalid_scope' }, /scope "admin"/],
    ['unauthorized_client', { status: 400, json: { error: 'unauthorized_client' } }, {}, { status: 400, error: 'unauthorized_client' }, /client credentials grant/],
    ['a 404 page', { status: 404, headers: { 'Content-Type': 'text/html' }, body: '<h1>Not found</h1>' }, {}, { status: 404, error: 'unexpected-status' }, /Check its path/],
    ['HTML instead of JSON', { headers: { 'Content-Type': 'text/html' }, body: '<html>Sign in</html>' }, {}, { status: 200, error: 'invalid-json' }, /not a login page/],
    ['a 500', { status: 500, body: 'oops' }, {}, { status: 500, error: 'server-error' }, /Try again/],
    ['a mac token', token(3600, { token_type: 'mac' }), {}, { status: 200, error: 'unsupported-token-type' }, /only Bearer/],
  ])('answers ok:false with a hint for %s', async (_case, answer, auth, expected, hint) => {
    const mock = new Mock();
    await mock.on('POST', '/token', answer);
    const record = await createOAuthConnection({ clientSecret: SECRET, tokenUrl: mock.url('/token'), scope: 'read', ...auth });
    const res = await post(record.slug);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ ok: false, ...expected });
    expect(body.hint).toMatch(hint);
    expect(Object.keys(body).sort()).toEqual(['durationMs', 'error', 'errorDescription', 'hint', 'ok', 'status']);
    await expectRequests(mock, 1);
  });

  it('answers ok:false with status null when the token endpoint is unreachable', async () => {
    const record = await createOAuthConnection({ clientSecret: SECRET, tokenUrl: 'http://127.0.0.1:1/token' });
    const body = await json(await post(record.slug));
    expect(body).toMatchObject({ ok: false, status: null, error: 'unreachable' });
    // A loopback Token URL: the hint names the address and asks for the local server.
    expect(body.hint).toMatch(/^Nothing answered at 127\.0\.0\.1:1\. Start/);
  });

  it('refuses a connection that does not use client credentials with 400', async () => {
    const slug = await bearerConnection();
    const res = await post(slug);
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect(await json(res)).toMatchObject({ type: expect.stringMatching(/not-oauth-connection$/), status: 400 });
  });

  it('answers 404 for a connection that does not exist', async () => {
    const res = await post('no-such-connection');
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ type: expect.stringMatching(/connection-not-found$/) });
    expect((await post('Not_A_Slug')).status).toBe(404);
  });

  it('answers 401 without admin authentication, and sends nothing', async () => {
    const mock = new Mock();
    const record = await createOAuthConnection({ clientSecret: SECRET, tokenUrl: mock.url('/token') });
    const res = await call(`/api/connections/${record.slug}/test`, { method: 'POST' });
    expect(res.status).toBe(401);
    await expectRequests(mock, 0);
  });

  it('answers 405 with Allow: POST to other methods', async () => {
    const res = await admin('/api/connections/acme-crm/test');
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('POST');
  });
});

describe('GET and DELETE /api/connections/<slug>/token', () => {
  it('reports no token before any request, a cached token with its expiry after one, and none after a purge', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', token(3600));
    const record = await createOAuthConnection({ clientSecret: SECRET, tokenUrl: mock.url('/token') });

    expect(await json(await status(record.slug))).toEqual({ cached: false, expiresAt: null, lastError: null, fetches: 0, nextAttemptAt: null, homeReachable: true });

    const before = Date.now();
    expect(await json(await post(record.slug))).toMatchObject({ ok: true });
    const cached = await json(await status(record.slug));
    expect(cached).toMatchObject({ cached: true, lastError: null, fetches: 1 });
    const expiresAt = Date.parse(cached.expiresAt as string);
    expect(cached.expiresAt).toBe(new Date(expiresAt).toISOString());
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000);
    expect(expiresAt).toBeLessThan(before + 3600_000 + 60_000);
    expect(await dumpKv()).toContain(`tok:${record.id}=`);

    const purged = await purge(record.slug);
    expect(purged.status).toBe(204);
    expect(purged.headers.get('Cache-Control')).toBe('no-store');
    expect(await json(await status(record.slug))).toEqual({ cached: false, expiresAt: null, lastError: null, fetches: 1, nextAttemptAt: null, homeReachable: true });
    expect(await dumpKv()).not.toContain(`tok:${record.id}`);
    await expectRequests(mock, 1);
  });

  it('reports the last error as data', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', { status: 400, json: { error: 'invalid_scope', error_description: 'unknown scope' } });
    const record = await createOAuthConnection({ clientSecret: SECRET, tokenUrl: mock.url('/token'), scope: 'nope' });
    await post(record.slug);
    expect(await json(await status(record.slug))).toEqual({
      cached: false,
      expiresAt: null,
      fetches: 1,
      lastError: { at: expect.any(String), code: 'oauth-error', error: 'invalid_scope', errorDescription: 'unknown scope', status: 400 },
      // The first failure backs off 5 s before the endpoint is asked again (a test always asks).
      nextAttemptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      homeReachable: true,
    });
    await expectRequests(mock, 1);
  });

  it('answers 404 for a connection that does not exist, and 400 for one without client credentials', async () => {
    expect((await status('no-such-connection')).status).toBe(404);
    expect((await purge('no-such-connection')).status).toBe(404);
    const slug = await bearerConnection();
    expect((await status(slug)).status).toBe(400);
    expect((await purge(slug)).status).toBe(400);
  });

  it('answers 401 without admin authentication', async () => {
    expect((await call('/api/connections/acme-crm/token')).status).toBe(401);
    expect((await call('/api/connections/acme-crm/token', { method: 'DELETE' })).status).toBe(401);
  });

  it('answers 405 with Allow to other methods', async () => {
    const res = await admin('/api/connections/acme-crm/token', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('GET, HEAD, DELETE');
  });
});

describe('hints', () => {
  const context = { clientAuth: 'client_secret_basic' as const, timeoutMs: 10_000 };
  const hint = (failure: TokenFailure, extra = {}) => hintFor(failure, { ...context, ...extra });

  it('names the timeout in seconds', () => {
    expect(hint({ reason: 'timeout' })).toMatch(/did not answer within 10 s/);
  });

  it('tells a redirect from a missing endpoint from a wrong method', () => {
    expect(hint({ reason: 'unexpected-status', status: 302 })).toMatch(/redirects/);
    expect(hint({ reason: 'unexpected-status', status: 404 })).toMatch(/HTTP 404/);
    expect(hint({ reason: 'unexpected-status', status: 405 })).toMatch(/does not accept POST/);
  });

  it('points invalid_request at the extra token parameters when there are some', () => {
    expect(hint({ reason: 'oauth-error', error: 'invalid_request' }, { tokenParams: { audience: 'x' } })).toMatch(/extra token parameters/);
  });

  it('asks for a scope when the server requires one and none is set', () => {
    expect(hint({ reason: 'oauth-error', error: 'invalid_scope' })).toMatch(/requires a scope/);
  });
});
