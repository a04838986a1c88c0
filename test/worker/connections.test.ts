import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { homeOf } from '../../worker/connections/home';
import { app } from '../../worker/index';
import { Sealer } from '../../worker/connections/seal';
import { admin, captureLogs, dumpKv, oauthInput, ORIGIN } from '../support/worker-api';
import { openStoredSecret, resetStorage, storedRecord } from '../support/worker-homes';

const SECRET = 'pa55-Secret!%&+ :/=é';

const clearKv = resetStorage;

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: expect.stringMatching(new RegExp(`/${code}$`)), status, title: expect.any(String), detail: expect.any(String) });
  return body;
}

let logs: ReturnType<typeof captureLogs>;
beforeEach(async () => {
  await clearKv();
  logs = captureLogs();
});
afterEach(() => {
  const text = logs.text();
  logs.restore();
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain('pa55-Secret');
});

describe('POST /api/connections', () => {
  it('creates a connection and answers its view without the secret', async () => {
    const res = await admin('/api/connections', { method: 'POST', json: oauthInput() });
    expect(res.status).toBe(201);
    expect(res.headers.get('Location')).toBe('/api/connections/acme-crm');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const text = await res.text();
    expect(text).not.toContain('pa55-Secret');
    const view = JSON.parse(text);
    expect(view).toEqual({
      name: 'Acme CRM',
      slug: 'acme-crm',
      baseUrl: 'https://api.acme.example/v2',
      auth: {
        method: 'oauth2_client_credentials',
        clientId: 'acme-client',
        clientSecretSet: true,
        tokenUrl: 'https://auth.acme.example/oauth/token',
        scope: 'read:orders write:orders',
        clientAuth: 'client_secret_basic',
      },
      relayUrl: `${ORIGIN}/relay/acme-crm`,
      version: 1,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: view.createdAt,
    });
    expect(res.headers.get('ETag')).toBe('"1"');
  });

  it('seals the secret at rest so raw KV never holds it in clear', async () => {
    await admin('/api/connections', { method: 'POST', json: oauthInput() });
    const raw = await dumpKv();
    expect(raw).toContain('acme-client');
    expect(raw).not.toContain('pa55-Secret');
    expect(raw).not.toContain(encodeURIComponent(SECRET));
    const record = (await storedRecord('acme-crm'))!;
    expect(await openStoredSecret(record)).toBe(SECRET);
  });

  it('binds a sealed secret to its slug so it cannot be moved to another record', async () => {
    await admin('/api/connections', { method: 'POST', json: oauthInput() });
    const raw = (await env.CONNECTIONS.get('conn:acme-crm', 'json')) as Record<string, unknown>;
    await env.CONNECTIONS.put('conn:other', JSON.stringify({ ...raw, slug: 'other' }));
    const moved = (await storedRecord('other'))!;
    await expect(openStoredSecret(moved)).rejects.toThrow();
  });

  it('keeps tokenParams, clientAuth and relay policy', async () => {
    const input = oauthInput(
      { relay: { allowedMethods: ['GET'], allowedPaths: ['/orders'], allowedOrigins: ['https://shop.example'], timeoutMs: 5000 } },
      { clientAuth: 'client_secret_post', tokenParams: { audience: 'https://api.acme.example' } },
    );
    const res = await admin('/api/connections', { method: 'POST', json: input });
    expect(res.status).toBe(201);
    const view = (await res.json()) as Record<string, any>;
    expect(view.auth.clientAuth).toBe('client_secret_post');
    expect(view.auth.tokenParams).toEqual({ audience: 'https://api.acme.example' });
    expect(view.relay).toEqual(input.relay);
  });

  it('answers 409 when the slug is taken and leaves the first connection unchanged', async () => {
    await admin('/api/connections', { method: 'POST', json: oauthInput() });
    const res = await admin('/api/connections', { method: 'POST', json: oauthInput({ name: 'Impostor' }, { clientSecret: 'other-secret' }) });
    const body = await expectProblem(res, 409, 'slug-taken');
    expect(body.errors).toEqual({ slug: [expect.any(String)] });
    const record = (await storedRecord('acme-crm'))!;
    expect(record.name).toBe('Acme CRM');
    expect(await openStoredSecret(record)).toBe(SECRET);
  });

  it.each([
    ['a bad slug', oauthInput({ slug: '-Bad_Slug' }), 'slug'],
    ['a slug of 65 characters', oauthInput({ slug: 'a'.repeat(65) }), 'slug'],
    ['an empty name', oauthInput({ name: '   ' }), 'name'],
    ['a name of 101 characters', oauthInput({ name: 'n'.repeat(101) }), 'name'],
    ['an http base URL to a public host', oauthInput({ baseUrl: 'http://api.acme.example' }), 'baseUrl'],
    ['a base URL with user info', oauthInput({ baseUrl: 'https://u:p@api.acme.example' }), 'baseUrl'],
    ['a base URL with a fragment', oauthInput({ baseUrl: 'https://api.acme.example/#x' }), 'baseUrl'],
    ['a base URL with a query', oauthInput({ baseUrl: 'https://api.acme.example/?a=1' }), 'baseUrl'],
    ['a relative base URL', oauthInput({ baseUrl: '/v2' }), 'baseUrl'],
    ['a public IP literal', oauthInput({ baseUrl: 'https://10.0.0.1/v2' }), 'baseUrl'],
    ['a non-https token URL', oauthInput({}, { tokenUrl: 'ftp://auth.acme.example/token' }), 'auth.tokenUrl'],
    ['a missing client secret', oauthInput({}, { clientSecret: undefined }), 'auth.clientSecret'],
    ['an empty client ID', oauthInput({}, { clientId: '' }), 'auth.clientId'],
    ['a number as client ID', oauthInput({}, { clientId: 42 }), 'auth.clientId'],
    ['an unknown client auth', oauthInput({}, { clientAuth: 'private_key_jwt' }), 'auth.clientAuth'],
    ['a token parameter that overrides grant_type', oauthInput({}, { tokenParams: { grant_type: 'password' } }), 'auth.tokenParams'],
    ['a token parameter named client_assertion_type', oauthInput({}, { tokenParams: { client_assertion_type: 'x' } }), 'auth.tokenParams'],
    ['an unknown authentication method', oauthInput({ auth: { method: 'magic' } }), 'auth.method'],
    ['an unknown top-level field', oauthInput({ admin: true }), 'admin'],
    ['an unknown auth field', oauthInput({}, { clientSecretSet: true }), 'auth'],
    ['a relay timeout below a second', oauthInput({ relay: { timeoutMs: 5 } }), 'relay.timeoutMs'],
  ])('rejects %s with field errors and writes nothing', async (_label, input, field) => {
    const res = await admin('/api/connections', { method: 'POST', json: input });
    const body = await expectProblem(res, 400, 'validation-failed');
    const errors = body.errors as Record<string, string[]>;
    const keys = Object.keys(errors);
    expect(keys.some((k) => k === field || (field !== '' && k.startsWith(field)))).toBe(true);
    expect((await env.CONNECTIONS.list()).keys).toEqual([]);
  });

  it('accepts a loopback http URL only when INSECURE_ALLOW_LOOPBACK is true', async () => {
    const input = oauthInput({ baseUrl: 'http://127.0.0.1:9999/api' }, { tokenUrl: 'http://localhost:9999/token' });
    const refused = await app.request('/api/connections', { method: 'POST', headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(input) }, { ...env, INSECURE_ALLOW_LOOPBACK: 'false' });
    const body = await expectProblem(refused, 400, 'validation-failed');
    expect(Object.keys(body.errors as object).sort()).toEqual(['auth.tokenUrl', 'baseUrl']);
    const accepted = await admin('/api/connections', { method: 'POST', json: input });
    expect(accepted.status).toBe(201);
  });

  it('answers 400 for malformed JSON and writes nothing', async () => {
    const res = await admin('/api/connections', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name": "x",' });
    await expectProblem(res, 400, 'invalid-json');
    expect((await env.CONNECTIONS.list()).keys).toEqual([]);
  });

  it('never echoes any part of a malformed body, which may hold a secret', async () => {
    for (const body of ['hunter2-client-secret', '{"auth": {"clientSecret": hunter2-client-secret}}', "{'clientSecret': 'hunter2-client-secret'}"]) {
      const res = await admin('/api/connections', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      const problem = await expectProblem(res, 400, 'invalid-json');
      expect(JSON.stringify(problem)).not.toMatch(/hunter|secret/i);
      expect(problem.detail).toMatch(/^The body is not valid JSON( \(at character \d+\))?\.$/);
    }
  });

  it('keeps the field errors of a body that has a "__proto__" member', async () => {
    const body = JSON.stringify(oauthInput()).replace(/^\{/, '{"__proto__": {"name": 1},');
    const res = await admin('/api/connections', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const problem = await expectProblem(res, 400, 'validation-failed');
    expect(Object.keys(problem.errors as object)).toEqual(['__proto__']);
    expect(problem.detail).toBe('1 field needs attention.');
    expect((await env.CONNECTIONS.list()).keys).toEqual([]);
  });

  it.each([
    ['a line break in a header key', { value: 'abc\r\nX-Injected: 1' }, 'auth.value'],
    ['a line feed in a header key', { value: 'abc\ndef' }, 'auth.value'],
    ['a NUL in a header key', { value: 'abc\u0000def' }, 'auth.value'],
    ['a non-ASCII header key', { value: 'schlüssel' }, 'auth.value'],
    ['a header key with leading spaces', { value: '  abc' }, 'auth.value'],
    ['the Host header', { name: 'Host' }, 'auth.name'],
    ['the Content-Length header', { name: 'content-length' }, 'auth.name'],
    ['the Transfer-Encoding header', { name: 'Transfer-Encoding' }, 'auth.name'],
    ['the Connection header', { name: 'Connection' }, 'auth.name'],
    ['the Cookie header', { name: 'Cookie' }, 'auth.name'],
    ['a Proxy- header', { name: 'Proxy-Authorization' }, 'auth.name'],
  ])('refuses an API key in a header with %s', async (_label, auth, field) => {
    const res = await admin('/api/connections', {
      method: 'POST',
      json: { name: 'Key', slug: 'key', baseUrl: 'https://api.example', auth: { method: 'api_key', name: 'X-Key', value: 'abc', in: 'header', ...auth } },
    });
    const body = await expectProblem(res, 400, 'validation-failed');
    expect(Object.keys(body.errors as object)).toEqual([field]);
    expect((await env.CONNECTIONS.list()).keys).toEqual([]);
  });

  it.each([
    ['in an Authorization header ("Authorization: ApiKey …")', { name: 'Authorization', value: 'ApiKey abc def' }],
    ['in the query with any characters, under any name', { name: 'host', value: 'a\r\nb schlüssel', in: 'query' }],
  ])('accepts an API key %s', async (_label, auth) => {
    const res = await admin('/api/connections', {
      method: 'POST',
      json: { name: 'Key', slug: 'key', baseUrl: 'https://api.example', auth: { method: 'api_key', in: 'header', ...auth } },
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it.each([['null'], ['[]'], ['"text"'], ['42']])('answers 400 for the JSON value %s', async (body) => {
    const res = await admin('/api/connections', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    await expectProblem(res, 400, 'validation-failed');
  });

  it('answers 415 when the body is not declared JSON', async () => {
    const res = await admin('/api/connections', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(oauthInput()) });
    await expectProblem(res, 415, 'unsupported-media-type');
    expect((await env.CONNECTIONS.list()).keys).toEqual([]);
  });

  it('answers 413 for a body over 64 KiB, whatever it holds, and writes nothing', async () => {
    const big = JSON.stringify(oauthInput({ name: 'x'.repeat(70 * 1024) }));
    const res = await admin('/api/connections', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: big });
    await expectProblem(res, 413, 'payload-too-large');
    const garbage = await admin('/api/connections', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '['.repeat(65 * 1024) });
    await expectProblem(garbage, 413, 'payload-too-large');
    expect((await env.CONNECTIONS.list()).keys).toEqual([]);
  });
});

describe('GET /api/connections', () => {
  it('answers an empty list', async () => {
    const res = await admin('/api/connections');
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toEqual({ connections: [], cursor: null });
  });

  it('leaves out a record that cannot be read, logging its key only', async () => {
    await admin('/api/connections', { method: 'POST', json: oauthInput() });
    await env.CONNECTIONS.put('conn:broken', JSON.stringify({ v: 2, slug: 'broken', auth: { method: 'bearer', token: 'pa55-Secret-broken' } }));
    await env.CONNECTIONS.put('conn:not-json', 'pa55-Secret{');
    const res = await admin('/api/connections');
    expect(res.status).toBe(200);
    const { connections } = (await res.json()) as { connections: { slug: string }[] };
    expect(connections.map((c) => c.slug)).toEqual(['acme-crm']);
    expect(logs.text()).toContain('conn:broken');
    expect(logs.text()).toContain('conn:not-json');
  });

  it('lists every connection without secrets', async () => {
    await admin('/api/connections', { method: 'POST', json: oauthInput() });
    await admin('/api/connections', { method: 'POST', json: oauthInput({ slug: 'beta', name: 'Beta' }) });
    await admin('/api/connections', { method: 'POST', json: { name: 'Open', slug: 'open', baseUrl: 'https://open.example', auth: { method: 'none' } } });
    const res = await admin('/api/connections');
    const text = await res.text();
    expect(text).not.toContain('pa55-Secret');
    const { connections, cursor } = JSON.parse(text) as { connections: Record<string, unknown>[]; cursor: string | null };
    expect(cursor).toBeNull();
    expect(connections.map((c) => c.slug)).toEqual(['acme-crm', 'beta', 'open']);
    expect(connections[0]).toEqual({
      slug: 'acme-crm',
      name: 'Acme CRM',
      method: 'oauth2_client_credentials',
      baseOrigin: 'https://api.acme.example',
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      version: 1,
      lastCallAt: null,
      calls24h: 0,
      errorRate24h: null,
    });
    expect(connections[2]).toMatchObject({ slug: 'open', method: 'none', baseOrigin: 'https://open.example' });
  });
});

describe('GET /api/connections/<slug>', () => {
  it('answers the view', async () => {
    await admin('/api/connections', { method: 'POST', json: oauthInput() });
    const res = await admin('/api/connections/acme-crm');
    expect(res.status).toBe(200);
    const view = (await res.json()) as Record<string, any>;
    expect(view.slug).toBe('acme-crm');
    expect(view.auth.clientSecretSet).toBe(true);
    expect(view.auth).not.toHaveProperty('clientSecret');
  });

  it.each(['missing', 'Not_A_Slug', 'UPPER'])('answers 404 for %s', async (slug) => {
    await expectProblem(await admin(`/api/connections/${slug}`), 404, 'connection-not-found');
  });
});

describe('PUT /api/connections/<slug>', () => {
  beforeEach(async () => {
    const res = await admin('/api/connections', { method: 'POST', json: oauthInput() });
    expect(res.status).toBe(201);
  });

  it('keeps the stored secret when the update leaves it out', async () => {
    const before = (await storedRecord('acme-crm'))!;
    const res = await admin('/api/connections/acme-crm', {
      method: 'PUT',
      json: oauthInput({ name: 'Acme CRM (prod)' }, { clientSecret: undefined, scope: 'read:orders' }),
    });
    expect(res.status).toBe(200);
    const view = (await res.json()) as Record<string, any>;
    expect(view.name).toBe('Acme CRM (prod)');
    expect(view.auth.scope).toBe('read:orders');
    expect(view.auth.clientSecretSet).toBe(true);
    expect(view.createdAt).toBe(before.createdAt);
    const after = (await storedRecord('acme-crm'))!;
    expect(await openStoredSecret(after)).toBe(SECRET);
    expect(after.secretVersion).toBe(before.secretVersion);
  });

  it('replaces the secret when a new one is given and changes its version', async () => {
    const before = (await storedRecord('acme-crm'))!;
    const res = await admin('/api/connections/acme-crm', { method: 'PUT', json: oauthInput({}, { clientSecret: 'brand-new-secret' }) });
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain('brand-new-secret');
    const after = (await storedRecord('acme-crm'))!;
    expect(await openStoredSecret(after)).toBe('brand-new-secret');
    expect(after.secretVersion).not.toBe(before.secretVersion);
    expect(await dumpKv()).not.toContain('brand-new-secret');
  });

  it('answers 400 when the body names another slug, and changes nothing', async () => {
    const res = await admin('/api/connections/acme-crm', { method: 'PUT', json: oauthInput({ slug: 'acme-two', name: 'Changed' }) });
    const body = await expectProblem(res, 400, 'slug-immutable');
    expect(body.errors).toEqual({ slug: [expect.any(String)] });
    expect((await storedRecord('acme-crm'))!.name).toBe('Acme CRM');
    expect(await storedRecord('acme-two')).toBeNull();
  });

  it('requires the new secret when switching to a method that needs one', async () => {
    const res = await admin('/api/connections/acme-crm', {
      method: 'PUT',
      json: { name: 'Acme', slug: 'acme-crm', baseUrl: 'https://api.acme.example/v2', auth: { method: 'bearer' } },
    });
    const body = await expectProblem(res, 400, 'validation-failed');
    expect(body.errors).toHaveProperty(['auth.token']);
    expect((await storedRecord('acme-crm'))!.auth.method).toBe('oauth2_client_credentials');
  });

  it('switches method when the new secret is given', async () => {
    const res = await admin('/api/connections/acme-crm', {
      method: 'PUT',
      json: { name: 'Acme', slug: 'acme-crm', baseUrl: 'https://api.acme.example/v2', auth: { method: 'api_key', value: 'key-value-123' } },
    });
    expect(res.status).toBe(200);
    const view = (await res.json()) as Record<string, any>;
    expect(view.auth).toEqual({ method: 'api_key', name: 'x-key', in: 'header', valueSet: true });
    expect(await dumpKv()).not.toContain('key-value-123');
  });

  it('answers 400 for an invalid body and keeps the stored record', async () => {
    const before = await env.CONNECTIONS.get('conn:acme-crm');
    const res = await admin('/api/connections/acme-crm', { method: 'PUT', json: oauthInput({ baseUrl: 'nope' }) });
    await expectProblem(res, 400, 'validation-failed');
    expect(await env.CONNECTIONS.get('conn:acme-crm')).toBe(before);
    const malformed = await admin('/api/connections/acme-crm', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{' });
    await expectProblem(malformed, 400, 'invalid-json');
    expect(await env.CONNECTIONS.get('conn:acme-crm')).toBe(before);
  });

  it('answers 404 for a connection that does not exist', async () => {
    const res = await admin('/api/connections/ghost', { method: 'PUT', json: oauthInput({ slug: 'ghost' }) });
    await expectProblem(res, 404, 'connection-not-found');
    expect(await storedRecord('ghost')).toBeNull();
  });

  it('answers 404 for a connection that does not exist, also when the body names another slug or is not valid', async () => {
    for (const init of [
      { json: oauthInput({ slug: 'acme-crm' }) },
      { json: { name: 'x' } },
      { headers: { 'Content-Type': 'application/json' }, body: '{' },
    ]) {
      const res = await admin('/api/connections/ghost', { method: 'PUT', ...init });
      await expectProblem(res, 404, 'connection-not-found');
    }
    expect(await storedRecord('ghost')).toBeNull();
  });
});

describe('PUT /api/connections/<slug> when the secret would go to another host', () => {
  beforeEach(async () => {
    expect((await admin('/api/connections', { method: 'POST', json: oauthInput() })).status).toBe(201);
  });

  /** A connection of each method with a secret, the input that recreates it, and its secret field. */
  const CASES: [string, Record<string, unknown>, string][] = [
    ['bearer', { method: 'bearer', token: 'bearer-secret-1' }, 'token'],
    ['basic', { method: 'basic', username: 'u', password: 'basic-secret-1' }, 'password'],
    ['api_key', { method: 'api_key', name: 'X-Key', value: 'api-key-secret-1', in: 'header' }, 'value'],
    ['oauth2_client_credentials', oauthInput().auth, 'clientSecret'],
  ];
  const withoutSecret = (auth: Record<string, unknown>, field: string) => {
    const { [field]: _dropped, ...rest } = auth;
    return rest;
  };

  it.each(CASES)('refuses a new Base URL host for %s unless the secret is entered again, and keeps the record', async (method, auth, field) => {
    const slug = `move-${method.replace(/_/g, '-')}`;
    expect((await admin('/api/connections', { method: 'POST', json: { name: 'Move', slug, baseUrl: 'https://api.acme.example/v2', auth } })).status).toBe(201);
    const before = await env.CONNECTIONS.get(`conn:${slug}`);
    for (const baseUrl of ['https://evil.example/v2', 'https://api.acme.example:8443/v2', 'http://127.0.0.1:9/v2']) {
      const res = await admin(`/api/connections/${slug}`, { method: 'PUT', json: { name: 'Move', slug, baseUrl, auth: withoutSecret(auth, field) } });
      const body = await expectProblem(res, 400, 'validation-failed');
      expect(body.errors).toEqual({ [`auth.${field}`]: [expect.stringMatching(/^Enter the .+ again: the Base URL's host changed$/)] });
    }
    expect(await env.CONNECTIONS.get(`conn:${slug}`)).toBe(before);
    const moved = await admin(`/api/connections/${slug}`, { method: 'PUT', json: { name: 'Move', slug, baseUrl: 'https://new.example/v2', auth: { ...auth, [field]: 'entered-again' } } });
    expect(moved.status).toBe(200);
    expect(await openStoredSecret((await storedRecord(slug))!)).toBe('entered-again');
  });

  it('refuses a new Token URL host unless the client secret is entered again', async () => {
    const before = await env.CONNECTIONS.get('conn:acme-crm');
    const res = await admin('/api/connections/acme-crm', {
      method: 'PUT',
      json: oauthInput({}, { clientSecret: undefined, tokenUrl: 'https://collector.evil.example/oauth/token' }),
    });
    const body = await expectProblem(res, 400, 'validation-failed');
    expect(body.errors).toEqual({ 'auth.clientSecret': ["Enter the Client Secret again: the Token URL's host changed"] });
    expect(await env.CONNECTIONS.get('conn:acme-crm')).toBe(before);
    const both = await admin('/api/connections/acme-crm', {
      method: 'PUT',
      json: oauthInput({ baseUrl: 'https://other.example' }, { clientSecret: undefined, tokenUrl: 'https://collector.evil.example/token' }),
    });
    expect(((await expectProblem(both, 400, 'validation-failed')).errors as Record<string, string[]>)['auth.clientSecret']).toHaveLength(2);
    const given = await admin('/api/connections/acme-crm', {
      method: 'PUT',
      json: oauthInput({}, { clientSecret: 'for-the-new-host', tokenUrl: 'https://auth.new.example/oauth/token' }),
    });
    expect(given.status).toBe(200);
  });

  it('keeps the stored secret when only the path of the Base URL or Token URL changes', async () => {
    const before = (await storedRecord('acme-crm'))!;
    const res = await admin('/api/connections/acme-crm', {
      method: 'PUT',
      json: oauthInput({ baseUrl: 'https://api.acme.example/v3/' }, { clientSecret: undefined, tokenUrl: 'https://auth.acme.example/oauth2/token?tenant=1' }),
    });
    expect(res.status).toBe(200);
    const after = (await storedRecord('acme-crm'))!;
    expect(after.baseUrl).toBe('https://api.acme.example/v3/');
    expect(await openStoredSecret(after)).toBe(SECRET);
    expect(after.secretVersion).toBe(before.secretVersion);
  });

  it('needs no secret to move a connection without one', async () => {
    expect((await admin('/api/connections', { method: 'POST', json: { name: 'Open', slug: 'open', baseUrl: 'https://open.example', auth: { method: 'none' } } })).status).toBe(201);
    const res = await admin('/api/connections/open', { method: 'PUT', json: { name: 'Open', slug: 'open', baseUrl: 'https://elsewhere.example', auth: { method: 'none' } } });
    expect(res.status).toBe(200);
  });
});

describe('DELETE /api/connections/<slug>', () => {
  it('deletes the connection with its cached tokens and relay keys', async () => {
    await admin('/api/connections', { method: 'POST', json: oauthInput() });
    expect((await admin('/api/connections/acme-crm/keys', { method: 'POST', json: { name: 'website' } })).status).toBe(201);
    const { id } = (await storedRecord('acme-crm'))!;
    await env.CONNECTIONS.put(`tok:${id}`, 'sealed-token');
    const res = await admin('/api/connections/acme-crm', { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect((await env.CONNECTIONS.list()).keys).toEqual([]);
    const rows = await runInDurableObject(homeOf(env, 'acme-crm'), (_home, state) =>
      ['connection', 'relay_key', 'token', 'token_state'].map((t) => state.storage.sql.exec(`SELECT COUNT(*) AS n FROM ${t}`).one().n),
    );
    expect(rows).toEqual([0, 0, 0, 0]);
    await expectProblem(await admin('/api/connections/acme-crm'), 404, 'connection-not-found');
  });

  it('answers 404 for a connection that does not exist', async () => {
    await expectProblem(await admin('/api/connections/ghost', { method: 'DELETE' }), 404, 'connection-not-found');
  });
});

describe('unknown routes and methods under /api', () => {
  it('answers 404 problems for unknown routes', async () => {
    await expectProblem(await admin('/api/nope'), 404, 'not-found');
    await expectProblem(await admin('/api/connections/a/b/c/d'), 404, 'not-found');
  });

  it('answers 405 with Allow for a method a route does not take', async () => {
    const res = await admin('/api/connections', { method: 'PATCH', json: {} });
    await expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.get('Allow')).toContain('POST');
  });

  it.each([
    ['/api/session', 'PUT', ['DELETE', 'GET', 'HEAD', 'POST']],
    ['/api/connections/acme-crm', 'POST', ['DELETE', 'GET', 'HEAD', 'PUT']],
    ['/api/connections/acme-crm/test', 'GET', ['POST']],
    ['/api/connections/acme-crm/token', 'PUT', ['DELETE', 'GET', 'HEAD']],
    ['/api/connections/acme-crm/keys', 'DELETE', ['GET', 'HEAD', 'POST']],
    ['/api/connections/acme-crm/keys/abc', 'GET', ['DELETE']],
  ])('answers 405 on %s for %s, with the methods it takes in Allow', async (path, method, allowed) => {
    const res = await admin(path, { method });
    await expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.get('Allow')!.split(', ').sort()).toEqual(allowed);
  });

  it('never sends a stack trace for an unexpected error', async () => {
    await admin('/api/connections', { method: 'POST', json: oauthInput({ slug: 'broken' }) });
    await runInDurableObject(homeOf(env, 'broken'), async (home, state) => {
      state.storage.sql.exec(`UPDATE connection SET record = '{"v": 1, "slug": 12}'`);
      // The home keeps the record it wrote in memory: start it again to read storage.
      (home as unknown as { cached: unknown }).cached = undefined;
    });
    const res = await admin('/api/connections/broken');
    const body = await expectProblem(res, 500, 'internal-error');
    expect(JSON.stringify(body)).not.toMatch(/at |store\.ts|valid/);
  });
});
