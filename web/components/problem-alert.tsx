/** Shows an error thrown by the API client (or anything else) in an alert region. */
import { For, Show } from 'solid-js';
import { ApiProblemError } from '../api/client';

/** Title, detail and any listed messages of an error; never its stack. */
export function describeError(error: unknown): { title: string; detail: string; messages: string[] } {
  if (error instanceof ApiProblemError) {
    const messages = Object.entries(error.errors).flatMap(([path, list]) => list.map((m) => (path ? `${path}: ${m}` : m)));
    return { title: error.title, detail: error.detail, messages };
  }
  return {
    title: 'Something went wrong',
    detail: error instanceof Error ? error.message : String(error),
    messages: [],
  };
}

/**
 * Whether asking again may help: a network failure, a timeout, throttling or a server error.
 * A 4xx answer (not found, refused, invalid) comes back the same however often it is asked.
 */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof ApiProblemError)) return true;
  return error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500;
}

export interface ProblemAlertProps {
  error: unknown;
  /** Messages to list instead of the problem's own field errors (e.g. those not shown at a field). */
  messages?: string[];
  /** Offered as "Try again" when asking again may help (see `isRetryable`). */
  onRetry?: () => void;
  ref?: (el: HTMLDivElement) => void;
}

export function ProblemAlert(props: ProblemAlertProps) {
  const described = () => describeError(props.error);
  const messages = () => props.messages ?? described().messages;
  return (
    <div class="alert alert-error" role="alert" tabIndex={-1} ref={props.ref}>
      <p class="alert-title">{described().title}</p>
      <Show when={described().detail && described().detail !== described().title}>
        <p>{described().detail}</p>
      </Show>
      <Show when={messages().length > 0}>
        <ul>
          <For each={messages()}>{(m) => <li>{m}</li>}</For>
        </ul>
      </Show>
      <Show when={props.onRetry && isRetryable(props.error)}>
        <button type="button" class="button" onClick={() => props.onRetry?.()}>
          Try again
        </button>
      </Show>
    </div>
  );
}
