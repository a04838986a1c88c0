/**
 * A destructive button that asks a second time: the first click reveals a prompt with a confirm
 * and a cancel button (focus moves to cancel, Escape cancels).
 */
import { createSignal, Show } from 'solid-js';
import { BusyButton } from './busy';

export interface ConfirmButtonProps {
  /** Visible text of the first button, e.g. "Delete". */
  label: string;
  /** Accessible name of the first button when the text alone is ambiguous (e.g. "Revoke key ci"). */
  name?: string;
  prompt: string;
  /** Text of the confirming button, e.g. "Yes, delete". */
  confirmLabel: string;
  busy?: boolean;
  onConfirm: () => void | Promise<void>;
}

export function ConfirmButton(props: ConfirmButtonProps) {
  const [asking, setAsking] = createSignal(false);
  let first: HTMLButtonElement | undefined;
  let cancel: HTMLButtonElement | undefined;

  const ask = () => {
    setAsking(true);
    cancel?.focus();
  };
  const stop = () => {
    setAsking(false);
    first?.focus();
  };
  // Afterwards the keyboard goes back to the first button, unless the row or page it was on is gone.
  const confirm = async () => {
    await props.onConfirm();
    if (!cancel?.isConnected) return;
    setAsking(false);
    first?.focus();
  };

  return (
    <Show
      when={asking()}
      fallback={
        <button type="button" class="button button-danger-quiet" aria-label={props.name} ref={first} onClick={ask}>
          {props.label}
        </button>
      }
    >
      <div class="confirm" role="group" aria-label={props.name ?? props.label} onKeyDown={(e) => e.key === 'Escape' && stop()}>
        <p class="confirm-prompt">{props.prompt}</p>
        <div class="actions">
          <BusyButton class="button-danger" busy={props.busy} onClick={confirm}>{props.confirmLabel}</BusyButton>
          <button type="button" class="button" ref={cancel} onClick={stop}>
            Cancel
          </button>
        </div>
      </div>
    </Show>
  );
}
