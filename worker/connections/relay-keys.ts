/**
 * Relay keys: how they are made and what is kept of them. The key itself is shown once; only its
 * SHA-256 is stored (in the connection's home, and in the read path's copy of the connection).
 */
import * as v from 'valibot';
import type { Clock } from '../clock';
import { randomId, sha256Hex, toBase64Url } from './seal';

/** Relay keys: `rk_` + 32 random bytes (256 bits), base64url. */
export const RELAY_KEY_PREFIX = 'rk_';
const RELAY_KEY_BYTES = 32;
export const MAX_KEYS_PER_CONNECTION = 50;
/** What a relay key id may look like (checked before it reaches storage). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const RelayKeyRecordSchema = v.strictObject({
  id: v.pipe(v.string(), v.regex(KEY_ID_PATTERN)),
  name: v.string(),
  hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  createdAt: v.string(),
});

/** A relay key as stored: never the key, only its hash. */
export type RelayKeyRecord = v.InferOutput<typeof RelayKeyRecordSchema>;

/** Last time part of a key id made in this isolate (ids stay ordered within a millisecond). */
let lastKeyIdTime = 0;

/** A new relay key id: 9 base36 characters of time (ordered), then 8 random base64url characters. */
export function newKeyId(now: Clock): string {
  lastKeyIdTime = Math.max(now(), lastKeyIdTime + 1);
  return lastKeyIdTime.toString(36).padStart(9, '0') + randomId(6);
}

/** A new relay key and its hash. */
export async function newRelayKey(): Promise<{ key: string; hash: string }> {
  const key = RELAY_KEY_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(RELAY_KEY_BYTES)));
  return { key, hash: await sha256Hex(key) };
}
