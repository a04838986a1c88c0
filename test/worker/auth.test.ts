import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { app } from '../../worker/index';
import { admin, call, captureLogs, oauthInput, ORIGIN } from '../support/worker-api';
import { resetStorage } from '../support/worker-homes';

/** Every admin route of the contract, with a body where one is needed. */
const ADMIN_ROUTES: [string, string, unknown?][] = [
  ['GET', '/api/session'],
  ['DELETE', '/api/session'],
  ['GET', '/api/connections'],
  ['POST', '/api/connections', oauthInput()],
  ['GET', '/api/connections/acme-crm'],
  ['PUT', '/api/connections/acme-crm', oauthInput()],
  ['DELETE', '/api/connections/acme-crm'],
  ['POST', '/api/connections/acme-crm/test'],
  ['GET', '/api/connections/acme-crm/token'],
  ['DELETE', '/api/connections/acme-crm/token'],
  ['POST', '/api/connections/acme-crm/keys', { name: 'site' }],
  ['GET', '/api/connections/acme-crm/keys'],
  ['DELETE', '/api/connections/acme-crm/keys/abc'],
  ['GET', '/api/unknown-route'],
];

function request(method: string, path: string, body: unknown, headers: Record<string, string>) {
  return call(path, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
}

async function signIn(): Promise<string> {
  const res = await call('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: env.ADMIN_TOKEN }) });
  expect(res.status).toBe(204);
  const cookie = res.headers.get('Set-Cookie')!;
  return cookie.split(';')[0]!;
}

beforeEach(async () => {
  await resetStorage();
  expect((await admin('/api/connections', { method: 'POST', json: oauthInput() })).status).toBe(201);
});

describe('admin authentication', () => {
  it('answers health without authentication', async () => {
    const res = await call('/api/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it.each(ADMIN_ROUTES)('answers 401 to %s %s without credentials', async (method, path, body) => {
    const res = await request(method, path, body, {});
    expect(res.status).toBe(401);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
  });

  it.each(ADMIN_ROUTES)('answers 401 to %s %s with a wrong token', async (method, path, body) => {
    for (const authorization of [`Bearer ${env.ADMIN_TOKEN}x`, `Bearer ${env.ADMIN_TOKEN.slice(0, -1)}`, 'Bearer ', `Basic ${btoa(`admin:${env.ADMIN_TOKEN}`)}`, env.ADMIN_TOKEN]) {
      const res = await request(method, path, body, { Authorization: authorization });
      expect(res.status).toBe(401);
    }
    const forged = await request(method, path, body, { Cookie: 'eac_session=9999999999.abc.forged', Origin: ORIGIN });
    expect(forged.status).toBe(401);
  });

  it('leaves the stored connection untouched after refused writes', async () => {
    await request('PUT', '/api/connections/acme-crm', oauthInput({ name: 'Hacked' }), { Authorization: 'Bearer nope' });
    await request('DELETE', '/api/connections/acme-crm', undefined, {});
    const res = await admin('/api/connections/acme-crm');
    expect(((await res.json()) as { name: string }).name).toBe('Acme CRM');
  });

  it('answers 500 misconfigured, not open access, when ADMIN_TOKEN is missing', async () => {
    const logs = captureLogs();
    const res = await app.request('/api/connections', { headers: { Authorization: 'Bearer some-guess' } }, { ...env, ADMIN_TOKEN: '' });
    logs.restore();
    expect(res.status).toBe(500);
    expect(((await res.json()) as { type: string }).type).toMatch(/misconfigured$/);
  });
});

describe('session cookie', () => {
  it('refuses a wrong token at sign-in', async () => {
    const res = await call('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: 'wrong-token-wrong-token' }) });
    expect(res.status).toBe(401);
    expect(res.headers.get('Set-Cookie')).toBeNull();
  });

  it('sets an HttpOnly, SameSite=Strict cookie scoped to /api, not Secure on 127.0.0.1', async () => {
    const res = await call('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: env.ADMIN_TOKEN }) });
    const cookie = res.headers.get('Set-Cookie')!;
    expect(cookie).toMatch(/^eac_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/api/);
    expect(cookie).not.toMatch(/Secure/i);
    expect(cookie).not.toContain(env.ADMIN_TOKEN);
  });

  it('sets a Secure cookie on any other host', async () => {
    const res = await app.request('https://connector.example.com/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: env.ADMIN_TOKEN }) }, env);
    expect(res.headers.get('Set-Cookie')).toMatch(/Secure/);
  });

  it('authenticates reads by cookie', async () => {
    const cookie = await signIn();
    const res = await call('/api/connections', { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    const session = await call('/api/session', { headers: { Cookie: cookie } });
    expect(await session.json()).toEqual({ authenticated: true, insecureAllowLoopback: true });
  });

  it('accepts a same-origin unsafe request by cookie', async () => {
    const cookie = await signIn();
    const res = await call('/api/connections/acme-crm', { method: 'DELETE', headers: { Cookie: cookie, Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin' } });
    expect(res.status).toBe(204);
  });

  it.each([
    ['neither Origin nor Sec-Fetch-Site', {}],
    ['another Origin', { Origin: 'https://evil.example' }],
    ['Sec-Fetch-Site cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { 'Sec-Fetch-Site': 'same-site', Origin: ORIGIN }],
    ['Origin null', { Origin: 'null' }],
  ])('refuses a cookie-authenticated change with %s (403) and changes nothing', async (_label, headers) => {
    const cookie = await signIn();
    const res = await call('/api/connections/acme-crm', { method: 'DELETE', headers: { Cookie: cookie, ...headers } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { type: string }).type).toMatch(/forbidden-origin$/);
    expect((await admin('/api/connections/acme-crm')).status).toBe(200);
  });

  it('needs no Origin for bearer-authenticated changes', async () => {
    const res = await admin('/api/connections/acme-crm', { method: 'DELETE' });
    expect(res.status).toBe(204);
  });

  it('ends the session on sign-out', async () => {
    const cookie = await signIn();
    const res = await call('/api/session', { method: 'DELETE', headers: { Cookie: cookie, Origin: ORIGIN } });
    expect(res.status).toBe(204);
    expect(res.headers.get('Set-Cookie')).toMatch(/eac_session=;.*Max-Age=0/);
  });

  it('refuses the same cookie after sign-out: the session ends on the server, not only in the browser', async () => {
    const cookie = await signIn();
    expect((await call('/api/connections', { headers: { Cookie: cookie } })).status).toBe(200);
    const out = await call('/api/session', { method: 'DELETE', headers: { Cookie: cookie, Origin: ORIGIN } });
    expect(out.status).toBe(204);
    for (const [method, path, headers] of [
      ['GET', '/api/connections', {}],
      ['GET', '/api/session', {}],
      ['DELETE', '/api/connections/acme-crm', { Origin: ORIGIN }],
    ] as const) {
      const res = await call(path, { method, headers: { Cookie: cookie, ...headers } });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect((await admin('/api/connections/acme-crm')).status).toBe(200);
  });

  it('ends only the session signed out, and keeps only a hash of the session id in KV', async () => {
    const first = await signIn();
    const second = await signIn();
    expect((await call('/api/session', { method: 'DELETE', headers: { Cookie: first, Origin: ORIGIN } })).status).toBe(204);
    expect((await call('/api/connections', { headers: { Cookie: second } })).status).toBe(200);
    const { keys } = await env.CONNECTIONS.list({ prefix: 'session:' });
    expect(keys).toHaveLength(1);
    const id = decodeURIComponent(second.slice(second.indexOf('=') + 1)).split('.')[0]!;
    expect(id.length).toBeGreaterThanOrEqual(40);
    expect(keys[0]!.name).not.toContain(id);
    expect(keys[0]!.expiration).toBeGreaterThan(Date.now() / 1000 + 11 * 3600);
  });

  it('refuses a correctly signed cookie whose session is not stored', async () => {
    const cookie = await signIn();
    const { keys } = await env.CONNECTIONS.list({ prefix: 'session:' });
    await Promise.all(keys.map((k) => env.CONNECTIONS.delete(k.name)));
    expect((await call('/api/connections', { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it('rejects a cookie signed for another admin token', async () => {
    const cookie = await signIn();
    const res = await app.request('/api/connections', { headers: { Cookie: cookie } }, { ...env, ADMIN_TOKEN: 'a-rotated-admin-token-0123456789' });
    expect(res.status).toBe(401);
  });
});
