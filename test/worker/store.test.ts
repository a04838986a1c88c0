/** The store against real local KV: what it does with stored data that is not what it wrote. */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sealer } from '../../worker/connections/seal';
import { ConnectionStore } from '../../worker/connections/store';
import { admin, captureLogs, oauthInput } from '../support/worker-api';

const store = () => new ConnectionStore(env.CONNECTIONS, Sealer.fromSecretsKey(env.SECRETS_KEY));
let counter = 0;
const uniqueSlug = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`;

let logs: ReturnType<typeof captureLogs>;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => {
  logs.restore();
});

describe('token statistics read back', () => {
  it('answers what was written', async () => {
    const slug = uniqueSlug('stats');
    const stats = { fetches: 3, lastFetchAt: '2026-01-01T00:00:00.000Z', lastError: { at: '2026-01-01T00:00:00.000Z', code: 'oauth-error', error: 'invalid_client', status: 401 } };
    await store().putTokenStats(slug, stats);
    expect(await store().getTokenStats(slug)).toEqual(stats);
  });

  it.each([
    ['a count that is not a number', { fetches: 'many', lastError: null }],
    ['a negative count', { fetches: -1 }],
    ['a last error without a code', { fetches: 1, lastError: { at: 'x' } }],
    ['a last error that is text', { fetches: 1, lastError: '<script>' }],
    ['an array', [1, 2]],
    ['text that is not JSON', 'not json{'],
  ])('reads %s as no statistics, and logs the key only', async (_label, stored) => {
    const slug = uniqueSlug('stats');
    await env.CONNECTIONS.put(`tokstat:${slug}`, typeof stored === 'string' ? stored : JSON.stringify(stored));
    expect(await store().getTokenStats(slug)).toEqual({ fetches: 0, lastError: null });
    expect(logs.text()).toContain(`tokstat:${slug}`);
    expect(logs.text()).not.toContain('<script>');
    expect(logs.text()).not.toContain('many');
  });
});

describe('connection records read back', () => {
  it('never logs a stored value when a record fails validation, only where', async () => {
    const slug = uniqueSlug('bad');
    const relay = { allowedPaths: ['stored-value-77'] };
    await env.CONNECTIONS.put(`conn:${slug}`, JSON.stringify({ ...(await validRecord()), slug, name: 'stored-name-77', relay }));
    const res = await admin(`/api/connections/${slug}`);
    expect(res.status).toBe(500);
    expect(logs.text()).toContain(`conn:${slug}`);
    expect(logs.text()).toContain('relay.allowedPaths.0');
    expect(logs.text()).not.toContain('stored-value-77');
  });
});

/** A stored record as the store writes it today. */
async function validRecord(): Promise<Record<string, unknown>> {
  const slug = uniqueSlug('valid');
  expect((await admin('/api/connections', { method: 'POST', json: oauthInput({ slug }) })).status).toBe(201);
  return (await env.CONNECTIONS.get(`conn:${slug}`, 'json')) as Record<string, unknown>;
}
