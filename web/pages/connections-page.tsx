/** The list of connections: loading, empty (with a call to action), error and loaded states. */
import { A, createAsync, revalidate } from '@solidjs/router';
import { For, Show } from 'solid-js';
import { AUTH_METHOD_LABELS } from '../../contract/labels';
import { getConnections } from '../data';
import { headingRef, usePageTitle } from '../components/page-title';
import { TimeAgo } from '../components/time-ago';
import { BreakableUrl } from '../components/breakable-url';
import { LoadingBoundary } from '../components/loading-boundary';

function ConnectionTable() {
  const connections = createAsync(() => getConnections());
  return (
    <Show when={connections()}>
      {(list) => (
        <Show
          when={list().length > 0}
          fallback={
            <div class="card empty">
              <h2>No connections yet</h2>
              <p>
                A connection holds an API's base URL and credentials, so that forms and sites can call the API through
                the relay without ever seeing its secrets.
              </p>
              <A href="/new" class="button button-primary">
                Create your first connection
              </A>
            </div>
          }
        >
          <div class="card table-card">
            <table class="table">
              <caption class="visually-hidden">Connections</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Slug</th>
                  <th scope="col">Base URL</th>
                  <th scope="col">Method</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                <For each={list()}>
                  {(c) => (
                    <tr>
                      <th scope="row" data-label="Name">
                        <A href={`/connections/${c.slug}`}>{c.name}</A>
                      </th>
                      <td data-label="Slug" class="cell-slug">
                        <code>{c.slug}</code>
                      </td>
                      <td data-label="Base URL" class="cell-url">
                        <BreakableUrl url={c.baseOrigin} />
                      </td>
                      <td data-label="Method">{AUTH_METHOD_LABELS[c.method]}</td>
                      <td data-label="Updated">
                        <TimeAgo iso={c.updatedAt} />
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      )}
    </Show>
  );
}

export function ConnectionsPage() {
  usePageTitle(() => 'Connections');
  return (
    <>
      <div class="page-header">
        <h1 tabIndex={-1} ref={headingRef}>Connections</h1>
        <A href="/new" class="button button-primary">
          New connection
        </A>
      </div>
      <LoadingBoundary loading="Loading connections…" retry={() => void revalidate(getConnections.key)}>
        <ConnectionTable />
      </LoadingBoundary>
    </>
  );
}
