/**
 * Rules both sides apply, written once: the Worker enforces them, the dashboard explains them
 * before a save.
 */

/** The origin (`scheme://host:port`) of a URL, or `null` when it is not an absolute URL. */
export function originOf(url: string): string | null {
  try {
    return new URL(url.trim()).origin;
  } catch {
    return null;
  }
}

/** The parts of a connection that decide where its secret is sent. */
export interface SecretDestination {
  baseUrl: string;
  auth: { method: string; tokenUrl?: string };
}

/**
 * Why a stored secret may not be kept when a connection moves from `stored` to `next`: a stored
 * secret is never sent to a new host, so a changed Base URL origin (or, for OAuth, Token URL
 * origin) needs the secret entered again. Empty when it may be kept.
 */
export function secretReentryReasons(stored: SecretDestination, next: SecretDestination): string[] {
  const reasons: string[] = [];
  if (originOf(next.baseUrl) !== originOf(stored.baseUrl)) reasons.push("the Base URL's host changed");
  if (
    stored.auth.method === next.auth.method &&
    stored.auth.tokenUrl !== undefined &&
    originOf(next.auth.tokenUrl ?? '') !== originOf(stored.auth.tokenUrl)
  ) {
    reasons.push("the Token URL's host changed");
  }
  return reasons;
}
