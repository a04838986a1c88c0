/** The fields of an API key: its parameter name, the key, and where it is sent (with a warning for the query string). */
import { Show } from 'solid-js';
import { API_KEY_PLACEMENT_LABELS, API_KEY_PLACEMENTS, DEFAULT_API_KEY_NAME } from '../../contract/connection';
import { ChoiceField, SecretField, TextField, useConnectionForm } from './form-context';

/** Why a key in the query string is a risk, shown as the placement's help when it is chosen. */
export const QUERY_KEY_WARNING =
  'Warning: in the query string the key is part of every URL, so the API’s and any proxy’s access logs record it. Send it in a header if the API accepts one.';

export function ApiKeyFields() {
  const form = useConnectionForm();
  const inQuery = () => form.state().apiKeyIn === 'query';
  return (
    <>
      <TextField
        name="apiKeyName"
        path="auth.name"
        label="Parameter name"
        help={`The header or query parameter that carries the key. Default ${DEFAULT_API_KEY_NAME}.`}
      />
      <SecretField name="apiKeyValue" path="auth.value" label="API key" method="api_key" help="The key itself. It is stored encrypted and never shown again." />
      <ChoiceField
        path="auth.in"
        label="Send the key in"
        help={() => (
          <Show when={inQuery()} fallback="A request header, or the query string of every call.">
            <strong class="warning-text">{QUERY_KEY_WARNING}</strong>
          </Show>
        )}
        options={API_KEY_PLACEMENTS}
        labels={API_KEY_PLACEMENT_LABELS}
        value={form.state().apiKeyIn}
        onChange={(value) => {
          form.setState('apiKeyIn', value);
          form.edited('auth.in');
        }}
      />
    </>
  );
}
