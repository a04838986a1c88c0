/**
 * The token provider: what the relay and the admin routes use to obtain access tokens for an
 * OAuth 2.0 client-credentials connection. The contract is this file's `TokenProvider`;
 * the implementation (isolate + KV cache, single flight, negative cache) is in `token-cache.ts`.
 */
import type { ConnectionStore, StoredConnection } from '../connections/store';
import { createTokenCache } from './token-cache';

/** Tuning knobs of a token provider; the defaults suit production. */
export interface TokenProviderOptions {
  /** Clock in epoch milliseconds (tests inject one to move past expiry without sleeping). */
  now?: () => number;
  /** Timeout of one token request, in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** How long a failed token request is remembered and re-thrown without a new request (default 5 000). */
  failureTtlMs?: number;
  /** `fetch` used for token requests (default: the global one). */
  fetch?: typeof fetch;
}

/** Access tokens for client-credentials connections. */
export interface TokenProvider {
  /** A valid access token for the connection: cached (isolate, then KV) or fetched once for all concurrent callers. */
  getAccessToken(record: StoredConnection): Promise<{ accessToken: string; fromCache: boolean }>;
  /** Drops a token the upstream refused, so the next getAccessToken fetches a new one (only if it is still the cached one). */
  invalidate(record: StoredConnection, accessToken: string): Promise<void>;
}

/**
 * A token provider backed by this isolate's memory and, sealed, by KV through the store.
 * Failures are `AppError`s: `token-endpoint-error` (502) or `token-endpoint-timeout` (504).
 */
export function createTokenProvider(store: ConnectionStore, env: Env, options?: TokenProviderOptions): TokenProvider {
  return createTokenCache(store, env, options);
}
