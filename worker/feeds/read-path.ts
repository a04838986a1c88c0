/**
 * The feeds' read path for the admin API: which connection's home holds a feed
 * (`feedconn:<id>`), and the listing (one KV `list()` per page over `feed:`, Summaries from its
 * metadata). It only reads these keys; the homes write them.
 */
import * as v from 'valibot';
import { AppError } from '../errors';
import { FEED_ID_PATTERN, FeedSummaryMetadataSchema, feedConnectionKey, feedKey, type FeedSummary } from './records';
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
