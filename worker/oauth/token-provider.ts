/**
 * The token provider: what the relay and the admin routes use to obtain access tokens for an
 * OAuth 2.0 client-credentials connection. The contract is this file's `TokenProvider`;
 * the implementation (isolate + KV cache, single flight, negative cache) is `TokenCache` in
 * `token-cache.ts`.
 */
import type { ConnectionStore, StoredConnection } from '../connections/store';
import { TokenCache, type TokenIsolateState } from './token-cache';

/** Tuning knobs of a token provider; the defaults suit production. */
export interface TokenProviderOptions {
  /** Clock in epoch milliseconds (tests inject one to move past expiry without sleeping). */
  now?: () => number;
  /** Timeout of one token request, in milliseconds (default 10 000); also the longest wait for another caller's request. */
  timeoutMs?: number;
  /** How long a failed token request is remembered and re-thrown without a new request (default 5 000). */
  failureTtlMs?: number;
  /** `fetch` used for token requests (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Keeps the KV writes that follow a token request running after the token is handed out
   * (`ctx.waitUntil`). Without one, or when it throws, they run on their own.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** What the isolate remembers (default: this isolate's). A new `TokenIsolateState` acts as another isolate. */
  state?: TokenIsolateState;
}

/** Access tokens for client-credentials connections. */
export interface TokenProvider {
  /** A valid access token for the connection: cached (isolate, then KV) or fetched once for all concurrent callers. */
  getAccessToken(record: StoredConnection): Promise<{ accessToken: string; fromCache: boolean }>;
  /**
   * Drops a token the upstream refused, so the next getAccessToken fetches a new one: only if it is
   * still the cached one and old enough, and at most once per connection in a while (see `TokenCache`).
   */
  invalidate(record: StoredConnection, accessToken: string): Promise<void>;
}

/**
 * A token provider backed by this isolate's memory and, sealed, by KV through the store.
 * Failures are `AppError`s: `token-endpoint-error` (502) or `token-endpoint-timeout` (504).
 */
export function createTokenProvider(store: ConnectionStore, env: Env, options?: TokenProviderOptions): TokenProvider {
  return new TokenCache(store, env, options);
}
