/**
 * Caller authentication for the relay: `Authorization: Bearer <relay key>`, hashed once with
 * SHA-256 and compared in constant time with every key hash of the connection.
 */
import type { RelayKeyRecord } from '../connections/store';
import { RELAY_KEY_PREFIX } from '../connections/store';
import { AppError } from '../errors';
import { bearerCredential } from '../http';

/** Longest relay key accepted before hashing (real ones are 46 characters). */
const RELAY_KEY_MAX_LENGTH = 256;
const encoder = new TextEncoder();

/** The one 401 of the relay: the same answer for a missing, wrong, revoked or foreign key and an unknown slug. */
export function relayUnauthorized(): AppError {
  return new AppError('unauthorized', {
    detail: 'Send a valid relay key for this connection: Authorization: Bearer rk_…',
    headers: { 'WWW-Authenticate': 'Bearer realm="relay"' },
  });
}

/** The relay key presented in an `Authorization` header, or `null` when there is none that could be one. */
export function presentedRelayKey(authorization: string | null): string | null {
  const key = bearerCredential(authorization);
  if (!key || key.length > RELAY_KEY_MAX_LENGTH || !key.startsWith(RELAY_KEY_PREFIX)) return null;
  return key;
}

/**
 * The key record whose hash equals `hash` (lowercase hex SHA-256 of the presented key), or
 * `undefined`. Every stored hash is compared, in constant time, whatever matched before.
 */
export function matchRelayKey(keys: readonly RelayKeyRecord[], hash: string): RelayKeyRecord | undefined {
  const presented = encoder.encode(hash);
  let found: RelayKeyRecord | undefined;
  for (const key of keys) {
    const stored = encoder.encode(key.hash);
    if (stored.byteLength === presented.byteLength && crypto.subtle.timingSafeEqual(stored, presented)) found ??= key;
  }
  return found;
}
