/**
 * The attack corpus: each finding of a scripted attack run against the Worker, kept as tests.
 * Every relay case runs against the recording mock upstream and proves what the upstream saw (or
 * that it saw nothing); every admin case proves nothing was stored. The hostile-path corpus is in
 * `relay-paths.test.ts`, redaction of the client secret in `oauth-client.test.ts`, sealing in
 * `seal.test.ts`; the cases that need a real HTTP connection in `test/e2e/http-edges.test.ts`.
 */
import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canonicalHost, isLoopbackHost, urlProblem } from '../../contract/connection';
import { app } from '../../worker/index';
import { requestToken, TokenEndpointError } from '../../worker/oauth/token-client';
import { Mock, type RecordedRequest } from '../support/worker-mock';
import { admin, call, captureLogs, ORIGIN, oauthInput, relayCall } from '../support/worker-api';
import { uniqueSlug } from '../support/worker-oauth';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Sends an admin request through the app with `INSECURE_ALLOW_LOOPBACK=false`, as in production. */
function strictAdmin(path: string, method: string, json: unknown): Promise<Response> {
  return Promise.resolve(
    app.request(
      path,
      { method, headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(json) },
      { ...env, INSECURE_ALLOW_LOOPBACK: 'false' },
    ),
  );
}

async function problem(res: Response): Promise<{ type: string; errors?: Record<string, string[]>; detail: string }> {
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  return res.json();
}

async function expectNotStored(slug: string): Promise<void> {
  expect((await admin(`/api/connections/${slug}`)).status).toBe(404);
}

/** A connection to the mock with `auth`, and a relay key for it. */
async function connect(baseUrl: string, auth: Record<string, unknown>, relay?: Record<string, unknown>): Promise<{ slug: string; key: string }> {
  const slug = uniqueSlug('atk');
  const created = await admin('/api/connections', { method: 'POST', json: { name: 'Attack corpus', slug, baseUrl, auth, ...(relay ? { relay } : {}) } });
  expect(created.status, await created.clone().text()).toBe(201);
  const keyRes = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: 'corpus' } });
  expect(keyRes.status).toBe(201);
  return { slug, key: ((await keyRes.json()) as { key: string }).key };
}

async function onlyRequest(m: Mock): Promise<RecordedRequest> {
  const { requests, unexpected } = await m.received();
  expect(unexpected).toEqual([]);
  expect(requests).toHaveLength(1);
  return requests[0]!;
}

async function expectNoUpstreamCall(m: Mock): Promise<void> {
  const { requests, unexpected } = await m.received();
  expect(requests).toEqual([]);
  expect(unexpected).toEqual([]);
}

describe('1. loopback judged by canonical host, not by spelling', () => {
  const LOOPBACK_SPELLINGS = [
    'https://localhost./',
    'https://LocalHost./',
    'https://foo.localhost./',
    'https://localhost%2e/',
    'https://localhost%2E/v2',
    'https://localhost../',
    'https://%6c%6fcalhost/',
    'https://ⓛocalhost/',
    'https://LOCALHOST:8443/api',
    'https://127.0.0.1./',
    'https://127.1/',
    'https://0x7f.0.0.1/',
    'https://2130706433/',
    'https://0177.0.0.1/',
    'https://127.255.255.254/',
    'https://0.0.0.0/',
    'https://0/',
    'https://[::1]/',
    'https://[0:0:0:0:0:0:0:1]/',
    'https://[::]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:7f00:1]/',
    'https://[::ffff:0.0.0.0]/',
    'http://localhost./',
    'http://127.0.0.1:8080/',
  ];

  it.each(LOOPBACK_SPELLINGS)('refuses the Base URL %s with INSECURE_ALLOW_LOOPBACK=false, naming the setting', async (baseUrl) => {
    const slug = uniqueSlug('loop');
    const res = await strictAdmin('/api/connections', 'POST', { name: 'Loop', slug, baseUrl, auth: { method: 'none' } });
    expect(res.status).toBe(400);
    const body = await problem(res);
    expect(body.errors?.baseUrl?.join(' ')).toMatch(/INSECURE_ALLOW_LOOPBACK=true/);
    await expectNotStored(slug);
  });

  it.each(['https://localhost./token', 'https://LOCALHOST%2e/token', 'https://[::ffff:127.0.0.1]/token', 'https://0x7f.1/token'])(
    'refuses the Token URL %s with INSECURE_ALLOW_LOOPBACK=false',
    async (tokenUrl) => {
      const slug = uniqueSlug('loop');
      const res = await strictAdmin('/api/connections', 'POST', oauthInput({ slug }, { tokenUrl }));
      expect(res.status).toBe(400);
      expect((await problem(res)).errors?.['auth.tokenUrl']?.join(' ')).toMatch(/INSECURE_ALLOW_LOOPBACK/);
      await expectNotStored(slug);
    },
  );

  it.each(['https://10.0.0.1/', 'https://192.168.1.1./', 'https://172.16.0.1/', 'https://169.254.169.254/latest', 'https://0x0a.0.0.1/', 'https://[fc00::1]/', 'https://[fe80::1]/', 'https://[::ffff:10.0.0.1]/', 'https://8.8.8.8/'])(
    'refuses the IP literal %s as a Base URL, loopback allowed or not',
    async (baseUrl) => {
      for (const allowLoopback of [false, true]) {
        expect(urlProblem(baseUrl, { allowLoopback, allowQuery: false })).toMatch(/^Use a host name/);
      }
      const slug = uniqueSlug('ip');
      const res = await strictAdmin('/api/connections', 'POST', { name: 'IP', slug, baseUrl, auth: { method: 'none' } });
      expect(res.status).toBe(400);
      await expectNotStored(slug);
    },
  );

  it('writes hosts in one canonical form: lower case, percent-decoded, no trailing dots', () => {
    expect(canonicalHost('LocalHost.')).toBe('localhost');
    expect(canonicalHost('localhost%2e')).toBe('localhost');
    expect(canonicalHost('API.Example.COM..')).toBe('api.example.com');
    expect(canonicalHost('%61pi.example')).toBe('api.example');
    expect(isLoopbackHost('foo.LOCALHOST.')).toBe(true);
    expect(isLoopbackHost('localhost.example')).toBe(false);
    expect(isLoopbackHost('notlocalhost')).toBe(false);
    expect(isLoopbackHost('[::2]')).toBe(false);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });

  it('keeps public host names with a trailing dot acceptable', () => {
    expect(urlProblem('https://api.example.com./v2', { allowLoopback: false, allowQuery: false })).toBeUndefined();
  });

  it('refuses a loopback Token URL spelled with a trailing dot in the token client, sending nothing', async () => {
    const fetch = vi.fn(() => Promise.reject(new Error('must not be called')));
    const error = await requestToken(
      { tokenUrl: 'https://localhost./token', clientId: 'c', clientSecret: 's', clientAuth: 'client_secret_basic', defaultLifetimeSeconds: 3600 },
      { allowLoopback: false, fetch },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect((error as TokenEndpointError).failure.reason).toBe('url-not-allowed');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('refuses to relay to a stored Base URL that is loopback by another spelling when the deployment does not allow it', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const port = new URL(m.origin).port;
    const { slug, key } = await connect(`http://LocalHost.:${port}/${m.ns}/v2`, { method: 'none' });
    const logs = captureLogs();
    try {
      const res = await app.request(`${ORIGIN}/relay/${slug}/x`, { headers: { Authorization: `Bearer ${key}` } }, { ...env, INSECURE_ALLOW_LOOPBACK: 'false' });
      expect(res.status).toBe(500);
      expect((await problem(res)).type).toMatch(/\/misconfigured$/);
    } finally {
      logs.restore();
    }
    await expectNoUpstreamCall(m);
  });
});

describe('2. an API key sent in the query never comes back in an answer header', () => {
  const VALUE = 'qk-9f8e/7d6c=5b4a';
  const FORM = new URLSearchParams({ v: VALUE }).toString().slice(2);

  it('redacts the key in every header that echoes the request URL, whatever its name', async () => {
    const m = new Mock();
    const { slug, key } = await connect(m.url('/v2'), { method: 'api_key', name: 'api_key', value: VALUE, in: 'query' });
    await m.on('GET', '/v2/echo', {
      json: {},
      headers: {
        'X-Request-Url': `${m.url('/v2/echo')}?a=1&api_key=${FORM}`,
        'X-Original-Request': `GET /v2/echo?api_key=${FORM} HTTP/1.1`,
        'X-Debug': `key=${VALUE}; upstream=ok`,
        Warning: `199 - "saw ${FORM.toLowerCase()}"`,
        'X-Echo-Twice': `next=${encodeURIComponent(`/v2/echo?api_key=${FORM}`)}`,
        'X-Unrelated': 'keep me',
      },
    });
    const res = await relayCall(slug, key, '/echo?a=1');
    expect(res.status).toBe(200);
    expect((await onlyRequest(m)).rawUrl).toBe(`/v2/echo?a=1&api_key=${FORM}`);
    expect(res.headers.get('X-Request-Url')).toBe(`${m.url('/v2/echo')}?a=1&api_key=[redacted]`);
    expect(res.headers.get('X-Original-Request')).toBe('GET /v2/echo?api_key=[redacted] HTTP/1.1');
    expect(res.headers.get('X-Debug')).toBe('key=[redacted]; upstream=ok');
    expect(res.headers.get('Warning')).toBe('199 - "saw [redacted]"');
    // Held only double-encoded: dropped whole rather than guessed at.
    expect(res.headers.get('X-Echo-Twice')).toBeNull();
    expect(res.headers.get('X-Unrelated')).toBe('keep me');
    const all = JSON.stringify([...res.headers]);
    expect(all).not.toContain(VALUE);
    expect(all).not.toContain(FORM);
    expect(decodeURIComponent(decodeURIComponent(all))).not.toContain(VALUE);
  });

  it('leaves answer headers alone when no header holds the key', async () => {
    const m = new Mock();
    const { slug, key } = await connect(m.url('/v2'), { method: 'api_key', name: 'api_key', value: VALUE, in: 'query' });
    await m.on('GET', '/v2/plain', { json: {}, headers: { 'X-Request-Url': `${m.url('/v2/plain')}?a=1`, Link: '</v2/x?page=2>; rel="next"' } });
    const res = await relayCall(slug, key, '/plain?a=1');
    expect(res.headers.get('X-Request-Url')).toBe(`${m.url('/v2/plain')}?a=1`);
    expect(res.headers.get('Link')).toBe('</v2/x?page=2>; rel="next"');
    await onlyRequest(m);
  });
});

describe('3. upstream statuses a Response cannot carry', () => {
  it.each([
    ['100 as the final answer', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['101 without an upgrade', 'HTTP/1.1 101 Switching Protocols\r\nConnection: close\r\n\r\n'],
    ['103 as the final answer', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n'],
    ['600', 'HTTP/1.1 600 Beyond\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'],
    ['999', 'HTTP/1.1 999 Way Beyond\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'],
  ])('answers a clear 502 problem, never a 500, for an upstream status %s', async (_label, raw) => {
    const m = new Mock();
    await m.on('GET', '/v2/odd', { raw });
    const { slug, key } = await connect(m.url('/v2'), { method: 'bearer', token: 'odd-status-token' });
    const logs = captureLogs();
    let res: Response;
    try {
      res = await relayCall(slug, key, '/odd');
    } finally {
      logs.restore();
    }
    expect(res.status).toBe(502);
    const body = await problem(res);
    expect(body.type).toMatch(/\/upstream-bad-status$/);
    expect(body.detail).toMatch(/HTTP status \d{3}, which cannot be relayed/);
    expect(JSON.stringify(body)).not.toContain('odd-status-token');
    expect(logs.text()).not.toContain('internal-error');
    expect(logs.text()).not.toContain('RangeError');
    await onlyRequest(m);
  });

  it('names the status in the problem', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/odd', { raw: 'HTTP/1.1 600 Beyond\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok' });
    const { slug, key } = await connect(m.url('/v2'), { method: 'none' });
    const logs = captureLogs();
    try {
      const res = await relayCall(slug, key, '/odd');
      const body = await problem(res);
      expect(body.type).toMatch(/\/upstream-bad-status$/);
      expect(body.detail).toContain('600');
    } finally {
      logs.restore();
    }
  });
});

describe('4. secrets and names that become header values are checked when saved', () => {
  const BAD_HEADER_VALUES: [string, string][] = [
    ['CR LF', 'zq9tok\r\nX-Injected: yes'],
    ['LF', 'zq9tok\nX-Injected: yes'],
    ['CR', 'zq9tok\rmore'],
    ['NUL', 'zq9tok\u0000'],
    ['DEL', 'zq9tok\u007f'],
    ['a leading space', ' zq9tok'],
    ['a trailing tab', 'zq9tok\t'],
    ['non-ASCII', 'zq9tök'],
  ];

  it.each(BAD_HEADER_VALUES)('refuses a bearer token with %s: 400 naming auth.token, nothing stored', async (_label, token) => {
    const slug = uniqueSlug('hdr');
    const res = await admin('/api/connections', { method: 'POST', json: { name: 'Hdr', slug, baseUrl: 'https://api.acme.example', auth: { method: 'bearer', token } } });
    expect(res.status).toBe(400);
    const body = await problem(res);
    expect(Object.keys(body.errors ?? {})).toEqual(['auth.token']);
    expect(body.errors!['auth.token']!.join(' ')).toMatch(/HTTP header/);
    expect(JSON.stringify(body)).not.toContain('zq9t');
    await expectNotStored(slug);
  });

  it.each(BAD_HEADER_VALUES)('refuses an API key sent in a header with %s, naming auth.value', async (_label, value) => {
    const res = await admin('/api/connections', { method: 'POST', json: { name: 'Hdr', slug: uniqueSlug('hdr'), baseUrl: 'https://api.acme.example', auth: { method: 'api_key', name: 'X-Key', value, in: 'header' } } });
    expect(res.status).toBe(400);
    expect(Object.keys((await problem(res)).errors ?? {})).toEqual(['auth.value']);
  });

  it.each(['X-Key\r\nX-Injected', 'X Key', 'X-Key:', 'Host', 'Content-Length', 'Transfer-Encoding', 'Proxy-Authorization', ''])(
    'refuses the API key header name %j',
    async (name) => {
      const res = await admin('/api/connections', { method: 'POST', json: { name: 'Hdr', slug: uniqueSlug('hdr'), baseUrl: 'https://api.acme.example', auth: { method: 'api_key', name, value: 'v', in: 'header' } } });
      expect(res.status).toBe(400);
      expect(Object.keys((await problem(res)).errors ?? {})).toEqual(['auth.name']);
    },
  );

  it.each([
    ['username', { username: 'ali\r\nce', password: 'pw' }],
    ['username', { username: 'alice\u0000', password: 'pw' }],
    ['password', { username: 'alice', password: 'p\nw' }],
    ['password', { username: 'alice', password: 'pw\u001b[0m' }],
  ])('refuses a basic %s with a control character', async (field, auth) => {
    const res = await admin('/api/connections', { method: 'POST', json: { name: 'Hdr', slug: uniqueSlug('hdr'), baseUrl: 'https://api.acme.example', auth: { method: 'basic', ...auth } } });
    expect(res.status).toBe(400);
    expect(Object.keys((await problem(res)).errors ?? {})).toEqual([`auth.${field}`]);
  });

  it('refuses a header-unsafe token on replace too, and keeps the stored one', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const { slug, key } = await connect(m.url('/v2'), { method: 'bearer', token: 'good-token' });
    const res = await admin(`/api/connections/${slug}`, { method: 'PUT', json: { name: 'Attack corpus', slug, baseUrl: m.url('/v2'), auth: { method: 'bearer', token: 'bad\r\ntoken' } } });
    expect(res.status).toBe(400);
    expect(Object.keys((await problem(res)).errors ?? {})).toEqual(['auth.token']);
    expect((await relayCall(slug, key, '/x')).status).toBe(200);
    expect((await onlyRequest(m)).headers.authorization).toBe('Bearer good-token');
  });

  it('accepts non-ASCII basic credentials (sent as UTF-8 in Base64) and an API key in the query with any characters', async () => {
    const basic = await admin('/api/connections', { method: 'POST', json: { name: 'Ok', slug: uniqueSlug('ok'), baseUrl: 'https://api.acme.example', auth: { method: 'basic', username: 'ålice', password: 'pä ss€' } } });
    expect(basic.status).toBe(201);
    const query = await admin('/api/connections', { method: 'POST', json: { name: 'Ok', slug: uniqueSlug('ok'), baseUrl: 'https://api.acme.example', auth: { method: 'api_key', name: 'k', value: 'a b\nc', in: 'query' } } });
    expect(query.status).toBe(201);
  });
});

describe('5. header hygiene: caller headers that never reach the upstream', () => {
  const FAMILIES: [string, string[]][] = [
    ['credentials and cookies', ['Authorization', 'Cookie', 'Proxy-Authorization']],
    ['forwarding', ['Forwarded', 'Forwarded-For', 'X-Forwarded', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'X-Forwarded-Port', 'X-Original-Forwarded-For']],
    ['client IP', ['Client-IP', 'X-Client-IP', 'X-Cluster-Client-IP', 'Fastly-Client-IP', 'True-Client-IP', 'X-Real-IP', 'Akamai-Client-IP', 'X-Originating-IP', 'X-Remote-IP', 'X-Remote-Addr', 'CF-Connecting-IP']],
    ['host override', ['X-Host', 'X-Original-Host', 'X-HTTP-Host-Override']],
    ['URL and method rewrite', ['X-Original-URL', 'X-Original-URI', 'X-Rewrite-URL', 'X-Override-URL', 'X-Original-Method', 'X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']],
    ['Cloudflare and proxy', ['CF-Ray', 'CF-IPCountry', 'CF-Visitor', 'Proxy-Connection', 'Proxy-Foo']],
    ['hop-by-hop', ['Keep-Alive', 'TE', 'Upgrade', 'Trailer']],
  ];
  const MARK = 'atk-must-not-travel';

  it.each(FAMILIES)('drops the %s family', async (_family, names) => {
    const m = new Mock();
    await m.on('GET', '/v2/h', { json: {} });
    const { slug, key } = await connect(m.url('/v2'), { method: 'bearer', token: 'hygiene-token' });
    const headers = new Headers({ Authorization: `Bearer ${key}`, 'X-Kept': 'kept' });
    for (const name of names) if (name !== 'Authorization') headers.set(name, name === 'TE' ? 'trailers' : `${MARK}-${name}`);
    const res = await relayCall(slug, key, '/h', { headers });
    expect(res.status).toBe(200);
    const got = await onlyRequest(m);
    for (const name of names) expect(got.headers[name.toLowerCase()], name).toBe(name === 'Authorization' ? 'Bearer hygiene-token' : undefined);
    expect(JSON.stringify(got.headers)).not.toContain(MARK);
    expect(JSON.stringify(got.headers)).not.toContain(key);
    expect(got.headers['x-kept']).toBe('kept');
  });

  it('drops a header the caller names in Connection when the Worker sees that Connection header', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/h', { json: {} });
    const { slug, key } = await connect(m.url('/v2'), { method: 'none' });
    await relayCall(slug, key, '/h', { headers: { Connection: 'keep-alive, X-Named-Hop', 'X-Named-Hop': MARK, 'X-Kept': 'kept' } });
    const got = await onlyRequest(m);
    expect(got.headers['x-named-hop']).toBeUndefined();
    expect(got.headers['x-kept']).toBe('kept');
  });

  it('still sends the connection credential when the caller names its header in Connection', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/h', { json: {} });
    const bearer = await connect(m.url('/v2'), { method: 'bearer', token: 'named-bearer' });
    await relayCall(bearer.slug, bearer.key, '/h', { headers: { Connection: 'Authorization' } });
    const apiKey = await connect(m.url('/v2'), { method: 'api_key', name: 'X-Api-Key', value: 'named-key', in: 'header' });
    await relayCall(apiKey.slug, apiKey.key, '/h', { headers: { Connection: 'X-Api-Key, Authorization', 'X-Api-Key': 'caller-value' } });
    const { requests } = await m.received();
    expect(requests.map((r) => r.headers.authorization ?? r.headers['x-api-key'])).toEqual(['Bearer named-bearer', 'named-key']);
  });
});

describe('7. reserved names in tokenParams', () => {
  it.each(['__proto__', 'constructor', 'prototype', 'grant_type', 'client_id', 'client_secret', 'scope', 'client_assertion', 'client_assertion_type'])(
    'refuses the token parameter %s with 400 naming it',
    async (name) => {
      const slug = uniqueSlug('tp');
      // Written as JSON text: an object literal with `__proto__` would set the prototype instead.
      const body = JSON.stringify(oauthInput({ slug }, { tokenParams: { audience: 'x' } })).replace('"audience":"x"', `"audience":"x","${name}":"v"`);
      const res = await call('/api/connections', { method: 'POST', headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, body });
      expect(res.status).toBe(400);
      const errors = (await problem(res)).errors ?? {};
      expect(Object.keys(errors)).toEqual([`auth.tokenParams.${name}`]);
      await expectNotStored(slug);
    },
  );
});

/** A request body that records how much of it was read. */
function countedBody(bytes: number, chunk = 16 * 1024): { stream: ReadableStream<Uint8Array>; read: () => number } {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const size = Math.min(chunk, bytes - sent);
      sent += size;
      controller.enqueue(new Uint8Array(size).fill(0x7b));
    },
  });
  return { stream, read: () => sent };
}

describe('8. bodies answered without being needed are read to the end', () => {
  const ADMIN_JSON = { Authorization: `Bearer ${env.ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  it.each<[string, string, Record<string, string>, number, boolean]>([
    ['413 for a body of unknown length over the cap', '/api/connections', ADMIN_JSON, 413, false],
    ['413 for a declared length over the cap', '/api/connections', ADMIN_JSON, 413, true],
    ['415 for a body that is not JSON', '/api/connections', { ...ADMIN_JSON, 'Content-Type': 'text/plain' }, 415, true],
    ['401 on /api without credentials', '/api/connections', { 'Content-Type': 'application/json' }, 401, true],
    ['401 on the relay without a key', '/relay/no-such-slug/x', {}, 401, false],
    ['401 on the relay without a key, length declared', '/relay/no-such-slug/x', {}, 401, true],
  ])('reads to its end the body of a %s', async (_label, path, headers, status, declared) => {
    const size = status === 413 ? 300 * 1024 : 48 * 1024;
    const body = countedBody(size);
    const init = { method: 'POST', headers: { ...headers, ...(declared ? { 'Content-Length': String(size) } : {}) }, body: body.stream, duplex: 'half' };
    const res = await exports.default.fetch(new Request(ORIGIN + path, init as RequestInit));
    expect(res.status).toBe(status);
    await res.arrayBuffer();
    expect(body.read()).toBe(size);
  });

  it('drains a body whose declared length is over the cap before the 413', async () => {
    const res = await call('/api/connections', { method: 'POST', headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, body: 'x'.repeat(200 * 1024) });
    expect(res.status).toBe(413);
    expect((await problem(res)).type).toMatch(/\/payload-too-large$/);
  });
});

describe('body cap on /api', () => {
  const headers = { Authorization: `Bearer ${env.ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const json64k = (size: number) => JSON.stringify({ pad: 'x'.repeat(size - '{"pad":""}'.length) });

  it('accepts a body of exactly 64 KiB (it reaches validation)', async () => {
    const res = await call('/api/connections', { method: 'POST', headers, body: json64k(64 * 1024) });
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(/\/validation-failed$/);
  });

  it('refuses a body of 64 KiB and one byte with 413, whatever it holds', async () => {
    const res = await call('/api/connections', { method: 'POST', headers, body: json64k(64 * 1024 + 1) });
    expect(res.status).toBe(413);
  });

  it('refuses an over-cap body of unknown length with 413 and accepts one under the cap', async () => {
    const over = countedBody(64 * 1024 + 1, 4096);
    const refused = await exports.default.fetch(new Request(`${ORIGIN}/api/connections`, { method: 'POST', headers, body: over.stream, duplex: 'half' } as RequestInit));
    expect(refused.status).toBe(413);
    const slug = uniqueSlug('cap');
    const text = new TextEncoder().encode(JSON.stringify({ name: 'Cap', slug, baseUrl: 'https://api.acme.example', auth: { method: 'none' } }));
    const under = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(text.slice(0, 10));
        controller.enqueue(text.slice(10));
        controller.close();
      },
    });
    const accepted = await exports.default.fetch(new Request(`${ORIGIN}/api/connections`, { method: 'POST', headers, body: under, duplex: 'half' } as RequestInit));
    expect(accepted.status, await accepted.clone().text()).toBe(201);
  });

  it('caps PUT bodies too, and before authentication', async () => {
    expect((await call('/api/connections/x', { method: 'PUT', headers, body: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await call('/api/connections', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: 'x'.repeat(70_000) })).status).toBe(413);
  });
});

describe('CSRF: cookie-authenticated changes without Origin or Sec-Fetch-Site', () => {
  async function cookie(): Promise<string> {
    const res = await call('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: env.ADMIN_TOKEN }) });
    expect(res.status).toBe(204);
    return res.headers.get('Set-Cookie')!.split(';')[0]!;
  }

  it.each([
    ['POST', '/api/connections'],
    ['PUT', '/api/connections/csrf-target'],
    ['PATCH', '/api/connections/csrf-target'],
    ['DELETE', '/api/connections/csrf-target'],
    ['POST', '/api/connections/csrf-target/keys'],
  ])('refuses %s %s with 403 when neither header is sent', async (method, path) => {
    const c = await cookie();
    const slug = 'csrf-target';
    await admin(`/api/connections/${slug}`, { method: 'DELETE' });
    expect((await admin('/api/connections', { method: 'POST', json: { name: 'Csrf', slug, baseUrl: 'https://api.acme.example', auth: { method: 'none' } } })).status).toBe(201);
    const res = await call(path, { method, headers: { Cookie: c, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'x' }) });
    expect(res.status).toBe(403);
    expect((await problem(res)).type).toMatch(/\/forbidden-origin$/);
    expect((await admin(`/api/connections/${slug}`)).status).toBe(200);
    expect(((await (await admin(`/api/connections/${slug}/keys`)).json()) as { keys: unknown[] }).keys).toEqual([]);
  });

  it.each([
    ['Origin of another site', { Origin: 'https://evil.example' }],
    ['Origin null', { Origin: 'null' }],
    ['Sec-Fetch-Site cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { 'Sec-Fetch-Site': 'same-site' }],
    ['Sec-Fetch-Site none', { 'Sec-Fetch-Site': 'none' }],
    ['own Origin but Sec-Fetch-Site cross-site', { Origin: ORIGIN, 'Sec-Fetch-Site': 'cross-site' }],
  ])('refuses a cookie-authenticated change with %s', async (_label, extra) => {
    const c = await cookie();
    const res = await call('/api/connections', { method: 'POST', headers: { Cookie: c, 'Content-Type': 'application/json', ...extra }, body: JSON.stringify({}) });
    expect(res.status).toBe(403);
  });

  it.each([
    ['its own Origin', { Origin: ORIGIN }],
    ['Sec-Fetch-Site same-origin', { 'Sec-Fetch-Site': 'same-origin' }],
  ])('lets a cookie-authenticated change through with %s', async (_label, extra) => {
    const c = await cookie();
    const res = await call('/api/connections', { method: 'POST', headers: { Cookie: c, 'Content-Type': 'application/json', ...extra }, body: JSON.stringify({}) });
    expect(res.status).toBe(400);
  });

  it('needs neither header for a cookie-authenticated read, nor for a bearer-authenticated change', async () => {
    const c = await cookie();
    expect((await call('/api/connections', { headers: { Cookie: c } })).status).toBe(200);
    expect((await admin('/api/connections', { method: 'POST', json: {} })).status).toBe(400);
  });
});

describe('relay timeout', () => {
  it('answers 504 when the headers come later than the connection timeout, after one upstream request', async () => {
    const m = new Mock();
    await m.on('POST', '/v2/slow', { delayMs: 2500, json: { late: true } });
    const { slug, key } = await connect(m.url('/v2'), { method: 'none' }, { timeoutMs: 1000 });
    const logs = captureLogs();
    try {
      const started = Date.now();
      const res = await relayCall(slug, key, '/slow', { method: 'POST', body: 'payload' });
      expect(res.status).toBe(504);
      const body = await problem(res);
      expect(body.type).toMatch(/\/upstream-timeout$/);
      expect(body.detail).toContain('1000 ms');
      expect(JSON.stringify(body)).not.toContain('late');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      logs.restore();
    }
    expect((await m.received()).requests).toHaveLength(1);
  });

  it('answers normally when the headers come just inside the timeout', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/inside', { delayMs: 400, json: { ok: true } });
    const { slug, key } = await connect(m.url('/v2'), { method: 'none' }, { timeoutMs: 1000 });
    const res = await relayCall(slug, key, '/inside');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it.each([999, 120_001, 1.5, '5000'])('refuses the relay timeout %j at save', async (timeoutMs) => {
    const res = await admin('/api/connections', { method: 'POST', json: { name: 'T', slug: uniqueSlug('to'), baseUrl: 'https://api.acme.example', auth: { method: 'none' }, relay: { timeoutMs } } });
    expect(res.status).toBe(400);
    expect(Object.keys((await problem(res)).errors ?? {})).toEqual(['relay.timeoutMs']);
  });
});

describe('9. constant-time comparison of the admin token, session ids and relay keys', () => {
  it('compares the admin token with timingSafeEqual', async () => {
    const spy = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    expect((await admin('/api/connections')).status).toBe(200);
    expect(spy).toHaveBeenCalled();
    const wrong = await call('/api/connections', { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN.slice(0, -1)}x` } });
    expect(wrong.status).toBe(401);
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(2);
  });

  it('checks the admin token at sign-in with timingSafeEqual', async () => {
    const spy = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    const res = await call('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: env.ADMIN_TOKEN }) });
    expect(res.status).toBe(204);
    expect(spy).toHaveBeenCalled();
  });

  it('checks the session cookie by an HMAC verification, not by comparing strings', async () => {
    const res = await call('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: env.ADMIN_TOKEN }) });
    const c = res.headers.get('Set-Cookie')!.split(';')[0]!;
    const spy = vi.spyOn(crypto.subtle, 'verify');
    expect((await call('/api/connections', { headers: { Cookie: c } })).status).toBe(200);
    expect(spy).toHaveBeenCalled();
    expect(spy.mock.calls.some(([algorithm]) => (typeof algorithm === 'string' ? algorithm : algorithm.name) === 'HMAC')).toBe(true);
  });

  it('compares relay key hashes with timingSafeEqual, with every stored key', async () => {
    const m = new Mock();
    await m.on('GET', '/v2/x', { json: {} });
    const { slug, key } = await connect(m.url('/v2'), { method: 'none' });
    const second = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: 'second' } });
    expect(second.status).toBe(201);
    const spy = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    const wrong = `${key.slice(0, -4)}zzzz`;
    expect((await relayCall(slug, wrong, '/x')).status).toBe(401);
    expect(spy.mock.calls.length).toBe(2);
    for (const [a, b] of spy.mock.calls) expect((a as ArrayBufferView).byteLength).toBe((b as ArrayBufferView).byteLength);
    await expectNoUpstreamCall(m);
  });
});
