/** The call log section: how long calls are kept, and whether query values are logged. */
import { LOG_RETAIN_DAYS_DEFAULT, LOG_RETAIN_DAYS_MAX } from '../../contract/activity';
import { fieldId } from './connection-form-model';
import { GroupErrors } from './field';
import { SectionHeading, TextField, useConnectionForm } from './form-context';

export function LogSettingsFields() {
  const form = useConnectionForm();
  const id = fieldId('log.fullQuery');
  const errors = () => form.errorsAt('log.fullQuery');
  return (
    <section class="form-section" aria-labelledby="form-log">
      <SectionHeading id="form-log">Call log</SectionHeading>
      <p class="section-help">Every call is recorded without secrets, tokens, relay keys, credential headers or bodies.</p>
      <TextField
        name="retainDays"
        path="log.retainDays"
        label="Keep calls for (days)"
        help={`1 to ${LOG_RETAIN_DAYS_MAX}; default ${LOG_RETAIN_DAYS_DEFAULT}. Older calls are removed.`}
        type="number"
        inputMode="numeric"
        min={1}
        max={LOG_RETAIN_DAYS_MAX}
        step={1}
        placeholder={String(LOG_RETAIN_DAYS_DEFAULT)}
      />
      <div class="field" classList={{ 'field-invalid': errors().length > 0 }}>
        <label class="checkbox">
          <input
            type="checkbox"
            id={id}
            checked={form.state().fullQuery}
            aria-describedby={[`${id}-help`, errors().length ? `${id}-error` : ''].join(' ').trim()}
            aria-invalid={errors().length ? 'true' : undefined}
            onChange={(e) => {
              form.setState('fullQuery', e.currentTarget.checked);
              form.edited('log.fullQuery');
            }}
          />
          Log full query strings
        </label>
        <p class="help" id={`${id}-help`}>
          Off: the log keeps the path and the names of query parameters, not their values. On: values are logged too. An
          API key sent as a query parameter is always redacted.
        </p>
        <GroupErrors id={`${id}-error`} errors={errors()} />
      </div>
    </section>
  );
}
