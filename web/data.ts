/**
 * Router data for the pages: cached queries over the API client, and the actions that change
 * data and name the queries they make stale. Pending, result and error of each action are read
 * with the router's `useSubmission`.
 */
import { action, json, query, redirect } from '@solidjs/router';
import type { ConnectionInput } from '../contract/connection';
import * as api from './api/client';

/** One page of the listing: `q` a slug prefix ('' for all), `cursor` from the page before. */
export const getConnections = query((q: string, cursor?: string) => api.listConnections({ q: q || undefined, cursor }), 'connections');
export const getConnection = query((slug: string) => api.getConnection(slug), 'connection');
export const getTokenStatus = query((slug: string) => api.getTokenStatus(slug), 'token-status');
export const getKeys = query((slug: string) => api.listKeys(slug), 'relay-keys');

/** Signs in with the admin token and answers the session it opened. */
export const signIn = action(async (token: string) => {
  await api.signIn(token);
  const session = await api.getSession();
  if (!session) {
    throw new api.ApiProblemError({
      status: 0,
      title: 'Session not kept',
      detail: 'Signed in, but the session cookie was not kept. Allow cookies for this site and try again.',
    });
  }
  return session;
}, 'sign-in');

/**
 * Creates (no `slug`) or replaces a connection; answers the stored view. A replace carries the
 * loaded `version` as `If-Match`: someone else's save meanwhile makes it a 412, not a lost update.
 */
export const saveConnection = action(async (input: ConnectionInput, slug?: string, version?: number) => {
  const view = slug ? await api.replaceConnection(slug, input, version) : await api.createConnection(input);
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
 * Creates a relay key. Its answer is the only one holding the key: the panel shows it from the
 * submission and clears the submission when done with it (the router also drops finished
 * submissions on navigation), so the key stays nowhere else in the page.
 */
export const createKey = action(async (slug: string, name: string) => {
  const created = await api.createKey(slug, name);
  return json(created, { revalidate: getKeys.keyFor(slug) });
}, 'create-key');

export const revokeKey = action(async (slug: string, id: string) => {
  await api.revokeKey(slug, id);
  return json(true, { revalidate: getKeys.keyFor(slug) });
}, 'revoke-key');
