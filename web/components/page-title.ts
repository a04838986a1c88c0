/** Page titles, and moving focus to a page's heading after in-app navigation. */
import { createEffect } from 'solid-js';

export const APP_NAME = 'Edge API Connector';

/** Keeps `document.title` at "<title> · Edge API Connector" while the page is shown. */
export function usePageTitle(title: () => string): void {
  createEffect(() => {
    document.title = `${title()} · ${APP_NAME}`;
  });
}

let focusPending = false;

/** Called on in-app navigation: the next page heading to appear takes focus (after its data loads). */
export function focusNextHeading(): void {
  focusPending = true;
  queueMicrotask(() => {
    const heading = document.querySelector<HTMLElement>('main h1');
    if (focusPending && heading?.isConnected) take(heading);
  });
}

/** `ref` of each page's `<h1 tabIndex={-1}>`. */
export function headingRef(heading: HTMLElement): void {
  if (focusPending) queueMicrotask(() => take(heading));
}

/** Focuses the heading once it is in the document (a Suspense boundary may hold it back a while). */
function take(heading: HTMLElement, tries = 20): void {
  if (!focusPending) return;
  if (heading.isConnected) {
    focusPending = false;
    heading.focus();
  } else if (tries > 0) {
    setTimeout(() => take(heading, tries - 1), 50);
  }
}
