/**
 * Router data for the pages: cached queries over the API client, and the actions that change
 * data and name the queries they make stale.
 */
import { action, json, query, redirect, revalidate } from '@solidjs/router';
import type { ConnectionInput } from '../contract/connection';
import * as api from './api/client';

export const getConnections = query(() => api.listConnections(), 'connections');
export const getConnection = query((slug: string) => api.getConnection(slug), 'connection');
export const getTokenStatus = query((slug: string) => api.getTokenStatus(slug), 'token-status');
export const getKeys = query((slug: string) => api.listKeys(slug), 'relay-keys');

/** Creates (no `slug`) or replaces a connection; answers the stored view. */
export const saveConnection = action(async (input: ConnectionInput, slug?: string) => {
  const view = slug ? await api.replaceConnection(slug, input) : await api.createConnection(input);
  return json(view, { revalidate: [getConnections.key, getConnection.keyFor(view.slug), getTokenStatus.keyFor(view.slug)] });
}, 'save-connection');

/** Deletes a connection and returns to the list. */
export const deleteConnection = action(async (slug: string) => {
  await api.deleteConnection(slug);
  return redirect('/', { revalidate: getConnections.key });
}, 'delete-connection');

/** Requests a token now; the token status changes with it. */
export const testConnection = action(async (slug: string) => {
  const result = await api.testConnection(slug);
  return json(result, { revalidate: getTokenStatus.keyFor(slug) });
}, 'test-connection');

export const purgeToken = action(async (slug: string) => {
  await api.purgeToken(slug);
  return json(true, { revalidate: getTokenStatus.keyFor(slug) });
}, 'purge-token');

/**
 * Creates a relay key. Not an action: the key is shown once, so it stays out of the router's
 * submission list and lives only in the panel that shows it.
 */
export async function createKey(slug: string, name: string): Promise<api.NewRelayKey> {
  const created = await api.createKey(slug, name);
  void revalidate(getKeys.keyFor(slug));
  return created;
}

export const revokeKey = action(async (slug: string, id: string) => {
  await api.revokeKey(slug, id);
  return json(true, { revalidate: getKeys.keyFor(slug) });
}, 'revoke-key');
