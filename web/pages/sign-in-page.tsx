/** Sign-in with the admin token; the service answers with an HttpOnly session cookie. */
import { createSignal, Show } from 'solid-js';
import * as api from '../api/client';
import { describeError } from '../components/problem-alert';
import { SecretInput } from '../components/secret-input';
import { usePageTitle } from '../components/page-title';
import { BusyButton } from '../components/busy';

export interface SignInPageProps {
  onSignedIn: (session: api.Session) => void;
}

export function SignInPage(props: SignInPageProps) {
  usePageTitle(() => 'Sign in');
  const [token, setToken] = createSignal('');
  const [error, setError] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  let input: HTMLInputElement | undefined;

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!token().trim()) {
      setError('Enter the admin token.');
      input?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api.signIn(token().trim());
      const session = await api.getSession();
      if (session) return props.onSignedIn(session);
      setError('Signed in, but the session cookie was not kept. Allow cookies for this site and try again.');
    } catch (err) {
      const wrongToken = err instanceof api.ApiProblemError && err.status === 401;
      const { title, detail } = describeError(err);
      setError(wrongToken ? 'That is not the admin token. Check it and try again.' : `${title}: ${detail}`);
    } finally {
      setBusy(false);
    }
    input?.focus();
  };

  return (
    <main class="sign-in" id="main">
      <form class="card sign-in-card" onSubmit={submit} noValidate aria-labelledby="sign-in-title">
        <p class="brand brand-large">
          <span class="brand-mark" aria-hidden="true" />
          Edge API Connector
        </p>
        <h1 id="sign-in-title">Sign in</h1>
        <div class="field" classList={{ 'field-invalid': !!error() }}>
          <label for="admin-token">Admin token</label>
          <SecretInput
            id="admin-token"
            name="token"
            ref={input}
            value={token()}
            onInput={(e) => setToken(e.currentTarget.value)}
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
        <BusyButton type="submit" class="button-primary button-block" busy={busy()}>Sign in</BusyButton>
      </form>
    </main>
  );
}
