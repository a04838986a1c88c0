/**
 * The feeds' read path: for the admin API, which connection's home holds a feed (`feedconn:<id>`)
 * and the listing (one KV `list()` per page over `feed:`, Summaries from its metadata); for the
 * trigger, the feed a public key opens (`feedkey:<publicKey>`, then `feed:<id>`, cached in the
 * isolate). It only reads these keys; the homes write them.
 */
import * as v from 'valibot';
import { AppError } from '../errors';
import {
  FEED_ID_PATTERN,
  FEED_RECORD_FORMAT,
  FeedSummaryMetadataSchema,
  PUBLIC_KEY_PATTERN,
  StoredFeedSchema,
  TriggerKeyRecordSchema,
  feedConnectionKey,
  feedKey,
  publicKeyIndexKey,
  type FeedSummary,
  type StoredFeed,
  type TriggerKeyRecord,
} from './records';
import { SLUG_PATTERN } from '../../contract/connection';

/**
 * The slug of the connection whose home holds feed `id`, or `feed-not-found`. An id that cannot
 * be a feed id, or has no index entry, costs at most one KV read and never wakes a home.
 */
export async function feedConnectionOf(env: Env, id: string): Promise<string> {
  const slug = FEED_ID_PATTERN.test(id) ? await env.CONNECTIONS.get(feedConnectionKey(id)) : null;
  if (slug === null || !SLUG_PATTERN.test(slug)) throw new AppError('feed-not-found', { detail: 'There is no feed with this id.' });
  return slug;
}

/** A listing request, validated by the route. */
export interface FeedListOptions {
  limit: number;
  cursor: string | undefined;
  connection: string | undefined;
}

/**
 * One page of feed Summaries, ordered by id: one KV `list()`. With `connection`, the page keeps
 * that connection's feeds only, so it may hold fewer than `limit`, even none, while `cursor` is
 * not null; only a null `cursor` ends the listing.
 */
export async function listFeeds(env: Env, options: FeedListOptions): Promise<{ feeds: FeedSummary[]; cursor: string | null }> {
  let page: KVNamespaceListResult<unknown, string>;
  try {
    page = await env.CONNECTIONS.list({ prefix: feedKey(''), limit: options.limit, ...(options.cursor ? { cursor: options.cursor } : {}) });
  } catch {
    throw new AppError('bad-request', { detail: 'The cursor is not valid: start the listing again without it.', extensions: { errors: { cursor: ['Not a cursor of this listing'] } } });
  }
  const feeds: FeedSummary[] = [];
  for (const key of page.keys) {
    const parsed = v.safeParse(FeedSummaryMetadataSchema, key.metadata);
    if (!parsed.success) {
      console.warn('[feeds] the listing left out an entry it could not read:', key.name);
      continue;
    }
    if (options.connection !== undefined && parsed.output.connection !== options.connection) continue;
    feeds.push({ id: key.name.slice(feedKey('').length), ...parsed.output });
  }
  return { feeds, cursor: page.list_complete ? null : page.cursor };
}

/** How long an isolate serves a feed (or its absence) to the trigger without reading KV. */
export const TRIGGER_FEED_CACHE_MS = 5_000;
/** Bound on the trigger cache: made-up public keys must not grow memory. */
const TRIGGER_CACHE_MAX_ENTRIES = 10_000;

const TriggerEntrySchema = v.strictObject({
  v: v.literal(FEED_RECORD_FORMAT),
  record: StoredFeedSchema,
  keys: v.array(TriggerKeyRecordSchema),
});

const PublicKeyIndexSchema = v.strictObject({ feedId: v.pipe(v.string(), v.regex(FEED_ID_PATTERN)), connection: v.pipe(v.string(), v.regex(SLUG_PATTERN)) });

/** What the trigger needs of a feed: the stored feed and its trigger key hashes. */
export interface TriggerEntry {
  record: StoredFeed;
  keys: TriggerKeyRecord[];
}

/** The trigger's view of feeds by public key, per isolate; `null` remembers a key that opens nothing. */
const triggerCache = new Map<string, { entry: TriggerEntry | null; until: number }>();

/**
 * The feed a public key opens, or `null` (unknown key, a feed that fails to read, a key that was
 * rotated away): `feedkey:<publicKey>` then `feed:<id>` from KV, kept in this isolate's memory
 * for `TRIGGER_FEED_CACHE_MS`, absence included. Never wakes a home. A disabled feed is returned
 * as it is: the trigger answers it like an unknown key.
 */
export async function triggerEntry(env: Env, publicKey: string, now = Date.now()): Promise<TriggerEntry | null> {
  if (!PUBLIC_KEY_PATTERN.test(publicKey)) return null;
  const hit = triggerCache.get(publicKey);
  if (hit && hit.until > now) return hit.entry;
  let entry: TriggerEntry | null = null;
  try {
    const index = v.safeParse(PublicKeyIndexSchema, await env.CONNECTIONS.get(publicKeyIndexKey(publicKey), 'json'));
    if (index.success) {
      const parsed = v.safeParse(TriggerEntrySchema, await env.CONNECTIONS.get(feedKey(index.output.feedId), 'json'));
      if (parsed.success && parsed.output.record.publicKey === publicKey && parsed.output.record.id === index.output.feedId) {
        entry = { record: parsed.output.record, keys: parsed.output.keys };
      } else if (!parsed.success) {
        console.warn('[feeds] the trigger skipped an entry that failed validation:', feedKey(index.output.feedId));
      }
    }
  } catch (err) {
    console.warn('[feeds] the trigger could not read a feed', err instanceof Error ? err.name : 'error');
    entry = null;
  }
  triggerCache.delete(publicKey);
  while (triggerCache.size >= TRIGGER_CACHE_MAX_ENTRIES) {
    const oldest = triggerCache.keys().next().value;
    if (oldest === undefined) break;
    triggerCache.delete(oldest);
  }
  triggerCache.set(publicKey, { entry, until: now + TRIGGER_FEED_CACHE_MS });
  return entry;
}

/** Drops this isolate's copies of a feed (after an admin write made here), so the change applies at once here. */
export function forgetTriggerFeed(feedId: string): void {
  for (const [key, cached] of triggerCache) {
    if (cached.entry === null || cached.entry.record.id === feedId) triggerCache.delete(key);
  }
}
