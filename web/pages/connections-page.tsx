/**
 * The list of connections, paged with the listing's cursor ("Load more"), with a filter: the
 * server finds slugs starting with the text across all connections (debounced), and the rows
 * already loaded are matched by name or slug at once. Loading, empty, no-match and error states.
 */
import { A, createAsync, revalidate } from '@solidjs/router';
import { createEffect, createSignal, For, on, onCleanup, Show } from 'solid-js';
import type { ConnectionListAnswer, ConnectionSummary } from '../../contract/answers';
import { AUTH_METHOD_LABELS } from '../../contract/labels';
import * as api from '../api/client';
import { getConnections } from '../data';
import { headingRef, usePageTitle } from '../components/page-title';
import { TimeAgo } from '../components/time-ago';
import { BreakableUrl } from '../components/breakable-url';
import { BusyButton } from '../components/busy';
import { LoadingBoundary } from '../components/loading-boundary';
import { ProblemAlert } from '../components/problem-alert';

/** How long typing pauses before the server is asked for matching slugs. */
export const FILTER_DEBOUNCE_MS = 300;

/** A text the listing's `q` (a slug prefix) can take, lowercased; else undefined (matched in the page only). */
export function slugPrefixOf(text: string): string | undefined {
  const q = text.trim().toLowerCase();
  return /^[a-z0-9-]{1,64}$/.test(q) ? q : undefined;
}

/** Whether a loaded row matches the filter text: its name or slug contains it, in any case. */
export function matchesFilter(c: ConnectionSummary, text: string): boolean {
  const needle = text.trim().toLowerCase();
  return c.name.toLowerCase().includes(needle) || c.slug.includes(needle);
}

/** The listing for one `q` ('' for all; undefined for none): its first page (a router query, revalidated by saves) and the pages loaded after it. */
function usePagedListing(q: () => string | undefined) {
  const first = createAsync(async () => {
    const query = q();
    return query === undefined ? undefined : { q: query, page: await getConnections(query) };
  });
  const [more, setMore] = createSignal<ConnectionListAnswer[]>([]);
  const [loadingMore, setLoadingMore] = createSignal(false);
  const [moreError, setMoreError] = createSignal<unknown>();
  // A fresh first page (another filter, or read again after a change) starts the paging over.
  createEffect(
    on(
      () => first.latest,
      () => {
        setMore([]);
        setMoreError(undefined);
      },
      { defer: true },
    ),
  );
  const pages = () => {
    const head = first.latest;
    return head ? [head.page, ...more()] : [];
  };
  const cursor = () => pages().at(-1)?.cursor ?? null;
  const loadMore = async () => {
    const head = first.latest;
    const from = cursor();
    if (!head || !from || loadingMore()) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await api.listConnections({ q: head.q || undefined, cursor: from });
      if (first.latest === head) setMore((list) => [...list, page]);
    } catch (error) {
      setMoreError(error);
    } finally {
      setLoadingMore(false);
    }
  };
  return {
    /** Read inside Suspense: waits for the first page the first time only (`latest` keeps the rows meanwhile later). */
    ready: () => first.latest !== null,
    rows: () => pages().flatMap((p) => p.connections),
    cursor,
    loadMore,
    loadingMore,
    moreError,
    /** The filter changed and its first page is not in yet. */
    searching: () => q() !== undefined && first.latest?.q !== q(),
  };
}

const percent = (rate: number) => (rate === 0 ? '0 %' : rate < 0.001 ? '< 0.1 %' : `${(rate * 100).toFixed(rate < 0.1 ? 1 : 0)} %`);

function Rows(props: { rows: ConnectionSummary[] }) {
  return (
    <div class="card table-card">
      <table class="table">
        <caption class="visually-hidden">Connections</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Slug</th>
            <th scope="col">Base URL</th>
            <th scope="col">Method</th>
            <th scope="col">Last call</th>
            <th scope="col" class="cell-number">
              Calls (24 h)
            </th>
            <th scope="col" class="cell-number">
              Errors (24 h)
            </th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          <For each={props.rows}>
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
                <td data-label="Last call">{c.lastCallAt ? <TimeAgo iso={c.lastCallAt} /> : 'Never'}</td>
                <td data-label="Calls (24 h)" class="cell-number">
                  {(c.calls24h ?? 0).toLocaleString('en')}
                </td>
                <td data-label="Errors (24 h)" class="cell-number">
                  {c.errorRate24h === null || c.errorRate24h === undefined ? '—' : percent(c.errorRate24h)}
                </td>
                <td data-label="Updated">
                  <TimeAgo iso={c.updatedAt} />
                </td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </div>
  );
}

function ConnectionTable(props: { filter: string; serverQ: string | undefined; onClear: () => void }) {
  const all = usePagedListing(() => '');
  const matching = usePagedListing(() => (props.filter.trim() ? props.serverQ : undefined));
  const filtering = () => props.filter.trim() !== '';
  /** While filtering: the server's slug-prefix matches, then loaded rows whose name or slug contains the text. */
  const rows = () => {
    if (!filtering()) return all.rows();
    const seen = new Set<string>();
    const out: ConnectionSummary[] = [];
    for (const c of [...matching.rows(), ...all.rows()]) {
      if (!seen.has(c.slug) && matchesFilter(c, props.filter)) {
        seen.add(c.slug);
        out.push(c);
      }
    }
    return out;
  };
  /** Which listing "Load more" continues: the filtered one when the server filters. */
  const pager = () => (filtering() && props.serverQ !== undefined ? matching : all);

  return (
    <Show when={all.ready() && matching.ready()}>
      <Show
        when={filtering() || all.rows().length > 0 || all.cursor()}
        fallback={
          <div class="card empty">
            <h2>No connections yet</h2>
            <p>
              A connection holds an API's base URL and credentials, so that forms and sites can call the API through the
              relay without ever seeing its secrets.
            </p>
            <A href="/new" class="button button-primary">
              Create your first connection
            </A>
          </div>
        }
      >
        <p class="status-text" role="status">
          {matching.searching() ? 'Searching…' : filtering() ? `${rows().length} shown${pager().cursor() ? ' so far' : ''}` : ''}
        </p>
        <Show
          when={rows().length > 0}
          fallback={
            <div class="card empty">
              <h2>{pager().cursor() ? 'No matches so far' : 'No matching connections'}</h2>
              <p>
                {filtering() ? (
                  <>
                    Nothing matches “{props.filter.trim()}”{pager().cursor() ? ' in what is loaded: load more to look further.' : '.'}
                  </>
                ) : (
                  'No connections on this page yet: load more.'
                )}
              </p>
              <Show when={filtering()}>
                <button type="button" class="button" onClick={() => props.onClear()}>
                  Clear filter
                </button>
              </Show>
            </div>
          }
        >
          <Rows rows={rows()} />
        </Show>
        <Show when={pager().cursor()}>
          <div class="actions list-more">
            <BusyButton busy={pager().loadingMore()} onClick={() => void pager().loadMore()}>
              Load more
            </BusyButton>
          </div>
        </Show>
        <Show when={pager().moreError()}>{(error) => <ProblemAlert error={error()} onRetry={() => void pager().loadMore()} />}</Show>
      </Show>
    </Show>
  );
}

export function ConnectionsPage() {
  usePageTitle(() => 'Connections');
  const [filter, setFilter] = createSignal('');
  const [serverQ, setServerQ] = createSignal<string | undefined>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let input: HTMLInputElement | undefined;
  onCleanup(() => clearTimeout(timer));
  createEffect(
    on(filter, (text) => {
      clearTimeout(timer);
      timer = setTimeout(() => setServerQ(slugPrefixOf(text)), FILTER_DEBOUNCE_MS);
    }),
  );
  const clear = () => {
    setFilter('');
    input?.focus();
  };
  return (
    <>
      <div class="page-header">
        <h1 tabIndex={-1} ref={headingRef}>Connections</h1>
        <A href="/new" class="button button-primary">
          New connection
        </A>
      </div>
      <div class="list-tools">
        <div class="field">
          <label for="connection-filter">Filter</label>
          <input
            id="connection-filter"
            ref={input}
            type="search"
            value={filter()}
            autocomplete="off"
            spellcheck={false}
            aria-describedby="connection-filter-help"
            onInput={(e) => setFilter(e.currentTarget.value)}
            onKeyDown={(e) => e.key === 'Escape' && filter() && (e.preventDefault(), clear())}
          />
          <p class="help" id="connection-filter-help">
            Searches all connections for slugs starting with the text, and the rows already loaded for names or slugs
            containing it.
          </p>
        </div>
        <p class="help list-note">Last call, calls and errors cover the last 24 hours and are updated every minute.</p>
      </div>
      <LoadingBoundary loading="Loading connections…" retry={() => void revalidate(getConnections.key)}>
        <ConnectionTable filter={filter()} serverQ={serverQ()} onClear={clear} />
      </LoadingBoundary>
    </>
  );
}
