/** The fields of OAuth 2.0 Client Credentials: client, secret, token endpoint, scope, and under Advanced how the client authenticates. */
import { createSignal } from 'solid-js';
import { CLIENT_AUTH_LABELS, CLIENT_AUTH_METHODS, DEFAULT_CLIENT_AUTH, DEFAULT_TOKEN_LIFETIME_SECONDS } from '../../contract/connection';
import { ADVANCED_FIELDS, type FormState } from './connection-form-model';
import { ChoiceField, SecretField, TextField, useConnectionForm } from './form-context';
import { TokenParams } from './token-params';

const hasAdvanced = (s: FormState) => s.clientAuth !== DEFAULT_CLIENT_AUTH || s.tokenParams.length > 0 || s.tokenLifetimeSeconds !== '';

export function OAuthFields() {
  const form = useConnectionForm();
  const [advancedOpen, setAdvancedOpen] = createSignal(hasAdvanced(form.state()));
  // An error inside Advanced opens it, so that the field it names can be seen and focused.
  const open = () => advancedOpen() || ADVANCED_FIELDS.some((p) => form.errorsAt(p).length > 0);
  return (
    <>
      <TextField name="clientId" path="auth.clientId" label="Client ID" help="From the API provider's app or client registration." />
      <SecretField
        name="clientSecret"
        path="auth.clientSecret"
        label="Client Secret"
        method="oauth2_client_credentials"
        help="Treat it like a password. It is stored encrypted and never shown again."
      />
      <TextField
        name="tokenUrl"
        path="auth.tokenUrl"
        label="Token URL"
        help={<>The provider's OAuth 2.0 token endpoint, e.g. https://auth.example.com/oauth/token.{form.loopbackNote()}</>}
        type="url"
        inputMode="url"
      />
      <TextField name="scope" path="auth.scope" label="Scope" help="Optional. Space-separated scopes to request, e.g. read:orders write:orders." />
      <details class="advanced" open={open()} onToggle={(e) => setAdvancedOpen(e.currentTarget.open)}>
        <summary>Advanced</summary>
        <ChoiceField
          path="auth.clientAuth"
          label="Client authentication"
          help="How the client ID and secret reach the token endpoint. Most providers take HTTP Basic; some want them in the form body."
          options={CLIENT_AUTH_METHODS}
          labels={CLIENT_AUTH_LABELS}
          value={form.state().clientAuth}
          onChange={(value) => {
            form.setState('clientAuth', value);
            form.edited('auth.clientAuth');
          }}
        />
        <TokenParams />
        <TextField
          name="tokenLifetimeSeconds"
          path="auth.tokenLifetimeSeconds"
          label="Default token lifetime (seconds)"
          help={`Used when the token endpoint does not say (expires_in). 60 to 86400; default ${DEFAULT_TOKEN_LIFETIME_SECONDS}.`}
          type="number"
          inputMode="numeric"
          min={60}
          max={86400}
          placeholder={String(DEFAULT_TOKEN_LIFETIME_SECONDS)}
        />
      </details>
    </>
  );
}
