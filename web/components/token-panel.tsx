/** Token status of a connection (cached or not, expiry, last error, fetch count) and purging it. */
import { createAsync, revalidate, useAction } from '@solidjs/router';
import { createSignal, Show } from 'solid-js';
import { getTokenStatus, purgeToken } from '../data';
import { dateTime } from '../format';
import { ProblemAlert } from './problem-alert';
import { BusyButton } from './busy';
import { LoadingBoundary } from './loading-boundary';

/** The token status's `lastError` as a line of text, whatever shape the service gives it. */
export function describeLastError(value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const parts = [o.status, o.error ?? o.code, o.errorDescription ?? o.error_description ?? o.message ?? o.detail].filter(
      (part) => part !== undefined && part !== null && part !== '',
    );
    const at = typeof o.at === 'string' ? ` (${dateTime(o.at)})` : '';
    if (parts.length) return parts.join(' · ') + at;
  }
  return JSON.stringify(value);
}

function TokenStatusFacts(props: { slug: string }) {
  const status = createAsync(() => getTokenStatus(props.slug));
  return (
    <Show when={status()}>
      {(s) => (
        <dl class="facts">
          <dt>Cached token</dt>
          <dd>{s().cached ? 'Yes' : 'No'}</dd>
          <dt>Expires at</dt>
          <dd>{s().expiresAt ? dateTime(s().expiresAt!) : '—'}</dd>
          <dt>Token fetches</dt>
          <dd>{s().fetches ?? 0}</dd>
          <dt>Last error</dt>
          <dd>{describeLastError(s().lastError) ?? 'None'}</dd>
        </dl>
      )}
    </Show>
  );
}

export function TokenPanel(props: { slug: string }) {
  const purge = useAction(purgeToken);
  const [busy, setBusy] = createSignal(false);
  const [message, setMessage] = createSignal('');
  const [error, setError] = createSignal<unknown>();

  const onPurge = async () => {
    setBusy(true);
    setError(undefined);
    setMessage('');
    try {
      await purge(props.slug);
      setMessage('Cached token purged. The next call requests a new one.');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="token-title">
      <h2 id="token-title">Token status</h2>
      <LoadingBoundary loading="Loading token status…" retry={() => void revalidate(getTokenStatus.keyFor(props.slug))}>
        <TokenStatusFacts slug={props.slug} />
      </LoadingBoundary>
      <div class="actions">
        <BusyButton busy={busy()} onClick={onPurge}>Purge cached token</BusyButton>
        <button type="button" class="button button-quiet" onClick={() => void revalidate(getTokenStatus.keyFor(props.slug))}>
          Refresh
        </button>
      </div>
      <p class="status-text" role="status">
        {message()}
      </p>
      <Show when={error()}>
        <ProblemAlert error={error()} />
      </Show>
    </section>
  );
}
