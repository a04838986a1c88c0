/**
 * Caller authentication for the relay: `Authorization: Bearer <relay key>`, hashed with SHA-256
 * and compared in constant time with every key hash of the connection.
 *
 * A key that matched is remembered with the relay entry (record and keys) it matched in, for as
 * long as the store serves that very entry object: its next calls skip the hash. The store
 * replaces the entry when it reads KV again (every `RELAY_RECORD_CACHE_MS`) and drops it on any
 * write in this isolate (a revoked key, a deleted or edited connection), and with it everything
 * remembered: a key revoked here stops at once, one revoked elsewhere as soon as the entry is
 * read again, exactly as without the memo. A key of another connection never finds a memo of
 * that connection's entry, and a key that did not match is never remembered (it is hashed and
 * compared each time). The memo holds keys in this isolate's memory only, is never logged, and is
 * bounded per entry; a lookup is a hash-table hit on the exact key, which tells a wrong key
 * nothing by its timing.
 */
import { sha256Hex } from '../connections/seal';
import type { RelayEntry } from '../connections/read-path';
import { RELAY_KEY_PREFIX, type RelayKeyRecord } from '../connections/relay-keys';
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
function matchRelayKey(keys: readonly RelayKeyRecord[], hash: string): RelayKeyRecord | undefined {
  const presented = encoder.encode(hash);
  let found: RelayKeyRecord | undefined;
  for (const key of keys) {
    const stored = encoder.encode(key.hash);
    if (stored.byteLength === presented.byteLength && crypto.subtle.timingSafeEqual(stored, presented)) found ??= key;
  }
  return found;
}

/** Keys that matched, per relay entry object (see the module header). */
const matchedKeys = new WeakMap<RelayEntry, Map<string, RelayKeyRecord>>();
/** Bound per entry (a connection has at most 50 keys); past it the memo of that entry starts over. */
const MATCHED_KEYS_PER_ENTRY_MAX = 64;

/** The key record a presented key matched in this very entry before, if it did (no hashing). */
export function rememberedRelayKey(entry: RelayEntry | null, key: string): RelayKeyRecord | undefined {
  return entry ? matchedKeys.get(entry)?.get(key) : undefined;
}

/**
 * The key record of `entry` that the presented `key` opens, or `undefined` (also for no entry:
 * an unknown slug costs the same hash as a wrong key). A match is remembered for this entry.
 */
export async function checkRelayKey(entry: RelayEntry | null, key: string): Promise<RelayKeyRecord | undefined> {
  const hash = await sha256Hex(key);
  if (!entry) return undefined;
  const found = matchRelayKey(entry.keys, hash);
  if (found) {
    const memo = matchedKeys.get(entry);
    if (!memo) matchedKeys.set(entry, new Map([[key, found]]));
    else {
      if (memo.size >= MATCHED_KEYS_PER_ENTRY_MAX) memo.clear();
      memo.set(key, found);
    }
  }
  return found;
}
