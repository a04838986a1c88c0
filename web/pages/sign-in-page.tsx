/** Sign-in with the admin token; the service answers with an HttpOnly session cookie. */
import { useAction, useSubmission } from '@solidjs/router';
import { createSignal, Show } from 'solid-js';
import * as api from '../api/client';
import { BrandMark } from '../components/brand-mark';
import { BusyButton } from '../components/busy';
import { usePageTitle } from '../components/page-title';
import { describeError } from '../components/problem-alert';
import { SecretInput } from '../components/secret-input';
import { signIn } from '../data';

export interface SignInPageProps {
  onSignedIn: (session: api.Session) => void;
  /** The session ended while the dashboard was open (a 401): say so, and that the page comes back. */
  expired?: boolean;
}

function messageFor(error: unknown): string {
  if (error instanceof api.ApiProblemError && error.status === 401) return 'That is not the admin token. Check it and try again.';
  const { title, detail } = describeError(error);
  return detail && detail !== title ? `${title}: ${detail}` : title;
}

export function SignInPage(props: SignInPageProps) {
  usePageTitle(() => 'Sign in');
  const run = useAction(signIn);
  const submission = useSubmission(signIn);
  const [token, setToken] = createSignal('');
  const [missing, setMissing] = createSignal(false);
  let input: HTMLInputElement | undefined;

  const error = () => (missing() ? 'Enter the admin token.' : submission.error ? messageFor(submission.error) : undefined);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (submission.pending) return;
    submission.clear();
    setMissing(!token().trim());
    if (missing()) return input?.focus();
    try {
      props.onSignedIn(await run(token().trim()));
    } catch {
      input?.focus();
    }
  };

  return (
    <main class="sign-in" id="main">
      <form class="card sign-in-card" onSubmit={submit} noValidate aria-labelledby="sign-in-title">
        <p class="brand brand-large">
          <BrandMark />
          Edge API Connector
        </p>
        <h1 id="sign-in-title">Sign in</h1>
        <Show when={props.expired}>
          <p class="alert alert-info">Your session has ended. Sign in again: you stay on the page you were on.</p>
        </Show>
        <div class="field" classList={{ 'field-invalid': !!error() }}>
          <label for="admin-token">Admin token</label>
          <SecretInput
            id="admin-token"
            name="token"
            ref={input}
            value={token()}
            onInput={(e) => {
              setToken(e.currentTarget.value);
              setMissing(false);
            }}
            autocomplete="current-password"
            aria-describedby={error() ? 'admin-token-help admin-token-error' : 'admin-token-help'}
            aria-invalid={error() ? 'true' : undefined}
            autofocus
          />
          <p class="help" id="admin-token-help">
            The <code>ADMIN_TOKEN</code> of this service (for a local run, in <code>.dev.vars</code>).
          </p>
          <Show when={error()}>
            <div class="field-error" id="admin-token-error" role="alert">
              <p>{error()}</p>
            </div>
          </Show>
        </div>
        <BusyButton type="submit" class="button-primary button-block" busy={submission.pending}>
          Sign in
        </BusyButton>
      </form>
    </main>
  );
}
