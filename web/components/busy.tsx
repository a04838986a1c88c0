/** Busy indicators: a button that shows a spinner while its action runs, and a loading line. */
import { type JSX, Show, splitProps } from 'solid-js';

export type BusyButtonProps = JSX.ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean };

/** A `.button` that is disabled and `aria-busy` with a spinner while `busy`; its name stays the same. */
export function BusyButton(props: BusyButtonProps) {
  const [local, rest] = splitProps(props, ['busy', 'children', 'class']);
  return (
    <button type="button" {...rest} class={`button ${local.class ?? ''}`} disabled={local.busy} aria-busy={local.busy}>
      <Show when={local.busy}>
        <span class="spinner" aria-hidden="true" />
      </Show>
      {local.children}
    </button>
  );
}

/** "Loading …" with a spinner, announced politely. */
export function Loading(props: { children: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> {props.children}
    </p>
  );
}
