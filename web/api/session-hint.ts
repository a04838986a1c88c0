/**
 * Whether this browser may hold a session cookie, so that a first visit (or one after signing
 * out) shows the sign-in page without asking `GET /api/session` for a 401 that the browser would
 * log as an error. The cookie itself is HttpOnly and out of reach; this flag only says that a
 * sign-in happened here and no 401 or sign-out came after it. Where storage is unavailable the
 * session is always asked for.
 */
const KEY = 'eac.session';

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/** False only when this browser is known to hold no session. */
export function maySessionExist(): boolean {
  const store = storage();
  if (!store) return true;
  try {
    return store.getItem(KEY) === '1';
  } catch {
    return true;
  }
}

export function rememberSession(present: boolean): void {
  try {
    if (present) storage()?.setItem(KEY, '1');
    else storage()?.removeItem(KEY);
  } catch {
    // Storage full or refused: the session is then asked for on every load, as without the flag.
  }
}
