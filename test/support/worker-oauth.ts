/** Helpers for the token engine's worker tests: the real authorization server, connections, KV spies. */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { StoredConnection } from '../../worker/connections/records';
import type { OidcClient, OidcFixture } from './oidc-types';
import { admin, oauthInput } from './worker-api';
import { storedRecord } from './worker-homes';

export type { OidcClient as OidcClientFixture } from './oidc-types';

/** The oidc-provider fixture started by the global setup. */
export const oidc = (env as unknown as { OIDC: OidcFixture }).OIDC;

let counter = 0;
/** A slug no other test uses (KV and the isolate's token cache live for the whole file). */
export function uniqueSlug(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Creates an OAuth connection through the API and returns its stored record. */
export async function createOAuthConnection(auth: Record<string, unknown>, slug = uniqueSlug()): Promise<StoredConnection> {
  const res = await admin('/api/connections', { method: 'POST', json: oauthInput({ slug }, auth) });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await storedRecord(slug))!;
}

/** Replaces a connection through the API (`PUT`) and returns its stored record. */
export async function replaceOAuthConnection(slug: string, auth: Record<string, unknown>): Promise<StoredConnection> {
  const res = await admin(`/api/connections/${slug}`, { method: 'PUT', json: oauthInput({ slug }, auth) });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await storedRecord(slug))!;
}

/** Auth settings of a connection to one of the authorization server's clients. */
export function oidcAuth(client: OidcClient, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    clientAuth: client.clientAuth,
    tokenUrl: oidc.tokenUrl,
    scope: undefined,
    ...extra,
  };
}

/** A KV namespace that counts the operations made through it. */
export function countingKv(kv: KVNamespace = env.CONNECTIONS): { kv: KVNamespace; counts: Record<string, number>; total: () => number } {
  const counts: Record<string, number> = {};
  const proxy = new Proxy(kv, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counts[String(prop)] = (counts[String(prop)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv: proxy, counts, total: () => Object.values(counts).reduce((a, b) => a + b, 0) };
}

/** The claims of a JWT (no signature check: the test only reads what the server put there). */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
}

/** The id and secret of an `Authorization: Basic` header, decoded per RFC 6749 §2.3.1. */
export function basicCredentials(header: string | string[] | undefined): { id: string; secret: string; raw: string } {
  const value = String(header);
  expect(value).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const raw = atob(value.slice('Basic '.length));
  const colon = raw.indexOf(':');
  const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
  return { id: decode(raw.slice(0, colon)), secret: decode(raw.slice(colon + 1)), raw };
}

/** Asserts that none of `secrets` appears in `text`. */
export function expectNoSecrets(text: string, secrets: string[], where: string): void {
  for (const secret of secrets) {
    expect(text.includes(secret), `${where} contains a secret`).toBe(false);
  }
}

/** A promise and its resolve function, to hold something back until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A KV namespace whose writes and deletes, and reads of keys starting with `holdReadsOf`, wait for
 * `gate` (the token cache's bookkeeping: token write, statistics read and write).
 */
export function gatedKv(gate: Promise<unknown>, holdReadsOf = 'tokstat:', kv: KVNamespace = env.CONNECTIONS): KVNamespace {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (prop === 'put' || prop === 'delete' || (prop === 'get' && String(args[0]).startsWith(holdReadsOf))) await gate;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A `fetch` that waits for `gate` before sending: a token request held in flight. */
export function gatedFetch(gate: Promise<unknown>): typeof fetch {
  return async (input, init) => {
    await gate;
    return fetch(input, init);
  };
}
