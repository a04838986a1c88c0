/**
 * A table row whose last cell opens its details in a row under it: the activity's calls and a
 * feed's runs.
 */
import { createSignal, type JSX, Show } from 'solid-js';

export function DetailsRow(props: {
  /** The details row's id. */
  id: string;
  /** Which row the button opens, for screen readers: "the run at …". */
  of: string;
  class?: string;
  /** The cells before the button's. */
  cells: JSX.Element;
  /** The columns the details span. */
  colSpan: number;
  /** The details, made while open. */
  children: JSX.Element;
}) {
  const [open, setOpen] = createSignal(false);
  return (
    <>
      <tr class={props.class}>
        {props.cells}
        <td class="cell-actions">
          <button type="button" class="button button-small button-quiet" aria-expanded={open()} aria-controls={props.id} onClick={() => setOpen(!open())}>
            Details<span class="visually-hidden"> of {props.of}</span>
          </button>
        </td>
      </tr>
      <Show when={open()}>
        <tr class="call-details-row" id={props.id}>
          <td colSpan={props.colSpan}>{props.children}</td>
        </tr>
      </Show>
    </>
  );
}
