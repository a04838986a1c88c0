/** "Test connection": requests a token with the stored credentials and shows what came back (never the token). */
import { useAction, useSubmission } from '@solidjs/router';
import { Match, Show, Switch } from 'solid-js';
import type { TokenTestAnswer } from '../../contract/answers';
import { testConnection } from '../data';
import { seconds } from '../format';
import { BusyButton } from './busy';
import { ProblemAlert } from './problem-alert';

type Ok = Extract<TokenTestAnswer, { ok: true }>;
type Failed = Extract<TokenTestAnswer, { ok: false }>;

export function TestPanel(props: { slug: string }) {
  const run = useAction(testConnection);
  const testing = useSubmission(testConnection, ([slug]) => slug === props.slug);
  const result = () => (testing.pending ? undefined : testing.result);
  const test = () => void run(props.slug).catch(() => {});

  return (
    <section class="card" aria-labelledby="test-title">
      <h2 id="test-title">Test connection</h2>
      <p>Requests an access token from the Token URL with the stored credentials.</p>
      <BusyButton class="button-primary" busy={testing.pending} onClick={test}>
        Test connection
      </BusyButton>
      <div class="result-region" role="status" aria-live="polite">
        <Show when={testing.pending}>
          <p class="visually-hidden">Testing…</p>
        </Show>
        <Switch>
          <Match when={result()?.ok === true && (result() as Ok)}>
            {(ok) => (
              <div class="result result-ok">
                <h3>Token received</h3>
                <dl class="facts">
                  <dt>Token type</dt>
                  <dd>{ok().tokenType || '—'}</dd>
                  <dt>Expires in</dt>
                  <dd>{seconds(ok().expiresIn)}</dd>
                  <dt>Scope</dt>
                  <dd>{ok().scope || '—'}</dd>
                  <dt>Duration</dt>
                  <dd>{ok().durationMs} ms</dd>
                </dl>
              </div>
            )}
          </Match>
          <Match when={result()?.ok === false && (result() as Failed)}>
            {(failed) => (
              <div class="result result-failed">
                <h3>Token request failed</h3>
                <dl class="facts">
                  <dt>Status</dt>
                  <dd>{failed().status ?? 'no answer'}</dd>
                  <dt>Error</dt>
                  <dd>
                    <code>{failed().error}</code>
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
      <Show when={!testing.pending && testing.error}>
        <ProblemAlert error={testing.error} />
      </Show>
    </section>
  );
}
