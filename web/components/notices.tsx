/**
 * Confirmations that something happened (created, saved, deleted, revoked, signed out, session
 * ended): a polite live region that stays in the page, so that screen readers announce each
 * message, shown as toasts that leave by themselves after a while or when dismissed.
 */
import { createSignal, For } from 'solid-js';

export interface Notice {
  id: number;
  message: string;
  tone: 'success' | 'info';
}

/** How long a notice stays, long enough to read twice. */
export const NOTICE_DURATION_MS = 8000;

const [notices, setNotices] = createSignal<Notice[]>([]);
let nextId = 1;
const timers = new Map<number, ReturnType<typeof setTimeout>>();

const schedule = (id: number) => {
  clearTimeout(timers.get(id));
  timers.set(
    id,
    setTimeout(() => dismiss(id), NOTICE_DURATION_MS),
  );
};

/** Shows a confirmation and announces it. */
export function notify(message: string, tone: Notice['tone'] = 'success'): void {
  const id = nextId++;
  setNotices((list) => [...list.slice(-2), { id, message, tone }]);
  schedule(id);
}

export function dismiss(id: number): void {
  clearTimeout(timers.get(id));
  timers.delete(id);
  // A notice that goes away with the keyboard on it leaves the focus on the page's heading, not on <body>.
  if (document.activeElement?.closest(`[data-notice="${id}"]`)) document.querySelector<HTMLElement>('main h1')?.focus();
  setNotices((list) => list.filter((n) => n.id !== id));
}

/** A notice being read (pointer over it, or focus in it) stays until it is left. */
const hold = (id: number) => clearTimeout(timers.get(id));

/** Removes every notice (tests, and nothing else, start from none). */
export function clearNotices(): void {
  for (const id of [...timers.keys()]) dismiss(id);
}

/** The region the notices appear in; rendered once, whatever page is shown. */
export function NoticeRegion() {
  return (
    <div class="notices" role="status" aria-live="polite" aria-label="Notifications">
      <For each={notices()}>
        {(notice) => (
          <div
            class={`notice notice-${notice.tone}`}
            data-notice={notice.id}
            onMouseEnter={() => hold(notice.id)}
            onMouseLeave={() => schedule(notice.id)}
            onFocusIn={() => hold(notice.id)}
            onFocusOut={() => schedule(notice.id)}
          >
            <span class="notice-icon" aria-hidden="true" />
            <p>{notice.message}</p>
            <button type="button" class="button button-small button-quiet" onClick={() => dismiss(notice.id)}>
              Dismiss<span class="visually-hidden"> notification</span>
            </button>
          </div>
        )}
      </For>
    </div>
  );
}
