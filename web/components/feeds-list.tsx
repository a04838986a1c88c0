/**
 * A listing of feeds (all, or one connection's), paged with the listing's cursor ("Load more"),
 * with an empty state that says what a feed is. Shown by the Feeds page and on connection pages.
 */
import { A, createAsync, revalidate } from '@solidjs/router';
import { For, Show } from 'solid-js';
import * as api from '../feeds-api';
import { getFeeds } from '../feeds-data';
import { LoadMore } from './load-more';
import { LoadingBoundary } from './loading-boundary';
import { usePager } from './pager';
import { TimeAgo } from './time-ago';

/** Where "New feed" goes: with the connection chosen when the list is one connection's. */
export const newFeedHref = (connection?: string) => (connection ? `/feeds/new?connection=${encodeURIComponent(connection)}` : '/feeds/new');

function FeedRows(props: { connection: string; headingLevel: 2 | 3 }) {
  const first = createAsync(() => getFeeds(props.connection));
  const pager = usePager(
    () => first.latest,
    (_, from) => api.listFeeds({ connection: props.connection || undefined, cursor: from }),
  );
  const rows = () => pager.pages().flatMap((p) => p.feeds);
  const Heading = (p: { children: string }) => (props.headingLevel === 2 ? <h2>{p.children}</h2> : <h3>{p.children}</h3>);
  return (
    <Show when={first.latest}>
      <Show
        when={rows().length > 0 || pager.cursor()}
        fallback={
          <div class="card empty">
            <Heading>No feeds yet</Heading>
            <p>
              A feed is a saved request to {props.connection ? 'this connection' : 'a connection'}'s API that an HTML form, a{' '}
              <code>fetch</code> from a page or a server's webhook triggers at the edge: it maps the submitted fields into the request,
              sends it with the connection's credentials, and answers the caller with JSON or a redirect.
            </p>
            <A href={newFeedHref(props.connection)} class="button button-primary">
              New feed
            </A>
          </div>
        }
      >
        <Show when={rows().length > 0} fallback={<p class="muted">No feeds on this page yet: load more.</p>}>
          <div class="card table-card">
            <table class="table">
              <caption class="visually-hidden">Feeds</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Connection</th>
                  <th scope="col">Enabled</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                <For each={rows()}>
                  {(feed) => (
                    <tr>
                      <th scope="row" data-label="Name">
                        <A href={`/feeds/${encodeURIComponent(feed.id)}`}>{feed.name}</A>
                      </th>
                      <td data-label="Connection" class="cell-slug">
                        <A href={`/connections/${encodeURIComponent(feed.connection)}`}>
                          <code>{feed.connection}</code>
                        </A>
                      </td>
                      <td data-label="Enabled">{feed.enabled ? 'Yes' : 'No (answers 404)'}</td>
                      <td data-label="Updated">
                        <TimeAgo iso={feed.updatedAt} />
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
        <LoadMore pager={pager}>Load more feeds</LoadMore>
      </Show>
    </Show>
  );
}

/** The feeds of `connection` ('' for all). */
export function FeedsList(props: { connection: string; headingLevel: 2 | 3 }) {
  return (
    <LoadingBoundary loading="Loading feeds…" retry={() => void revalidate(getFeeds.key)}>
      <FeedRows connection={props.connection} headingLevel={props.headingLevel} />
    </LoadingBoundary>
  );
}

/** A connection page's Feeds section. */
export function FeedsSection(props: { slug: string }) {
  return (
    <section class="card panel-wide" aria-labelledby="feeds-title">
      <div class="page-header">
        <h2 id="feeds-title">Feeds</h2>
        <A href={newFeedHref(props.slug)} class="button">
          New feed
        </A>
      </div>
      <p class="help">Saved requests to this API that forms and webhooks trigger at the edge.</p>
      <FeedsList connection={props.slug} headingLevel={3} />
    </section>
  );
}
