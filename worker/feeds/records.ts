/**
 * Feed records: the stored shape (the Turnstile secret sealed, kept beside the feed), the ids and
 * keys a feed is given, and the KV keys its connection's home writes for it. Pure functions; the
 * home is the only writer, and what is read back is validated.
 *
 * KV keys (written only by the home of the feed's connection, see `STORAGE.md`):
 * - `feed:<id>`: `{"v": 1, "record", "keys"}` (the hot path's copy), metadata the FeedSummary.
 * - `feedkey:<publicKey>`: `{"feedId", "connection"}` (the trigger's index).
 * - `feedconn:<id>`: the connection slug (the admin API's way to the feed's home).
 */
import * as v from 'valibot';
import { FeedInputSchema, type FeedOutput } from '../../contract/feed';
import type { FeedSummary } from '../../contract/feed-api';
import { AppError } from '../errors';
import { issuePaths } from '../connections/records';
import { sha256Hex, toBase64Url, type Sealer } from '../connections/seal';

/** Version of the stored feed format. */
export const FEED_RECORD_FORMAT = 1;
/** Server trigger keys a feed may hold at once. */
export const MAX_TRIGGER_KEYS_PER_FEED = 20;

export const FEED_ID_PATTERN = /^fd_[a-z2-7]{16}$/;
export const PUBLIC_KEY_PATTERN = /^fpk_[a-z2-7]{26}$/;
const TRIGGER_KEY_PREFIX = 'ftk_';
const TRIGGER_KEY_BYTES = 32;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32 (lowercase, no padding) of `bytes`. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A new feed id: `fd_` + 80 random bits, base32. */
export function newFeedId(): string {
  return 'fd_' + base32(crypto.getRandomValues(new Uint8Array(10)));
}

/** A new public key: `fpk_` + 128 random bits, base32 (FEEDS.md §3.1). Not a secret. */
export function newPublicKey(): string {
  return 'fpk_' + base32(crypto.getRandomValues(new Uint8Array(16)));
}

/** A new server trigger key (`ftk_` + 256 random bits, base64url) and its SHA-256. */
export async function newTriggerKey(): Promise<{ key: string; hash: string }> {
  const key = TRIGGER_KEY_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(TRIGGER_KEY_BYTES)));
  return { key, hash: await sha256Hex(key) };
}

/** The additional data that binds a sealed feed secret to its feed and field. */
export function feedSecretContext(feedId: string, field: string): string {
  return `feed|${feedId}|${field}`;
}

export const TURNSTILE_SECRET_FIELD = 'trigger.browser.turnstile.secretKey';

export const StoredFeedSchema = v.strictObject({
  v: v.literal(FEED_RECORD_FORMAT),
  id: v.pipe(v.string(), v.regex(FEED_ID_PATTERN)),
  version: v.pipe(v.number(), v.integer(), v.minValue(1)),
  publicKey: v.pipe(v.string(), v.regex(PUBLIC_KEY_PATTERN)),
  /** The feed as validated, without its Turnstile secret. */
  feed: FeedInputSchema,
  /** The Turnstile secret, sealed (`feed|<id>|trigger.browser.turnstile.secretKey`). */
  turnstileSecret: v.optional(v.pipe(v.string(), v.maxLength(8192))),
  createdAt: v.string(),
  updatedAt: v.string(),
});

/** A feed as stored: secrets sealed and kept beside the feed. */
export type StoredFeed = v.InferOutput<typeof StoredFeedSchema>;

export const TriggerKeyRecordSchema = v.strictObject({
  id: v.string(),
  name: v.string(),
  hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  createdAt: v.string(),
});

/** A server trigger key as stored: never the key, only its hash. */
export type TriggerKeyRecord = v.InferOutput<typeof TriggerKeyRecordSchema>;

/** A stored feed read back, validated; an internal error names only the failing paths. */
export function parseStoredFeed(raw: unknown, where: string): StoredFeed {
  const parsed = v.safeParse(StoredFeedSchema, raw);
  if (parsed.success) return parsed.output;
  throw new AppError('internal-error', { internal: `stored feed ${where} failed validation at ${issuePaths(parsed.issues)}` });
}

/** The feed without its Turnstile secret, and that secret sealed for `feedId` (or `undefined`). */
export async function sealFeedSecret(sealer: Sealer, feedId: string, feed: FeedOutput): Promise<{ feed: FeedOutput; sealed: string | undefined }> {
  const { secretKey, ...turnstile } = feed.trigger.browser.turnstile;
  const bare: FeedOutput = { ...feed, trigger: { ...feed.trigger, browser: { ...feed.trigger.browser, turnstile } } };
  const sealed = secretKey === undefined ? undefined : await sealer.seal(secretKey, feedSecretContext(feedId, TURNSTILE_SECRET_FIELD));
  return { feed: bare, sealed };
}

/** The Turnstile secret of a stored feed in clear text (for the trigger only), or `undefined`. */
export function openFeedSecret(sealer: Sealer, record: StoredFeed): Promise<string> | undefined {
  return record.turnstileSecret === undefined ? undefined : sealer.open(record.turnstileSecret, feedSecretContext(record.id, TURNSTILE_SECRET_FIELD));
}

/** The feed as the View shows it: a stored secret stands as a placeholder that `feedView` turns into `secretKeySet: true`. */
export function feedForView(record: StoredFeed): FeedOutput {
  if (record.turnstileSecret === undefined) return record.feed;
  const feed = record.feed;
  return { ...feed, trigger: { ...feed.trigger, browser: { ...feed.trigger.browser, turnstile: { ...feed.trigger.browser.turnstile, secretKey: '' } } } };
}

/** Longest feed name kept in a Summary (KV list metadata holds at most 1,024 bytes). */
const SUMMARY_NAME_MAX = 100;

export type { FeedSummary } from '../../contract/feed-api';

/** The Summary metadata of a feed (its id is the KV key). */
export function toFeedSummary(record: StoredFeed): Omit<FeedSummary, 'id'> {
  return {
    name: record.feed.name.slice(0, SUMMARY_NAME_MAX),
    connection: record.feed.connection,
    enabled: record.feed.enabled,
    updatedAt: record.updatedAt,
    version: record.version,
  };
}

export const FeedSummaryMetadataSchema = v.strictObject({
  name: v.string(),
  connection: v.string(),
  enabled: v.boolean(),
  updatedAt: v.string(),
  version: v.number(),
});

/** KV key of a feed's hot-path copy. */
export function feedKey(id: string): string {
  return `feed:${id}`;
}

/** KV key of the public-key index. */
export function publicKeyIndexKey(publicKey: string): string {
  return `feedkey:${publicKey}`;
}

/** KV key of the feed-to-connection index. */
export function feedConnectionKey(id: string): string {
  return `feedconn:${id}`;
}
