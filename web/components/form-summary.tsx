/**
 * What the editing forms (connection, feed) share around their fields: the alert that sums up a
 * save (someone saved meanwhile, the server's problem, or the fields that need attention), the
 * messages a field shows, and the question before leaving with changes that were not saved.
 */
import { useBeforeLeave } from '@solidjs/router';
import { createSignal, For, onCleanup, Show } from 'solid-js';
import { isVersionConflict } from '../api/client';
import { BusyButton } from './busy';
import { describeError } from './problem-alert';

export interface FormSummary {
  title: string;
  detail: string;
  messages: string[];
  /** Someone saved meanwhile (412): the alert offers to reload. */
  reload?: true;
}

export interface FormSummaryOptions {
  /** "connection", "feed". */
  thing: string;
  /** The version the form shows. */
  version: number | undefined;
  /** The last save's error, while it applies. */
  problem: unknown;
  /** The server's messages no field shows. */
  serverOther: string[];
  /** After a submit: how many fields the client's checks refuse, and the messages no field shows. */
  submitted: boolean;
  clientCount: number;
  clientOther: string[];
}

/** What the alert says, or undefined when there is nothing to say. */
export function formSummary(o: FormSummaryOptions): FormSummary | undefined {
  if (isVersionConflict(o.problem)) {
    const current = o.problem.extensions.version;
    const now = typeof current === 'number' ? ` (it is now at version ${current}; this form shows version ${o.version})` : '';
    return {
      title: `Someone saved this ${o.thing} meanwhile`,
      detail: `Your changes were not saved, so that theirs are not overwritten${now}. Reload to see the ${o.thing} as it is saved now, then make your changes again.`,
      messages: [],
      reload: true,
    };
  }
  if (o.problem) {
    const { title, detail } = describeError(o.problem);
    return { title, detail, messages: o.serverOther };
  }
  const count = o.clientCount + o.clientOther.length;
  if (!o.submitted || count === 0) return undefined;
  return { title: 'Check the highlighted fields', detail: `${count} field${count === 1 ? ' needs' : 's need'} attention.`, messages: o.clientOther };
}

/** The summary as an alert (focusable, so that a failed save can take the keyboard there). */
export function FormAlert(props: { summary: FormSummary; reloading: boolean; onReload: () => void; ref: (el: HTMLDivElement) => void }) {
  const s = () => props.summary;
  return (
    <div class="alert alert-error" role="alert" tabIndex={-1} ref={props.ref}>
      <p class="alert-title">{s().title}</p>
      <Show when={s().detail && s().detail !== s().title}>
        <p>{s().detail}</p>
      </Show>
      <Show when={s().messages.length}>
        <ul>
          <For each={s().messages}>{(m) => <li>{m}</li>}</For>
        </ul>
      </Show>
      <Show when={s().reload}>
        <BusyButton busy={props.reloading} onClick={() => props.onReload()}>
          Reload
        </BusyButton>
      </Show>
    </div>
  );
}

/** Asks `prompt` before leaving (in the app, or the tab) while `dirty`, unless `skip` (e.g. the thing is being deleted). */
export function useLeaveGuard(dirty: () => boolean, skip: () => boolean | undefined, prompt: string): void {
  useBeforeLeave((event) => {
    if (event.defaultPrevented || !dirty() || skip()) return;
    event.preventDefault();
    if (window.confirm(prompt)) event.retry(true);
  });
  const warnOnUnload = (event: BeforeUnloadEvent) => {
    if (dirty()) event.preventDefault();
  };
  window.addEventListener('beforeunload', warnOnUnload);
  onCleanup(() => window.removeEventListener('beforeunload', warnOnUnload));
}

/**
 * Reading the stored thing again after a 412: `read` revalidates it (undefined when there is
 * nothing stored), then `done` shows it as stored. One reload at a time.
 */
export function useReload(read: () => Promise<unknown> | undefined, done: () => void): { reloading: () => boolean; reload: () => Promise<void> } {
  const [reloading, setReloading] = createSignal(false);
  const reload = async () => {
    if (reloading()) return;
    const reading = read();
    if (!reading) return;
    setReloading(true);
    try {
      await reading;
    } finally {
      setReloading(false);
    }
    done();
  };
  return { reloading, reload };
}

/** A field's messages: the client's first once the field was left or the form submitted (`showClient`), then the server's, each once. */
export function fieldMessages(client: readonly string[] | undefined, server: readonly string[] | undefined, showClient: boolean): string[] {
  return [...new Set([...(showClient ? (client ?? []).slice(0, 1) : []), ...(server ?? [])])];
}

/** The server's errors without those at a field edited since the save (or inside it: `separator` joins a path's parts). */
export function withoutEdited(errors: Record<string, string[]>, edited: ReadonlySet<string>, separator: '.' | '/'): Record<string, string[]> {
  const stale = [...edited];
  return Object.fromEntries(Object.entries(errors).filter(([p]) => !stale.some((c) => p === c || p.startsWith(`${c}${separator}`))));
}

/** Focuses the first control of `form` marked invalid; false when there is none. */
export function focusFirstInvalid(form: HTMLElement | undefined): boolean {
  const invalid = form?.querySelector<HTMLElement>('[aria-invalid="true"]');
  invalid?.focus();
  return !!invalid;
}
