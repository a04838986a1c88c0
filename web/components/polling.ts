/** Reading data again on a timer while the browser tab is visible (the activity and feed runs). */
import { onCleanup } from 'solid-js';

/** How often live data is read again while the tab is visible. */
export const ACTIVITY_POLL_MS = 5000;

/** Calls `refresh` every `ACTIVITY_POLL_MS` while the tab is visible, and at once when it becomes visible again. */
export function usePolling(refresh: () => void): void {
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const start = () => {
    stop();
    timer = setInterval(refresh, ACTIVITY_POLL_MS);
  };
  const onVisibility = () => {
    if (document.visibilityState === 'visible') {
      refresh();
      start();
    } else {
      stop();
    }
  };
  if (document.visibilityState === 'visible') start();
  document.addEventListener('visibilitychange', onVisibility);
  onCleanup(() => {
    stop();
    document.removeEventListener('visibilitychange', onVisibility);
  });
}
