/**
 * The feeds' admin API calls (FEEDS.md §3.7 to §3.9), on the API client's `request`. It lives
 * beside `feeds-data.ts`, not in `api/`, because everything in `api/` is bundled into the first
 * load (see the chunk groups in vite.config.ts), and the feeds load with their own pages only.
 */
import type { FeedInput } from '../contract/feed';
import type {
  CreatedTriggerKey,
  DryRunAnswer,
  DryRunRequest,
  FeedAnswer,
  FeedListAnswer,
  FeedRun,
  FeedRunListAnswer,
  FeedRunStatsAnswer,
  RotatePublicKeyAnswer,
  TriggerKeySummary,
} from '../contract/feed-api';
import { ifMatch, queryString, request } from './api/client';

const feedPath = (id: string) => `/api/feeds/${encodeURIComponent(id)}`;

export interface ListFeedsOptions {
  /** Only the feeds of this connection (a slug). */
  connection?: string;
  limit?: number;
  cursor?: string;
}

/** One page of the feeds listing: a page may be short or empty while `cursor` is not null; only null ends it. */
export function listFeeds(options: ListFeedsOptions = {}): Promise<FeedListAnswer> {
  return request('GET', `/api/feeds${queryString([['connection', options.connection], ['limit', options.limit], ['cursor', options.cursor]])}`);
}

export function getFeed(id: string): Promise<FeedAnswer> {
  return request('GET', feedPath(id));
}

export function createFeed(input: FeedInput): Promise<FeedAnswer> {
  return request('POST', '/api/feeds', { body: input });
}

/** Replaces a feed; with `version` a save made after someone else's is refused (412 `version-conflict`). */
export function replaceFeed(id: string, input: FeedInput, version?: number): Promise<FeedAnswer> {
  return request('PUT', feedPath(id), { body: input, headers: ifMatch(version) });
}

export function deleteFeed(id: string): Promise<void> {
  return request('DELETE', feedPath(id));
}

export function rotatePublicKey(id: string): Promise<RotatePublicKeyAnswer> {
  return request('POST', `${feedPath(id)}/rotate-public-key`);
}

export async function listTriggerKeys(id: string): Promise<TriggerKeySummary[]> {
  const body = await request<{ keys: TriggerKeySummary[] }>('GET', `${feedPath(id)}/keys`);
  return body.keys;
}

export function createTriggerKey(id: string, name: string): Promise<CreatedTriggerKey> {
  return request('POST', `${feedPath(id)}/keys`, { body: { name } });
}

export function revokeTriggerKey(id: string, keyId: string): Promise<void> {
  return request('DELETE', `${feedPath(id)}/keys/${encodeURIComponent(keyId)}`);
}

/** A dry run of a saved feed (`id`), or of a draft (`request.feed` holds its FeedInput). */
export function dryRun(id: string | undefined, body: DryRunRequest): Promise<DryRunAnswer> {
  return request('POST', id === undefined ? '/api/feeds/dry-run' : `${feedPath(id)}/dry-run`, { body });
}

export function listRuns(id: string, options: { cursor?: string; outcome?: string } = {}): Promise<FeedRunListAnswer> {
  return request('GET', `${feedPath(id)}/runs${queryString([['cursor', options.cursor], ['outcome', options.outcome]])}`);
}

export function getRun(id: string, runId: string): Promise<FeedRun> {
  return request('GET', `${feedPath(id)}/runs/${encodeURIComponent(runId)}`);
}

/** Counts of the last 24 hours by outcome (`GET /api/feeds/<id>/stats`). */
export function getFeedStats(id: string): Promise<FeedRunStatsAnswer> {
  return request('GET', `${feedPath(id)}/stats`);
}
