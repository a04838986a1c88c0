/** A form field: label, control, help and error messages, wired for assistive technology. */
import { For, type JSX, Show } from 'solid-js';

/** Attributes the control must carry (spread them: they stay reactive). */
export interface FieldControlProps {
  id: string;
  'aria-describedby': string | undefined;
  'aria-invalid': 'true' | undefined;
}

export interface FieldProps {
  id: string;
  label: string;
  /** Help under the control; a function keeps it reactive. */
  help?: JSX.Element | (() => JSX.Element);
  errors?: readonly string[];
  class?: string;
  children: (control: FieldControlProps) => JSX.Element;
}

export function Field(props: FieldProps) {
  const hasErrors = () => (props.errors?.length ?? 0) > 0;
  const control: FieldControlProps = {
    get id() {
      return props.id;
    },
    get 'aria-describedby'() {
      const ids = [props.help ? `${props.id}-help` : '', hasErrors() ? `${props.id}-error` : ''].filter(Boolean);
      return ids.length ? ids.join(' ') : undefined;
    },
    get 'aria-invalid'() {
      return hasErrors() ? 'true' : undefined;
    },
  };
  return (
    <div class={`field ${props.class ?? ''}`} classList={{ 'field-invalid': hasErrors() }}>
      <label for={props.id}>{props.label}</label>
      {props.children(control)}
      <Show when={props.help}>
        <p class="help" id={`${props.id}-help`}>
          {props.help as JSX.Element}
        </p>
      </Show>
      <GroupErrors id={`${props.id}-error`} errors={props.errors ?? []} />
    </div>
  );
}

/** Messages under a field, or under a group of controls (a fieldset has no single `Field`). */
export function GroupErrors(props: { id: string; errors: readonly string[] }) {
  return (
    <Show when={props.errors.length}>
      <div class="field-error" id={props.id}>
        <For each={props.errors}>{(m) => <p>{m}</p>}</For>
      </div>
    </Show>
  );
}

/**
 * The options of a select of a closed set. Each option says itself whether it is selected: a
 * select's `value` set before its options are in the document selects nothing, and the browser
 * then shows the first option whatever the state holds.
 */
export function ChoiceOptions<T extends string>(props: { options: readonly T[]; labels: Record<T, string>; value: T }) {
  return (
    <For each={props.options}>
      {(option) => (
        <option value={option} selected={option === props.value}>
          {props.labels[option]}
        </option>
      )}
    </For>
  );
}
