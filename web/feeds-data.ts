/**
 * Router data of the feeds pages: cached queries over the feeds' API calls and the actions that
 * change feeds, naming the queries they make stale. Loaded with the feeds chunks only.
 */
import { action, json, query, redirect } from '@solidjs/router';
import type { FeedInput } from '../contract/feed';
import * as api from './feeds-api';

/** The first page of feeds: `connection` a slug ('' for all); the pages after it are read with their cursor (see `FeedsList`). */
export const getFeeds = query((connection: string) => api.listFeeds({ connection: connection || undefined }), 'feeds');
export const getFeed = query((id: string) => api.getFeed(id), 'feed');
export const getTriggerKeys = query((id: string) => api.listTriggerKeys(id), 'trigger-keys');
/** The newest runs, `outcome` '' for any. */
export const getRuns = query((id: string, outcome: string) => api.listRuns(id, { outcome: outcome || undefined }), 'feed-runs');
export const getRun = query((id: string, runId: string) => api.getRun(id, runId), 'feed-run');
export const getFeedStats = query((id: string) => api.getFeedStats(id), 'feed-stats');

/** Creates (no `id`) or replaces a feed (with the loaded `version` as If-Match); answers the stored feed. */
export const saveFeed = action(async (input: FeedInput, id?: string, version?: number) => {
  const feed = id ? await api.replaceFeed(id, input, version) : await api.createFeed(input);
  return json(feed, { revalidate: [getFeeds.key, getFeed.keyFor(feed.id)] });
}, 'save-feed');

/** Deletes a feed and returns to its connection's feeds. */
export const deleteFeed = action(async (id: string, connection: string) => {
  await api.deleteFeed(id);
  return redirect(`/connections/${encodeURIComponent(connection)}`, { revalidate: getFeeds.key });
}, 'delete-feed');

export const rotatePublicKey = action(async (id: string) => {
  const answer = await api.rotatePublicKey(id);
  return json(answer, { revalidate: getFeed.keyFor(id) });
}, 'rotate-public-key');

/** Creates a trigger key: its answer is the only one holding the key (see `KeysPanel`). */
export const createTriggerKey = action(async (id: string, name: string) => {
  const created = await api.createTriggerKey(id, name);
  return json(created, { revalidate: getTriggerKeys.keyFor(id) });
}, 'create-trigger-key');

export const revokeTriggerKey = action(async (id: string, keyId: string) => {
  await api.revokeTriggerKey(id, keyId);
  return json(true, { revalidate: getTriggerKeys.keyFor(id) });
}, 'revoke-trigger-key');
