/** Key/value rows of extra token request parameters (e.g. audience, resource). */
import { Index } from 'solid-js';
import { fieldId, type TokenParamRow } from './connection-form-model';
import { GroupErrors } from './field';
import { useConnectionForm } from './form-context';

const PATH = 'auth.tokenParams';

export function TokenParams() {
  const form = useConnectionForm();
  const id = fieldId(PATH);
  const errors = () => form.errorsAt(PATH);
  const invalid = () => (errors().length ? 'true' : undefined);
  const rows = () => form.state().tokenParams;
  const change = (next: TokenParamRow[]) => {
    form.setState('tokenParams', next);
    form.edited(PATH);
  };
  const update = (index: number, patch: Partial<TokenParamRow>) => change(rows().map((row, i) => (i === index ? { ...row, ...patch } : row)));
  let list: HTMLDivElement | undefined;
  const add = () => {
    change([...rows(), { name: '', value: '' }]);
    list?.querySelector<HTMLInputElement>('.param-row:last-child input')?.focus();
  };
  const remove = (index: number) => {
    change(rows().filter((_, j) => j !== index));
    // The row and its button are gone: keep the keyboard in the list.
    const inputs = list?.querySelectorAll<HTMLInputElement>('.param-row input');
    (inputs?.[Math.min(index, rows().length - 1) * 2] ?? list?.parentElement?.querySelector<HTMLButtonElement>('.add-param'))?.focus();
  };
  return (
    <fieldset class="field" aria-describedby={`${id}-help${errors().length ? ` ${id}-error` : ''}`}>
      <legend>Extra token parameters</legend>
      <div class="param-rows" ref={list}>
        <Index each={rows()}>
          {(row, i) => (
            <div class="param-row">
              <input
                id={i === 0 ? id : undefined}
                aria-label={`Parameter ${i + 1} name`}
                aria-invalid={invalid()}
                placeholder="audience"
                autocomplete="off"
                spellcheck={false}
                value={row().name}
                onInput={(e) => update(i, { name: e.currentTarget.value })}
                onBlur={() => form.touch(PATH)}
              />
              <input
                aria-label={`Parameter ${i + 1} value`}
                placeholder="https://api.example.com"
                autocomplete="off"
                spellcheck={false}
                value={row().value}
                onInput={(e) => update(i, { value: e.currentTarget.value })}
                onBlur={() => form.touch(PATH)}
              />
              <button type="button" class="button button-small button-quiet" onClick={() => remove(i)}>
                Remove<span class="visually-hidden"> parameter {i + 1}</span>
              </button>
            </div>
          )}
        </Index>
      </div>
      <button type="button" class="button button-small add-param" onClick={add}>
        Add parameter
      </button>
      <p class="help" id={`${id}-help`}>
        Added to every token request, e.g. audience or resource. The connector sets grant_type, client_id, client_secret and scope
        itself.
      </p>
      <GroupErrors id={`${id}-error`} errors={errors()} />
    </fieldset>
  );
}
