/**
 * What shapes a connection's access token, and the token as cached. Shared by the connection's
 * home (which requests tokens) and the read path (which serves them), so both agree on when a
 * token belongs to a record.
 */
import * as v from 'valibot';
import { DEFAULT_TOKEN_LIFETIME_SECONDS } from '../../contract/connection';
import type { StoredConnection } from '../connections/records';
import { sha256Hex } from '../connections/seal';

/** Longest time a token is refreshed before it expires; shorter for short-lived tokens (half their lifetime). */
export const TOKEN_REFRESH_SKEW_SECONDS = 60;

/** A connection whose method is OAuth 2.0 client credentials. */
export type OAuthConnection = StoredConnection & {
  auth: Extract<StoredConnection['auth'], { method: 'oauth2_client_credentials' }>;
};

/** True when the connection uses the client credentials grant. */
export function isOAuthConnection(record: StoredConnection): record is OAuthConnection {
  return record.auth.method === 'oauth2_client_credentials';
}

/** An access token as cached (in memory, in the home and, sealed, in the KV mirror). */
export const CachedTokenSchema = v.strictObject({
  accessToken: v.string(),
  tokenType: v.string(),
  /** Epoch milliseconds. */
  expiresAt: v.number(),
  /** Epoch milliseconds when it was obtained. */
  obtainedAt: v.number(),
  scope: v.optional(v.string()),
  /** The settings it was obtained with (`fingerprintOf`). */
  fingerprint: v.string(),
});
export type CachedToken = v.InferOutput<typeof CachedTokenSchema>;

const fingerprints = new WeakMap<StoredConnection, string>();

/**
 * Everything that shapes a connection's token, in a canonical string (no secret: the secret's
 * version stands for it), including the record's id: a re-created slug never shares a token.
 * Memoised per record object, so the relay's cached record costs a lookup.
 */
export function fingerprintOf(record: OAuthConnection): string {
  let fingerprint = fingerprints.get(record);
  if (fingerprint === undefined) {
    const { auth } = record;
    const params = Object.entries(auth.tokenParams ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    fingerprint = JSON.stringify([
      'v2',
      record.id,
      auth.tokenUrl,
      auth.clientId,
      record.secretVersion,
      auth.scope ?? null,
      auth.clientAuth,
      params,
      auth.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
    ]);
    fingerprints.set(record, fingerprint);
  }
  return fingerprint;
}

/** When a token should be replaced: `min(60 s, lifetime / 2)` before it expires. */
export function refreshAtOf(token: Pick<CachedToken, 'expiresAt' | 'obtainedAt'>): number {
  const lifetime = token.expiresAt - token.obtainedAt;
  return token.expiresAt - Math.min(TOKEN_REFRESH_SKEW_SECONDS * 1000, lifetime / 2);
}

/** Worked-out contexts by fingerprint: strings, never promises (a promise is its request's). */
const contexts = new Map<string, string>();
const CONTEXT_MEMO_MAX = 1000;

/** The additional data that binds a sealed token to its connection id and settings. */
export async function tokenContext(fingerprint: string, connectionId: string): Promise<string> {
  let context = contexts.get(fingerprint);
  if (context === undefined) {
    context = `token|${connectionId}|${await sha256Hex(fingerprint)}`;
    if (contexts.size >= CONTEXT_MEMO_MAX) contexts.clear();
    contexts.set(fingerprint, context);
  }
  return context;
}

/** A short fingerprint of an access token: how an isolate names the token an upstream refused. */
export async function tokenTag(accessToken: string): Promise<string> {
  return (await sha256Hex(accessToken)).slice(0, 32);
}

/** The KV key of a connection's token mirror. */
export function tokenMirrorKey(connectionId: string): string {
  return `tok:${connectionId}`;
}
