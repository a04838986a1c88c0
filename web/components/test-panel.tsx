/** "Test connection": requests a token with the stored credentials and shows what came back (never the token). */
import { useAction } from '@solidjs/router';
import { createSignal, Match, Show, Switch } from 'solid-js';
import type { TestResult } from '../api/client';
import { testConnection } from '../data';
import { seconds } from '../format';
import { ProblemAlert } from './problem-alert';
import { BusyButton } from './busy';

export function TestPanel(props: { slug: string }) {
  const run = useAction(testConnection);
  const [busy, setBusy] = createSignal(false);
  const [result, setResult] = createSignal<TestResult>();
  const [error, setError] = createSignal<unknown>();

  const test = async () => {
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await run(props.slug));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="test-title">
      <h2 id="test-title">Test connection</h2>
      <p>Requests an access token from the Token URL with the stored credentials.</p>
      <BusyButton class="button-primary" busy={busy()} onClick={test}>Test connection</BusyButton>
      <div class="result-region" role="status" aria-live="polite">
        <Show when={busy()}>
          <p class="visually-hidden">Testing…</p>
        </Show>
        <Switch>
          <Match when={result()?.ok === true && (result() as Extract<TestResult, { ok: true }>)}>
            {(ok) => (
              <div class="result result-ok">
                <h3>Token received</h3>
                <dl class="facts">
                  <dt>Token type</dt>
                  <dd>{ok().tokenType ?? '—'}</dd>
                  <dt>Expires in</dt>
                  <dd>{ok().expiresIn !== undefined ? seconds(ok().expiresIn!) : 'not stated'}</dd>
                  <dt>Scope</dt>
                  <dd>{ok().scope || '—'}</dd>
                  <dt>Duration</dt>
                  <dd>{ok().durationMs !== undefined ? `${ok().durationMs} ms` : '—'}</dd>
                </dl>
              </div>
            )}
          </Match>
          <Match when={result()?.ok === false && (result() as Extract<TestResult, { ok: false }>)}>
            {(failed) => (
              <div class="result result-failed">
                <h3>Token request failed</h3>
                <dl class="facts">
                  <dt>Status</dt>
                  <dd>{failed().status ?? '—'}</dd>
                  <dt>Error</dt>
                  <dd>
                    <code>{failed().error ?? '—'}</code>
                  </dd>
                  <Show when={failed().errorDescription}>
                    <dt>Error description</dt>
                    <dd>{failed().errorDescription}</dd>
                  </Show>
                </dl>
                <Show when={failed().hint}>
                  <p class="hint">
                    <strong>Hint:</strong> {failed().hint}
                  </p>
                </Show>
              </div>
            )}
          </Match>
        </Switch>
      </div>
      <Show when={error()}>
        <ProblemAlert error={error()} />
      </Show>
    </section>
  );
}
