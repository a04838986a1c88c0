/** A password-type input with a Show/Hide toggle; never prefilled by the app. */
import { createSignal, type JSX, splitProps } from 'solid-js';

export type SecretInputProps = JSX.InputHTMLAttributes<HTMLInputElement> & { id: string };

export function SecretInput(props: SecretInputProps) {
  const [shown, setShown] = createSignal(false);
  const [local, rest] = splitProps(props, ['class']);
  return (
    <div class="secret-input">
      <input
        {...rest}
        class={local.class}
        type={shown() ? 'text' : 'password'}
        autocomplete={rest.autocomplete ?? 'new-password'}
        autocapitalize="off"
        spellcheck={false}
      />
      <button
        type="button"
        class="button button-small"
        aria-controls={props.id}
        aria-pressed={shown()}
        onClick={() => setShown(!shown())}
      >
        {shown() ? 'Hide' : 'Show'}
      </button>
    </div>
  );
}
