/**
 * Sealing at rest, tested on the Sealer itself and on what the homes write: every seal has its
 * own random IV (two seals of one value differ), a ciphertext opens only in the context it was
 * sealed for, and mirrored tokens are bound to their connection and settings like connection
 * secrets are.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { Sealer } from '../../worker/connections/seal';
import { ReadPath } from '../../worker/connections/read-path';
import type { StoredConnection } from '../../worker/connections/records';
import type { OAuthConnection } from '../../worker/oauth/fingerprint';
import { TokenDoor, TokenIsolateState } from '../../worker/oauth/token-door';
import { admin } from '../support/worker-api';
import { storedRecord } from '../support/worker-homes';
import { Mock } from '../support/worker-mock';
import { uniqueSlug } from '../support/worker-oauth';

const sealer = () => Sealer.fromSecretsKey(env.SECRETS_KEY);

/** The IV of a sealed value (`v1.<iv>.<ciphertext>`, base64url), as bytes. */
function ivOf(sealed: string): Uint8Array {
  const part = sealed.split('.')[1]!;
  return Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
}

describe('the sealer', () => {
  it('opens what it sealed, in the same context', async () => {
    const s = sealer();
    const sealed = await s.seal('pa55-Secret!%&+ :/=é', 'conn|acme|auth.clientSecret');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('pa55');
    expect(await s.open(sealed, 'conn|acme|auth.clientSecret')).toBe('pa55-Secret!%&+ :/=é');
  });

  it('seals the same value twice into two different texts', async () => {
    const s = sealer();
    const a = await s.seal('same value', 'conn|acme|auth.token');
    const b = await s.seal('same value', 'conn|acme|auth.token');
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it('uses a random 96-bit IV for every seal: none repeats, none is all zeros', async () => {
    const s = sealer();
    const ivs = await Promise.all(Array.from({ length: 32 }, () => s.seal('v', 'ctx').then(ivOf)));
    for (const iv of ivs) {
      expect(iv.byteLength).toBe(12);
      expect(iv.some((byte) => byte !== 0)).toBe(true);
    }
    expect(new Set(ivs.map((iv) => iv.join(','))).size).toBe(ivs.length);
    // Every bit position takes both values across 32 random IVs (a counter or a fixed IV would not).
    const ored = ivs.reduce((acc, iv) => acc.map((byte, i) => byte | iv[i]!), new Uint8Array(12));
    const anded = ivs.reduce((acc, iv) => acc.map((byte, i) => byte & iv[i]!), new Uint8Array(12).fill(255));
    expect([...ored].every((byte) => byte === 255)).toBe(true);
    expect([...anded].every((byte) => byte === 0)).toBe(true);
  });

  it('refuses to open a value in another context (record, field or destination)', async () => {
    const s = sealer();
    const sealed = await s.seal('secret', 'conn|acme|auth.clientSecret|https://auth.acme.example');
    for (const other of ['conn|acme|auth.token|https://auth.acme.example', 'conn|other|auth.clientSecret|https://auth.acme.example', 'conn|acme|auth.clientSecret|https://evil.example', '']) {
      await expect(s.open(sealed, other)).rejects.toThrow();
    }
  });

  it('refuses a tampered ciphertext or IV', async () => {
    const s = sealer();
    const sealed = await s.seal('secret', 'ctx');
    const [version, iv, ciphertext] = sealed.split('.') as [string, string, string];
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    await expect(s.open(`${version}.${flip(iv)}.${ciphertext}`, 'ctx')).rejects.toThrow();
    await expect(s.open(`${version}.${iv}.${flip(ciphertext)}`, 'ctx')).rejects.toThrow();
  });

  it('refuses a value sealed with another SECRETS_KEY', async () => {
    const sealed = await Sealer.fromSecretsKey('another-secrets-key-0123456789abcdef0123').seal('secret', 'ctx');
    await expect(sealer().open(sealed, 'ctx')).rejects.toThrow();
  });
});

describe('mirrored tokens are bound to their context', () => {
  // The home seals a token for the KV mirror `tok:<connection id>`, bound to the id and the settings' fingerprint.
  async function oauthConnection(m: Mock, scope = 'read'): Promise<StoredConnection> {
    const slug = uniqueSlug('seal');
    const res = await admin('/api/connections', {
      method: 'POST',
      json: { name: 'Seal', slug, baseUrl: m.url('/v2'), auth: { method: 'oauth2_client_credentials', clientId: 'c', clientSecret: 'seal-client-secret', tokenUrl: m.url('/token'), scope } },
    });
    expect(res.status).toBe(201);
    return (await storedRecord(slug))!;
  }

  it('never opens a mirrored token copied to another connection, or kept across an edit of the settings', async () => {
    const m = new Mock();
    const accessToken = `at-${crypto.randomUUID()}`;
    await m.on('POST', '/token', { json: { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 } });
    const a = await oauthConnection(m);
    const b = await oauthConnection(m);
    const readPath = new ReadPath(env);
    expect((await new TokenDoor(env, { state: new TokenIsolateState() }).getAccessToken(a)).accessToken).toBe(accessToken);
    const raw = await env.CONNECTIONS.get(`tok:${a.id}`);
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(accessToken);
    expect((await readPath.mirroredToken(a as OAuthConnection))?.accessToken).toBe(accessToken);
    await env.CONNECTIONS.put(`tok:${b.id}`, raw!);
    expect(await readPath.mirroredToken(b as OAuthConnection)).toBeNull();
    const edited = { ...a, auth: { ...a.auth, scope: 'write' } } as OAuthConnection;
    expect(await readPath.mirroredToken(edited)).toBeNull();
  });

  it('seals a token afresh on every write: the same token twice gives two different KV values', async () => {
    const m = new Mock();
    const same = { json: { access_token: `at-${crypto.randomUUID()}`, token_type: 'Bearer', expires_in: 3600 } };
    await m.on('POST', '/token', same, same);
    const a = await oauthConnection(m);
    expect((await admin(`/api/connections/${a.slug}/test`, { method: 'POST' })).status).toBe(200);
    const first = await env.CONNECTIONS.get(`tok:${a.id}`);
    expect((await admin(`/api/connections/${a.slug}/test`, { method: 'POST' })).status).toBe(200);
    const second = await env.CONNECTIONS.get(`tok:${a.id}`);
    expect(first).not.toBeNull();
    expect(first).not.toBe(second);
  });
});
