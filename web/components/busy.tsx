/** Busy indicators: a button that shows a spinner while its action runs, and a loading line. */
import { type JSX, Show, splitProps } from 'solid-js';

export type BusyButtonProps = JSX.ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean };

/**
 * A `.button` that shows a spinner and refuses clicks while `busy`; its name stays the same.
 * It is `aria-disabled`, not `disabled`: a disabled button drops the keyboard focus to the page's
 * body, and the person who pressed it would have to find their place again.
 */
export function BusyButton(props: BusyButtonProps) {
  const [local, rest] = splitProps(props, ['busy', 'children', 'class', 'onClick']);
  const click: JSX.EventHandler<HTMLButtonElement, MouseEvent> = (event) => {
    if (local.busy) {
      event.preventDefault();
      return;
    }
    if (typeof local.onClick === 'function') local.onClick(event);
  };
  return (
    <button
      type="button"
      {...rest}
      class={`button ${local.class ?? ''}`}
      aria-disabled={local.busy ? 'true' : undefined}
      aria-busy={local.busy ? 'true' : undefined}
      onClick={click}
    >
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
