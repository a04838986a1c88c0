/** Token status of a connection (cached or not, expiry, last error, fetch count) and purging it. */
import { createAsync, revalidate, useAction, useSubmission } from '@solidjs/router';
import { type JSX, Show } from 'solid-js';
import type { TokenLastError } from '../../contract/answers';
import { getTokenStatus, purgeToken, testConnection } from '../data';
import { dateTime } from '../format';
import { BusyButton } from './busy';
import { LoadingBoundary } from './loading-boundary';
import { ProblemAlert } from './problem-alert';

/** The last failed token request as a line: status, the server's error or this service's code, its description, when. */
export function describeLastError(error: TokenLastError): string {
  const parts = [error.status, error.error ?? error.code, error.errorDescription].filter((part) => part !== undefined && part !== '');
  return `${parts.join(' · ')} (${dateTime(error.at)})`;
}

/** The status, and under it `children` (actions) beside Refresh. */
function TokenStatusFacts(props: { slug: string; children: JSX.Element }) {
  const status = createAsync(() => getTokenStatus(props.slug));
  return (
    <Show when={status()}>
      {(s) => (
        <>
          <dl class="facts">
            <dt>Cached token</dt>
            <dd>{s().cached ? 'Yes' : 'No'}</dd>
            <dt>Expires at</dt>
            <dd>{s().expiresAt ? dateTime(s().expiresAt!) : '—'}</dd>
            <dt>Token fetches</dt>
            <dd>{s().fetches}</dd>
            <dt>Last error</dt>
            <dd>{s().lastError ? describeLastError(s().lastError!) : 'None'}</dd>
          </dl>
          {/* Inside the boundary: a failed load offers its own "Try again" instead. */}
          <div class="actions">
            {props.children}
            <button type="button" class="button button-quiet" onClick={() => void revalidate(getTokenStatus.keyFor(props.slug))}>
              Refresh
            </button>
          </div>
        </>
      )}
    </Show>
  );
}

export function TokenPanel(props: { slug: string }) {
  const purge = useAction(purgeToken);
  const purging = useSubmission(purgeToken, ([slug]) => slug === props.slug);
  const tested = useSubmission(testConnection, ([slug]) => slug === props.slug);

  const onPurge = async () => {
    try {
      await purge(props.slug);
      // The last test's "Token received" was about the token just dropped.
      tested.clear();
    } catch {
      // Shown from the submission below.
    }
  };

  return (
    <section class="card" aria-labelledby="token-title">
      <h2 id="token-title">Token status</h2>
      <LoadingBoundary loading="Loading token status…" retry={() => void revalidate(getTokenStatus.keyFor(props.slug))}>
        <TokenStatusFacts slug={props.slug}>
          <BusyButton busy={purging.pending} onClick={onPurge}>
            Purge cached token
          </BusyButton>
        </TokenStatusFacts>
      </LoadingBoundary>
      <p class="status-text" role="status">
        {purging.result && !purging.pending ? 'Cached token purged. The next call requests a new one.' : ''}
      </p>
      <Show when={!purging.pending && purging.error}>
        <ProblemAlert error={purging.error} />
      </Show>
    </section>
  );
}
