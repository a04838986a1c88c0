/** The danger card at the end of a page: what deleting does, a confirmed Delete, and its problem. */
import { type JSX, Show } from 'solid-js';
import { ConfirmButton } from './confirm-button';
import { ProblemAlert } from './problem-alert';

export interface DeletePanelProps {
  /** Id of its heading. */
  id: string;
  /** "Delete connection", also the button's accessible name. */
  title: string;
  children: JSX.Element;
  prompt: string;
  busy: boolean | undefined;
  error: unknown;
  onConfirm: () => Promise<void>;
  class?: string;
}

export function DeletePanel(props: DeletePanelProps) {
  return (
    <section class={`card card-danger ${props.class ?? ''}`} aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      <p>{props.children}</p>
      <ConfirmButton label="Delete" name={props.title} prompt={props.prompt} confirmLabel="Yes, delete" busy={props.busy} onConfirm={props.onConfirm} />
      <Show when={!props.busy && props.error}>
        <ProblemAlert error={props.error} />
      </Show>
    </section>
  );
}
