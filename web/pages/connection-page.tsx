/** One connection: test, token status, relay keys, usage, settings and deletion. */
import { A, createAsync, revalidate, useAction, useParams, useSubmission } from '@solidjs/router';
import { lazy, Show, Suspense } from 'solid-js';
import { AUTH_METHOD_LABELS, type ConnectionView } from '../../contract/connection';
import { isNotFound } from '../api/client';
import { Loading } from '../components/busy';
import { ConnectionForm } from '../components/connection-form';
import { DeletePanel } from '../components/delete-panel';
import { KeysPanel } from '../components/keys-panel';
import { LoadingBoundary } from '../components/loading-boundary';
import { notify } from '../components/notices';
import { headingRef, usePageTitle } from '../components/page-title';
import { TestPanel } from '../components/test-panel';
import { TimeAgo } from '../components/time-ago';
import { TokenPanel } from '../components/token-panel';
import { UsagePanel } from '../components/usage-panel';
import { deleteConnection, getConnection } from '../data';

// Chunks of their own, loaded when a connection page is first shown.
const TestRequestPanel = lazy(() => import('../components/test-request-panel').then((m) => ({ default: m.TestRequestPanel })));
const FeedsSection = lazy(() => import('../components/feeds-list').then((m) => ({ default: m.FeedsSection })));
const ActivityPanel = lazy(() => import('../components/activity-panel').then((m) => ({ default: m.ActivityPanel })));

function DeleteConnection(props: { view: ConnectionView }) {
  const remove = useAction(deleteConnection);
  const removing = useSubmission(deleteConnection, ([slug]) => slug === props.view.slug);
  const confirm = async () => {
    const { name } = props.view;
    try {
      await remove(props.view.slug);
      notify(`Deleted “${name}”. Its relay URL answers 401 from now on.`);
    } catch {
      // Shown from the submission below.
    }
  };
  return (
    <DeletePanel
      id="delete-title"
      title="Delete connection"
      prompt={`Delete “${props.view.name}” (${props.view.slug}) for good? This cannot be undone.`}
      busy={removing.pending}
      error={removing.error}
      onConfirm={confirm}
    >
      Removes the connection, its relay keys and its cached tokens. Callers of its relay URL get 401 from then on.
    </DeletePanel>
  );
}

function ConnectionDetails(props: { view: ConnectionView }) {
  usePageTitle(() => props.view.name);
  const isOAuth = () => props.view.auth.method === 'oauth2_client_credentials';
  return (
    <>
      <div class="page-header">
        <div class="page-header-text">
          <h1 tabIndex={-1} ref={headingRef}>
            {props.view.name}
          </h1>
          <p class="meta">
            <code>{props.view.slug}</code>
            <span>{AUTH_METHOD_LABELS[props.view.auth.method]}</span>
            <span>
              Updated <TimeAgo iso={props.view.updatedAt} />
            </span>
          </p>
        </div>
      </div>
      <div class="panels">
        <Show when={isOAuth()}>
          <TestPanel slug={props.view.slug} />
          <TokenPanel slug={props.view.slug} />
        </Show>
        <KeysPanel slug={props.view.slug} />
        <UsagePanel view={props.view} />
        <Suspense fallback={<Loading>Loading activity…</Loading>}>
          <TestRequestPanel view={props.view} />
          <ActivityPanel view={props.view} />
        </Suspense>
        <Suspense fallback={<Loading>Loading feeds…</Loading>}>
          <FeedsSection slug={props.view.slug} />
        </Suspense>
        <section class="card panel-wide" aria-labelledby="settings-title">
          <h2 id="settings-title">Settings</h2>
          <ConnectionForm view={props.view} onSaved={() => {}} />
        </section>
        <DeleteConnection view={props.view} />
      </div>
    </>
  );
}

/** A slug with no connection: what it means and where to go, without a retry that cannot help. */
function NotFound(props: { slug: string }) {
  return (
    <div class="card empty">
      <p>
        There is no connection with the slug <code>{props.slug}</code>. It may have been deleted, or the address may be
        mistyped.
      </p>
      <div class="actions">
        <A href="/" class="button">
          All connections
        </A>
        <A href="/new" class="button button-primary">
          New connection
        </A>
      </div>
    </div>
  );
}

/** Inside the boundary, so that "Try again" starts a fresh read instead of rethrowing the last one. */
function LoadedConnection(props: { slug: string }) {
  const connection = createAsync(() => getConnection(props.slug));
  return <Show when={connection()}>{(view) => <ConnectionDetails view={view()} />}</Show>;
}

export function ConnectionPage() {
  const params = useParams<{ slug: string }>();
  usePageTitle(() => params.slug);
  return (
    <>
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <A href="/">Connections</A>
      </nav>
      <LoadingBoundary
        loading="Loading connection…"
        retry={() => void revalidate(getConnection.keyFor(params.slug))}
        heading={(error) => (
          <h1 tabIndex={-1} ref={headingRef}>
            {isNotFound(error) ? 'Connection not found' : params.slug}
          </h1>
        )}
        failed={(error) => (isNotFound(error) ? <NotFound slug={params.slug} /> : undefined)}
      >
        <LoadedConnection slug={params.slug} />
      </LoadingBoundary>
    </>
  );
}
