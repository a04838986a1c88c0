/** The relay policy section: allowed methods, path prefixes, browser origins and the timeout. */
import { For } from 'solid-js';
import { DEFAULT_RELAY_TIMEOUT_MS, MAX_RELAY_TIMEOUT_MS, RELAY_METHODS } from '../../contract/connection';
import { fieldId } from './connection-form-model';
import { GroupErrors } from './field';
import { FormField, SectionHeading, TextField, useConnectionForm } from './form-context';

function LinesField(props: { name: 'allowedPaths' | 'allowedOrigins'; path: string; label: string; help: string }) {
  const form = useConnectionForm();
  return (
    <FormField path={props.path} label={props.label} help={props.help}>
      {(c) => (
        <textarea
          {...c}
          rows={3}
          spellcheck={false}
          value={form.state()[props.name]}
          onInput={(e) => {
            form.setState(props.name, e.currentTarget.value);
            form.edited(props.path);
          }}
          onBlur={() => form.touch(props.path)}
        />
      )}
    </FormField>
  );
}

export function RelayPolicyFields() {
  const form = useConnectionForm();
  const methodErrors = () => form.errorsAt('relay.allowedMethods');
  return (
    <section class="form-section" aria-labelledby="form-relay">
      <SectionHeading id="form-relay">Relay policy</SectionHeading>
      <p class="section-help">Optional limits on what callers with a relay key may do.</p>
      <fieldset
        class="field"
        aria-describedby={['f-relay-allowedMethods-help', methodErrors().length ? 'f-relay-allowedMethods-error' : ''].join(' ').trim()}
      >
        <legend>Allowed methods</legend>
        <div class="checkbox-row">
          <For each={RELAY_METHODS}>
            {(method) => (
              <label class="checkbox">
                <input
                  type="checkbox"
                  id={method === RELAY_METHODS[0] ? fieldId('relay.allowedMethods') : undefined}
                  aria-invalid={methodErrors().length ? 'true' : undefined}
                  checked={form.state().allowedMethods.includes(method)}
                  onChange={(e) => {
                    const checked = e.currentTarget.checked;
                    form.setState('allowedMethods', (list) =>
                      checked ? RELAY_METHODS.filter((m) => m === method || list.includes(m)) : list.filter((m) => m !== method),
                    );
                    form.edited('relay.allowedMethods');
                  }}
                />
                {method}
              </label>
            )}
          </For>
        </div>
        <p class="help" id="f-relay-allowedMethods-help">
          Leave all unchecked to allow every method.
        </p>
        <GroupErrors id="f-relay-allowedMethods-error" errors={methodErrors()} />
      </fieldset>
      <LinesField
        name="allowedPaths"
        path="relay.allowedPaths"
        label="Allowed path prefixes"
        help="One per line, e.g. /orders. Leave empty to allow every path under the base URL."
      />
      <LinesField
        name="allowedOrigins"
        path="relay.allowedOrigins"
        label="Allowed browser origins"
        help="One per line, e.g. https://shop.example. Web pages on these origins may call the relay (CORS). Leave empty to refuse calls from browsers; servers are not affected."
      />
      <TextField
        name="timeoutMs"
        path="relay.timeoutMs"
        label="Timeout (ms)"
        help={`How long the relay waits for the API. 1000 to ${MAX_RELAY_TIMEOUT_MS}; default ${DEFAULT_RELAY_TIMEOUT_MS}.`}
        type="number"
        inputMode="numeric"
        min={1000}
        max={MAX_RELAY_TIMEOUT_MS}
        step={1000}
        placeholder={String(DEFAULT_RELAY_TIMEOUT_MS)}
      />
    </section>
  );
}
