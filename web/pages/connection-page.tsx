/** One connection: test, token status, relay keys, usage, settings and deletion. */
import { A, createAsync, revalidate, useAction, useParams } from '@solidjs/router';
import { createSignal, ErrorBoundary, Show, Suspense } from 'solid-js';
import { AUTH_METHOD_LABELS, type ConnectionView } from '../../contract/connection';
import { ApiProblemError } from '../api/client';
import { ConfirmButton } from '../components/confirm-button';
import { ConnectionForm } from '../components/connection-form';
import { KeysPanel } from '../components/keys-panel';
import { headingRef, usePageTitle } from '../components/page-title';
import { ProblemAlert } from '../components/problem-alert';
import { TestPanel } from '../components/test-panel';
import { TimeAgo } from '../components/time-ago';
import { TokenPanel } from '../components/token-panel';
import { UsagePanel } from '../components/usage-panel';
import { deleteConnection, getConnection } from '../data';
import { Loading } from '../components/busy';

function DeletePanel(props: { view: ConnectionView }) {
  const remove = useAction(deleteConnection);
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<unknown>();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await remove(props.view.slug);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card card-danger" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete connection</h2>
      <p>Removes the connection, its relay keys and its cached tokens. Callers of its relay URL get 401 from then on.</p>
      <ConfirmButton
        label="Delete"
        name="Delete connection"
        prompt={`Delete “${props.view.name}” (${props.view.slug}) for good? This cannot be undone.`}
        confirmLabel="Yes, delete"
        busy={busy()}
        onConfirm={confirm}
      />
      <Show when={error()}>
        <ProblemAlert error={error()} />
      </Show>
    </section>
  );
}

function ConnectionDetails(props: { view: ConnectionView }) {
  usePageTitle(() => props.view.name);
  const isOAuth = () => props.view.auth.method === 'oauth2_client_credentials';
  return (
    <>
      <div class="page-header">
        <div>
          <h1 tabIndex={-1} ref={headingRef}>{props.view.name}</h1>
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
        <section class="card panel-wide" aria-labelledby="settings-title">
          <h2 id="settings-title">Settings</h2>
          <ConnectionForm view={props.view} onSaved={() => {}} />
        </section>
        <DeletePanel view={props.view} />
      </div>
    </>
  );
}

export function ConnectionPage() {
  const params = useParams<{ slug: string }>();
  const connection = createAsync(() => getConnection(params.slug));
  usePageTitle(() => params.slug);
  return (
    <>
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <A href="/">Connections</A>
      </nav>
      <ErrorBoundary
        fallback={(error, reset) => (
          <>
            <h1 tabIndex={-1} ref={headingRef}>{error instanceof ApiProblemError && error.status === 404 ? 'Connection not found' : params.slug}</h1>
            <ProblemAlert
              error={error}
              onRetry={() => {
                void revalidate(getConnection.keyFor(params.slug));
                reset();
              }}
            />
          </>
        )}
      >
        <Suspense
          fallback={
            <Loading>Loading connection…</Loading>
          }
        >
          <Show when={connection()}>{(view) => <ConnectionDetails view={view()} />}</Show>
        </Suspense>
      </ErrorBoundary>
    </>
  );
}
