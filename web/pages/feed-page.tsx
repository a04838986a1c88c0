/**
 * One feed (`/feeds/<id>`), or a new one (`/feeds/new?connection=<slug>`): the editor with its
 * preview, the trigger URL and snippets, trigger keys, runs, and deletion.
 */
import { A, createAsync, revalidate, useAction, useNavigate, useParams, useSearchParams, useSubmission } from '@solidjs/router';
import { Show } from 'solid-js';
import type { FeedAnswer } from '../../contract/feed-api';
import { isNotFound } from '../api/client';
import { DeletePanel } from '../components/delete-panel';
import { FeedForm } from '../components/feed-form';
import { FeedRunsPanel } from '../components/feed-runs-panel';
import { FeedTriggerPanel, TriggerKeysPanel } from '../components/feed-trigger-panel';
import '../components/feeds.css';
import { LoadingBoundary } from '../components/loading-boundary';
import { notify } from '../components/notices';
import { headingRef, usePageTitle } from '../components/page-title';
import { TimeAgo } from '../components/time-ago';
import { deleteFeed, getFeed } from '../feeds-data';

function DeleteFeed(props: { feed: FeedAnswer }) {
  const remove = useAction(deleteFeed);
  const removing = useSubmission(deleteFeed, ([id]) => id === props.feed.id);
  const confirm = async () => {
    const { name } = props.feed;
    try {
      await remove(props.feed.id, props.feed.connection);
      notify(`Deleted the feed “${name}”. Its trigger URL answers 404 from now on.`);
    } catch {
      // Shown from the submission below.
    }
  };
  return (
    <DeletePanel
      id="delete-feed-title"
      title="Delete feed"
      class="panel-wide"
      prompt={`Delete “${props.feed.name}” for good? This cannot be undone.`}
      busy={removing.pending}
      error={removing.error}
      onConfirm={confirm}
    >
      Removes the feed and its trigger keys. Its trigger URL answers 404 from then on; logged runs expire on their own.
    </DeletePanel>
  );
}

function FeedDetails(props: { feed: FeedAnswer }) {
  usePageTitle(() => props.feed.name);
  return (
    <>
      <div class="page-header">
        <div class="page-header-text">
          <h1 tabIndex={-1} ref={headingRef}>
            {props.feed.name}
          </h1>
          <p class="meta">
            <span>
              Feed of <A href={`/connections/${encodeURIComponent(props.feed.connection)}`}>{props.feed.connection}</A>
            </span>
            <span>{props.feed.enabled ? 'Enabled' : 'Disabled'}</span>
            <span>Version {props.feed.version}</span>
            <span>
              Updated <TimeAgo iso={props.feed.updatedAt} />
            </span>
          </p>
        </div>
      </div>
      <div class="panels">
        <FeedTriggerPanel feed={props.feed} />
        <Show when={props.feed.trigger.server.enabled}>
          <TriggerKeysPanel feedId={props.feed.id} />
        </Show>
        <FeedRunsPanel feedId={props.feed.id} />
        <section class="card panel-wide" aria-label="Settings">
          <FeedForm view={props.feed} onSaved={() => {}} />
        </section>
        <DeleteFeed feed={props.feed} />
      </div>
    </>
  );
}

function LoadedFeed(props: { id: string }) {
  const feed = createAsync(() => getFeed(props.id));
  return <Show when={feed()}>{(f) => <FeedDetails feed={f()} />}</Show>;
}

function NewFeed() {
  usePageTitle(() => 'New feed');
  const [search] = useSearchParams<{ connection?: string }>();
  const navigate = useNavigate();
  const connection = () => (typeof search.connection === 'string' ? search.connection : '');
  return (
    <>
      <h1 tabIndex={-1} ref={headingRef}>
        New feed
      </h1>
      <section class="card panel-wide">
        <FeedForm connection={connection()} onSaved={(feed) => navigate(`/feeds/${encodeURIComponent(feed.id)}`, { replace: true })} />
      </section>
    </>
  );
}

export function FeedPage() {
  const params = useParams<{ id: string }>();
  return (
    <>
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <A href="/feeds">Feeds</A>
      </nav>
      <Show when={params.id !== 'new'} fallback={<NewFeed />}>
        <LoadingBoundary
          loading="Loading feed…"
          retry={() => void revalidate(getFeed.keyFor(params.id))}
          heading={(error) => (
            <h1 tabIndex={-1} ref={headingRef}>
              {isNotFound(error) ? 'Feed not found' : 'Feed'}
            </h1>
          )}
          failed={(error) =>
            isNotFound(error) ? (
              <div class="card empty">
                <p>There is no feed with this id. It may have been deleted, or the address may be mistyped.</p>
                <A href="/feeds" class="button">
                  All feeds
                </A>
              </div>
            ) : undefined
          }
        >
          <LoadedFeed id={params.id} />
        </LoadingBoundary>
      </Show>
    </>
  );
}
