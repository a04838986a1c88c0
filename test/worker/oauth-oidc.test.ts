/**
 * The token engine against a real authorization server: oidc-provider on 127.0.0.1 (started by the
 * global setup), through the token provider and through `POST /api/connections/<slug>/test`.
 */
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredConnection } from '../../worker/connections/records';
import { TokenEndpointError } from '../../worker/oauth/token-client';
import { TokenDoor, TokenIsolateState } from '../../worker/oauth/token-door';
import { admin, captureLogs, dumpKv } from '../support/worker-api';
import { createOAuthConnection, expectNoSecrets, jwtClaims, oidc, oidcAuth, type OidcClientFixture } from '../support/worker-oauth';

const SECRETS = Object.values(oidc.clients).map((c) => c.clientSecret);
/** Every access token obtained in this file, to prove none is logged or stored in clear. */
const obtained: string[] = [];

// A fresh isolate's view each time: every token comes from the connection's home or its mirror.
const provider = () => new TokenDoor(env, { state: new TokenIsolateState() });

async function accessToken(record: StoredConnection) {
  const result = await provider().getAccessToken(record);
  obtained.push(result.accessToken);
  return result;
}

/** `POST /test` for a connection; checks the answer holds no secret and no token. */
async function testConnection(record: StoredConnection): Promise<Record<string, unknown>> {
  const res = await admin(`/api/connections/${record.slug}/test`, { method: 'POST' });
  expect(res.status).toBe(200);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  const text = await res.text();
  expectNoSecrets(text, [...SECRETS, ...obtained], 'the test answer');
  return JSON.parse(text);
}

let logs: ReturnType<typeof captureLogs>;
beforeAll(() => {
  logs = captureLogs();
});
afterAll(async () => {
  logs.restore();
  expect(obtained.length).toBeGreaterThan(0);
  expectNoSecrets(logs.text(), [...SECRETS, ...obtained], 'the log');
  const kv = await dumpKv();
  expect(kv).toContain('tok:');
  expectNoSecrets(kv, [...SECRETS, ...obtained], 'raw KV');
});

describe('client authentication against oidc-provider', () => {
  it.each([
    ['client_secret_basic', oidc.clients.basic],
    ['client_secret_post', oidc.clients.post],
  ] as [string, OidcClientFixture][])('obtains a token with %s', async (_method, client) => {
    const record = await createOAuthConnection(oidcAuth(client, { scope: 'read' }));
    const token = await accessToken(record);
    expect(token.fromCache).toBe(false);
    expect(token.accessToken.length).toBeGreaterThan(20);
    expect(await testConnection(record)).toMatchObject({ ok: true, tokenType: 'bearer', expiresIn: oidc.tokenTtlSeconds, scope: 'read' });
  });

  it.each([
    ['client_secret_basic', oidc.clients.specialBasic],
    ['client_secret_post', oidc.clients.specialPost],
  ] as [string, OidcClientFixture][])('authenticates with %s a client whose id and secret hold %&+ :/= and quotes', async (_method, client) => {
    expect(client.clientSecret).toMatch(/%&\+ :\/=/);
    const record = await createOAuthConnection(oidcAuth(client, { scope: 'read' }));
    expect((await accessToken(record)).fromCache).toBe(false);
    expect(await testConnection(record)).toMatchObject({ ok: true, scope: 'read' });
  });

  it('answers invalid_client for a wrong secret under client_secret_basic, with a hint naming client_secret_post', async () => {
    const record = await createOAuthConnection(oidcAuth(oidc.clients.basic, { clientSecret: 'not-the-secret' }));
    const error = await provider().getAccessToken(record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect((error as TokenEndpointError).failure).toMatchObject({ reason: 'oauth-error', status: 401, error: 'invalid_client' });

    const answer = await testConnection(record);
    expect(answer).toMatchObject({ ok: false, status: 401, error: 'invalid_client' });
    expect(answer.hint).toMatch(/client_secret_post/);
  });

  it('answers invalid_client for a wrong secret under client_secret_post, with a hint naming client_secret_basic', async () => {
    const record = await createOAuthConnection(oidcAuth(oidc.clients.post, { clientSecret: 'not-the-secret' }));
    const answer = await testConnection(record);
    expect(answer).toMatchObject({ ok: false, status: 401, error: 'invalid_client' });
    expect(answer.hint).toMatch(/client_secret_basic/);
  });
});

describe('scope and resource against oidc-provider', () => {
  it('grants the requested scope', async () => {
    const record = await createOAuthConnection(oidcAuth(oidc.clients.basic, { scope: 'read write' }));
    expect(await testConnection(record)).toMatchObject({ ok: true, scope: 'read write' });
  });

  it('refuses a scope the client may not have, with a hint naming it', async () => {
    const record = await createOAuthConnection(oidcAuth(oidc.clients.basic, { scope: 'read admin' }));
    const answer = await testConnection(record);
    expect(answer).toMatchObject({ ok: false, status: 400, error: 'invalid_scope' });
    expect(answer.hint).toMatch(/"read admin"/);
  });

  it('sends tokenParams.resource as a resource indicator and gets a token for that audience', async () => {
    const record = await createOAuthConnection(
      oidcAuth(oidc.clients.post, { scope: 'read write', tokenParams: { resource: oidc.resource } }),
    );
    const token = await accessToken(record);
    const claims = jwtClaims(token.accessToken);
    expect(claims).toMatchObject({ aud: oidc.resource, client_id: oidc.clients.post.clientId, scope: 'read write', iss: oidc.issuer });
    expect(await testConnection(record)).toMatchObject({ ok: true, expiresIn: oidc.resourceTokenTtlSeconds, scope: 'read write' });
  });

  it('refuses an unknown resource with invalid_target', async () => {
    const record = await createOAuthConnection(oidcAuth(oidc.clients.basic, { tokenParams: { resource: 'https://unknown.example/' } }));
    const answer = await testConnection(record);
    expect(answer).toMatchObject({ ok: false, status: 400, error: 'invalid_target' });
    expect(answer.hint).toMatch(/resource/);
  });

  it('tells a client without the client credentials grant what to enable', async () => {
    const record = await createOAuthConnection(oidcAuth(oidc.clients.noClientCredentials));
    const answer = await testConnection(record);
    expect(answer).toMatchObject({ ok: false, status: 400 });
    expect(answer.hint).toMatch(/not allowed to use the client credentials grant/);
  });
});

describe('caching real tokens', () => {
  it('serves the token obtained by the test from the cache afterwards', async () => {
    const record = await createOAuthConnection(oidcAuth(oidc.clients.basic, { scope: 'read' }));
    expect(await testConnection(record)).toMatchObject({ ok: true });
    const token = await accessToken(record);
    expect(token.fromCache).toBe(true);
    const status = await (await admin(`/api/connections/${record.slug}/token`)).json();
    expect(status).toMatchObject({ cached: true, fetches: 1, lastError: null });
  });
});
