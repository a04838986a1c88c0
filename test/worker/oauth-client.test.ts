/**
 * The token client against the programmable mock token endpoint: the request it sends, and each
 * way an answer can be right or wrong.
 */
import { describe, expect, it } from 'vitest';
import { toProblem } from '../../worker/errors';
import { requestToken, TokenEndpointError, type TokenRequest } from '../../worker/oauth/token-client';
import { Mock, type MockResponse } from '../support/worker-mock';
import { basicCredentials } from '../support/worker-oauth';

const SECRET = 'pa55-Secret!%&+ :/=é';
const ACCESS_TOKEN = 'at-0123456789abcdef';

function tokenRequest(mock: Mock, overrides: Partial<TokenRequest> = {}): TokenRequest {
  return {
    tokenUrl: mock.url('/token'),
    clientId: 'acme-client',
    clientSecret: SECRET,
    clientAuth: 'client_secret_basic',
    defaultLifetimeSeconds: 3600,
    ...overrides,
  };
}

const OPTIONS = { allowLoopback: true, timeoutMs: 2_000 };

/** Programs `/token`, runs the request, and asserts exactly one request arrived and nothing else. */
async function against(answer: MockResponse, overrides: Partial<TokenRequest> = {}, options = OPTIONS) {
  const mock = new Mock();
  await mock.on('POST', '/token', answer);
  const outcome = await requestToken(tokenRequest(mock, overrides), options).then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  );
  const { requests, unexpected } = await mock.received();
  expect(unexpected).toEqual([]);
  expect(requests).toHaveLength(1);
  return { ...outcome, request: requests[0]!, mock };
}

/** The failure of an outcome that must have failed with a TokenEndpointError. */
function failureOf(error: unknown) {
  expect(error).toBeInstanceOf(TokenEndpointError);
  return error as TokenEndpointError;
}

const ok = (json: Record<string, unknown>): MockResponse => ({ json: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 3600, ...json } });

describe('token request', () => {
  it('posts a form-encoded client credentials grant with scope, token params and the Token URL query', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', ok({}));
    await requestToken(
      tokenRequest(mock, {
        tokenUrl: mock.url('/token?tenant=a%20b&x=1'),
        scope: 'read:orders write:orders',
        tokenParams: { audience: 'https://api.acme.example', resource: 'https://api.acme.example/v2' },
      }),
      OPTIONS,
    );
    const { requests, unexpected } = await mock.received();
    expect(unexpected).toEqual([]);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(request!.rawUrl).toBe('/token?tenant=a%20b&x=1');
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(request!.headers.accept).toBe('application/json');
    const form = new URLSearchParams(request!.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      scope: 'read:orders write:orders',
      audience: 'https://api.acme.example',
      resource: 'https://api.acme.example/v2',
    });
    expect(basicCredentials(request!.headers.authorization)).toMatchObject({ id: 'acme-client', secret: SECRET });
  });

  it('leaves scope out when the connection has none', async () => {
    const { request } = await against(ok({}));
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({ grant_type: 'client_credentials' });
  });

  it('form-urlencodes client id and secret before Base64 for client_secret_basic (RFC 6749 §2.3.1)', async () => {
    const { request } = await against(ok({}), { clientId: 'acme client:1' });
    const credentials = basicCredentials(request.headers.authorization);
    // application/x-www-form-urlencoded UTF-8: space as +, everything but ALPHA / DIGIT / * - . _ percent-encoded
    // (oauth4webapi also encodes - . _ ! ~ * ' ( ), which decodes the same).
    expect(credentials.raw).toBe('acme+client%3A1:pa55%2DSecret%21%25%26%2B+%3A%2F%3D%C3%A9');
    expect(credentials).toMatchObject({ id: 'acme client:1', secret: SECRET });
  });

  it('sends client id and secret in the body for client_secret_post, and no Authorization header', async () => {
    const { request } = await against(ok({}), { clientAuth: 'client_secret_post', scope: 'read' });
    expect(request.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: 'client_credentials',
      scope: 'read',
      client_id: 'acme-client',
      client_secret: SECRET,
    });
  });

  it('never follows a redirect from the token endpoint', async () => {
    const mock = new Mock();
    await mock.on('POST', '/token', { status: 302, headers: { Location: mock.url('/elsewhere') } });
    const error = await requestToken(tokenRequest(mock), OPTIONS).catch((e: unknown) => e);
    expect(failureOf(error).failure).toEqual({ reason: 'unexpected-status', status: 302 });
    const { requests, unexpected } = await mock.received();
    expect(requests.map((r) => r.path)).toEqual(['/token']);
    expect(unexpected).toEqual([]);
  });

  it('refuses a loopback Token URL when INSECURE_ALLOW_LOOPBACK is off, without sending anything', async () => {
    const mock = new Mock();
    const error = await requestToken(tokenRequest(mock), { allowLoopback: false }).catch((e: unknown) => e);
    expect(failureOf(error).failure.reason).toBe('url-not-allowed');
    expect(await mock.received()).toEqual({ requests: [], unexpected: [] });
  });
});

describe('token response', () => {
  it('uses the connection default lifetime when expires_in is missing', async () => {
    const { value } = await against({ json: { access_token: ACCESS_TOKEN, token_type: 'bearer' } }, { defaultLifetimeSeconds: 900 });
    expect(value).toEqual({ accessToken: ACCESS_TOKEN, tokenType: 'bearer', expiresIn: 900, expiresInFromServer: false });
  });

  it('accepts expires_in as a numeric string', async () => {
    const { value } = await against(ok({ expires_in: '120' }));
    expect(value).toMatchObject({ expiresIn: 120, expiresInFromServer: true });
  });

  it('refuses expires_in that is not a number', async () => {
    const { error } = await against(ok({ expires_in: 'soon' }));
    expect(failureOf(error).failure).toEqual({ reason: 'invalid-token-response', status: 200 });
  });

  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('accepts token_type %s', async (tokenType) => {
    const { value } = await against(ok({ token_type: tokenType, scope: 'read' }));
    expect(value).toEqual({ accessToken: ACCESS_TOKEN, tokenType: 'bearer', expiresIn: 3600, expiresInFromServer: true, scope: 'read' });
  });

  it.each([
    ['mac', 'mac'],
    ['DPoP', 'dpop'],
    ['N_A', 'n_a'],
  ])('refuses token_type %s as an unsupported token type', async (tokenType, reported) => {
    const { error } = await against(ok({ token_type: tokenType }));
    const err = failureOf(error);
    expect(err.code).toBe('token-endpoint-error');
    expect(err.failure.reason).toBe('unsupported-token-type');
    expect(err.failure.tokenType).toBe(reported);
    expect(JSON.stringify(err.extensions)).not.toContain(ACCESS_TOKEN);
  });

  it('refuses an answer without access_token', async () => {
    const { error } = await against({ json: { token_type: 'Bearer', expires_in: 3600 } });
    expect(failureOf(error).failure).toEqual({ reason: 'invalid-token-response', status: 200 });
  });

  it('refuses an HTML page instead of JSON', async () => {
    const { error } = await against({ headers: { 'Content-Type': 'text/html' }, body: '<!doctype html><h1>Sign in</h1>' });
    const err = failureOf(error);
    expect(err.failure).toEqual({ reason: 'invalid-json', status: 200 });
    expect(err.status).toBe(502);
  });

  it('ignores refresh_token', async () => {
    const { value } = await against(ok({ refresh_token: 'rt-should-be-ignored' }));
    expect(JSON.stringify(value)).not.toContain('rt-should-be-ignored');
  });
});

describe('token endpoint errors', () => {
  it('carries the OAuth error and description of a 400, and nothing else of the body', async () => {
    const { error } = await against({
      status: 400,
      json: { error: 'invalid_scope', error_description: 'scope admin is not allowed', internal_trace: 'db-password=hunter2' },
    });
    const err = failureOf(error);
    expect(err.failure).toEqual({ reason: 'oauth-error', status: 400, error: 'invalid_scope', errorDescription: 'scope admin is not allowed' });
    const problem = await toProblem(err).json();
    expect(problem).toMatchObject({ status: 502, reason: 'oauth-error', tokenEndpointStatus: 400, error: 'invalid_scope' });
    expect(JSON.stringify(problem)).not.toContain('hunter2');
  });

  it('reads the OAuth error of a 401 that carries a WWW-Authenticate challenge', async () => {
    const { error } = await against({
      status: 401,
      headers: { 'WWW-Authenticate': 'Basic realm="acme", error="invalid_client"' },
      json: { error: 'invalid_client', error_description: 'client authentication failed' },
    });
    expect(failureOf(error).failure).toEqual({
      reason: 'oauth-error',
      status: 401,
      error: 'invalid_client',
      errorDescription: 'client authentication failed',
    });
  });

  it('takes the OAuth error from the challenge when a 401 body is not JSON', async () => {
    const { error } = await against({
      status: 401,
      headers: { 'WWW-Authenticate': 'Basic realm="acme", error="invalid_client", error_description="bad secret"', 'Content-Type': 'text/plain' },
      body: 'Unauthorized',
    });
    expect(failureOf(error).failure).toEqual({ reason: 'oauth-error', status: 401, error: 'invalid_client', errorDescription: 'bad secret' });
  });

  it('never echoes the client secret inside an error_description', async () => {
    const { error } = await against({ status: 400, json: { error: 'invalid_client', error_description: `secret ${SECRET} is wrong` } }, { clientAuth: 'client_secret_post' });
    const err = failureOf(error);
    expect(err.failure.errorDescription).toBe('secret [redacted] is wrong');
    expect(JSON.stringify(await toProblem(err).json())).not.toContain(SECRET);
  });

  describe('the client secret in other forms', () => {
    const base64 = (text: string) => {
      let binary = '';
      for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
      return btoa(binary);
    };
    const base64url = (text: string) => base64(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    /** As oauth4webapi form-encodes it for a Basic header (see the client_secret_basic test above). */
    const FORM_ENCODED_FOR_BASIC = 'pa55%2DSecret%21%25%26%2B+%3A%2F%3D%C3%A9';
    const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());

    // [case, form in the answer, what the description must become]
    it.each<[string, string, string]>([
      ['as it is', SECRET, 'got [redacted] here'],
      ['percent-encoded', encodeURIComponent(SECRET), 'got [redacted] here'],
      ['percent-encoded in lower case', lowerHex(encodeURIComponent(SECRET)), 'got [redacted] here'],
      ['form-encoded', new URLSearchParams({ s: SECRET }).toString().slice(2), 'got [redacted] here'],
      ['form-encoded as for a Basic header', FORM_ENCODED_FOR_BASIC, 'got [redacted] here'],
      ['form-encoded as for a Basic header, in lower case', lowerHex(FORM_ENCODED_FOR_BASIC), 'got [redacted] here'],
      ['in Base64', base64(SECRET), 'got [redacted] here'],
      ['in base64url', base64url(SECRET), 'got [redacted] here'],
      // The characters of a Base64 run beside the secret decode to the id and the secret's first bytes: the run goes whole.
      ['in a Basic header', `Basic ${base64(`acme-client:${FORM_ENCODED_FOR_BASIC}`)}`, 'got Basic [redacted] here'],
      ['in Base64 after one other byte', base64(`x${SECRET}yz`), 'got [redacted] here'],
      ['in Base64 after two other bytes', base64(`xy${SECRET}z`), 'got [redacted] here'],
      ['inside a query string', `https://auth.example/cb?client_secret=${encodeURIComponent(SECRET)}&x=1`, 'got [redacted] here'],
      ['in quotes', `"${SECRET}"`, 'got "[redacted]" here'],
    ])('redacts the client secret %s in error_description, and the whole token around it', async (_case, form, expected) => {
      const { error } = await against({ status: 400, json: { error: 'invalid_client', error_description: `got ${form} here` } });
      const err = failureOf(error);
      expect(err.failure.errorDescription).toBe(expected);
      const answer = JSON.stringify(await toProblem(err).json()) + JSON.stringify(err.failure) + err.detail;
      expect(answer).not.toContain(form);
    });

    it.each<[string, string, string, string]>([
      // A short secret beside a short id: `Basic Y2lkOmI0…OA==` once showed `cid:b4`, the id and two characters of the secret.
      ['a Basic header of a short id and secret', 'b4d-s3cret-x8', `Basic ${base64('cid:b4d-s3cret-x8')}`, 'bad Basic [redacted] given'],
      // A secret ending in `%` percent-encoded: `%25` once left `25` behind.
      ['a secret ending in % percent-encoded', 'trailing-percent-secret%', encodeURIComponent('trailing-percent-secret%'), 'bad [redacted] given'],
      ['a secret ending in % percent-encoded in a longer word', 'trailing-percent-secret%', `x=${encodeURIComponent('trailing-percent-secret%')}25`, 'bad [redacted] given'],
    ])('leaves no edge of %s', async (_case, secret, form, expected) => {
      const { error } = await against(
        { status: 401, json: { error: 'invalid_client', error_description: `bad ${form} given` } },
        { clientId: 'cid', clientSecret: secret },
      );
      const description = failureOf(error).failure.errorDescription!;
      expect(description).toBe(expected);
    });

    it('redacts the client secret in error as well, with the whole token that holds it', async () => {
      const { error } = await against({ status: 400, json: { error: `invalid_${encodeURIComponent(SECRET)}`, error_description: 'x' } });
      const err = failureOf(error);
      expect(err.failure.error).toBe('[redacted]');
      expect(JSON.stringify(await toProblem(err).json())).not.toContain(encodeURIComponent(SECRET));
    });

    it.each([
      ['outside the RFC 6749 characters (a quote)', 'invalid"client'],
      ['outside the RFC 6749 characters (a backslash)', 'invalid\\client'],
      ['outside the RFC 6749 characters (non-ASCII)', 'invalid_clïent'],
      ['outside the RFC 6749 characters (a line break)', 'invalid\nclient'],
      ['holding the secret as it is (non-ASCII)', SECRET],
      ['longer than 100 characters', 'e'.repeat(101)],
    ])('replaces an error code %s with unknown_error', async (_case, code) => {
      const { error } = await against({ status: 400, json: { error: code, error_description: 'x' } });
      expect(failureOf(error).failure).toEqual({ reason: 'oauth-error', status: 400, error: 'unknown_error', errorDescription: 'x' });
    });
  });

  it('reports a 500 as a server error with its status', async () => {
    const { error } = await against({ status: 500, headers: { 'Content-Type': 'text/html' }, body: '<h1>Internal Server Error</h1>' });
    const err = failureOf(error);
    expect(err.failure).toEqual({ reason: 'server-error', status: 500 });
    expect(err.status).toBe(502);
  });

  it('carries the OAuth error of a 503 that has one', async () => {
    const { error } = await against({ status: 503, json: { error: 'temporarily_unavailable' } });
    expect(failureOf(error).failure).toEqual({ reason: 'server-error', status: 503, error: 'temporarily_unavailable' });
  });

  it('reports a 404 page as an unexpected status', async () => {
    const { error } = await against({ status: 404, headers: { 'Content-Type': 'text/html' }, body: '<h1>Not Found</h1>' });
    expect(failureOf(error).failure).toEqual({ reason: 'unexpected-status', status: 404 });
  });

  it('reports a closed port as unreachable', async () => {
    const error = await requestToken({ ...tokenRequest(new Mock()), tokenUrl: 'http://127.0.0.1:1/token' }, OPTIONS).catch((e: unknown) => e);
    const err = failureOf(error);
    expect(err.failure).toEqual({ reason: 'unreachable' });
    expect(err.code).toBe('token-endpoint-error');
  });

  it('gives up on an endpoint that hangs past the timeout with token-endpoint-timeout', async () => {
    const started = Date.now();
    const { error } = await against({ delayMs: 3_000, json: { access_token: ACCESS_TOKEN, token_type: 'Bearer' } }, {}, { allowLoopback: true, timeoutMs: 300 });
    const err = failureOf(error);
    expect(err.failure).toEqual({ reason: 'timeout' });
    expect(err.code).toBe('token-endpoint-timeout');
    expect(err.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2_500);
  });
});
