/**
 * The token cache: access tokens of client-credentials connections, kept in this isolate's memory
 * and, sealed by the store, in KV so other isolates reuse them.
 *
 * - Memory: one entry per connection slug, valid while its fingerprint (everything that shapes the
 *   token, in clear but without the secret: token URL, client id, secret version, scope, client
 *   auth, token params, default lifetime) matches the record's. A warm hit is a Map lookup and a
 *   string comparison: no KV, no crypto.
 * - KV (`token:<slug>:<cacheKey>`, see the store): `cacheKey` is the SHA-256 of the fingerprint,
 *   so editing a connection never serves a token obtained with its old settings.
 * - Refresh ahead of expiry by `min(60 s, lifetime / 2)`.
 * - Single flight: concurrent callers on a cold or expiring cache share one KV read and at most one
 *   token request, success or failure. A failure is remembered `TOKEN_FAILURE_TTL_MS` and re-thrown
 *   without a request; while it lasts, a token that is past its refresh point but not expired is
 *   still served.
 * - Statistics (`tokstat:<slug>`): fetches and the last error, read-modify-written after each
 *   request (approximate across isolates: KV has no compare-and-set).
 *
 * @see RFC 6749 §4.4
 */
import { allowLoopback } from '../app-env';
import { DEFAULT_TOKEN_LIFETIME_SECONDS } from '../connections/schema';
import { sha256Hex } from '../connections/seal';
import type { CachedToken, ConnectionStore, StoredConnection, TokenStats } from '../connections/store';
import { AppError } from '../errors';
import { requestToken, TokenEndpointError, TOKEN_REQUEST_TIMEOUT_MS, type TokenResponse } from './token-client';
import type { TokenProvider, TokenProviderOptions } from './token-provider';

/** Longest time a token is refreshed before it expires; shorter for short-lived tokens (half their lifetime). */
export const TOKEN_REFRESH_SKEW_SECONDS = 60;
/** How long a failed token request is remembered before the endpoint is asked again. */
export const TOKEN_FAILURE_TTL_MS = 5_000;
/** A flight older than its timeout plus this is considered lost (its request context was cancelled). */
const FLIGHT_GRACE_MS = 10_000;
/** Bound of the fingerprint → cache key memo. */
const CACHE_KEY_MEMO_MAX = 1_000;

/** A connection whose method is OAuth 2.0 client credentials. */
export type OAuthConnection = StoredConnection & {
  auth: Extract<StoredConnection['auth'], { method: 'oauth2_client_credentials' }>;
};

interface MemoryEntry {
  fingerprint: string;
  token: CachedToken;
  refreshAt: number;
}

interface Flight {
  fingerprint: string;
  startedAt: number;
  promise: Promise<{ accessToken: string; fromCache: boolean }>;
}

interface Failure {
  fingerprint: string;
  until: number;
  error: unknown;
}

// Per isolate, shared by every provider instance (one is made per request).
const memory = new Map<string, MemoryEntry>();
const flights = new Map<string, Flight>();
const failures = new Map<string, Failure>();
const fingerprints = new WeakMap<StoredConnection, string>();
const cacheKeys = new Map<string, Promise<string>>();

/** The result of a fresh token request made for "Test connection". Never holds the token. */
export interface TokenTestResult {
  tokenType: 'bearer';
  expiresIn: number;
  expiresInFromServer: boolean;
  /** The granted scope: the server's, or the requested one when the server did not say (RFC 6749 §5.1). */
  scope: string | null;
  durationMs: number;
}

/** What `GET /api/connections/<slug>/token` tells. */
export interface TokenStatus {
  cached: boolean;
  expiresAt: string | null;
  lastError: TokenStats['lastError'] | null;
  fetches: number;
}

/** True when the connection uses the client credentials grant. */
export function isOAuthConnection(record: StoredConnection): record is OAuthConnection {
  return record.auth.method === 'oauth2_client_credentials';
}

/** When a token should be replaced: `min(60 s, lifetime / 2)` before it expires. */
export function refreshAtOf(token: Pick<CachedToken, 'expiresAt' | 'obtainedAt'>): number {
  const lifetime = token.expiresAt - token.obtainedAt;
  return token.expiresAt - Math.min(TOKEN_REFRESH_SKEW_SECONDS * 1000, lifetime / 2);
}

/**
 * Everything that shapes a connection's token, in a canonical string (no secret: the secret's
 * version stands for it). Memoised per record object, so the relay's cached record costs a lookup.
 */
export function fingerprintOf(record: OAuthConnection): string {
  let fingerprint = fingerprints.get(record);
  if (fingerprint === undefined) {
    const { auth } = record;
    const params = Object.entries(auth.tokenParams ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    fingerprint = JSON.stringify([
      'v1',
      record.slug,
      auth.tokenUrl,
      auth.clientId,
      record.secretVersion,
      auth.scope ?? null,
      auth.clientAuth,
      params,
      auth.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
    ]);
    fingerprints.set(record, fingerprint);
  }
  return fingerprint;
}

/** The KV cache key of a fingerprint: its SHA-256, hex. */
function cacheKeyOf(fingerprint: string): Promise<string> {
  let key = cacheKeys.get(fingerprint);
  if (!key) {
    if (cacheKeys.size >= CACHE_KEY_MEMO_MAX) cacheKeys.clear();
    key = sha256Hex(fingerprint);
    cacheKeys.set(fingerprint, key);
  }
  return key;
}

/** Token provider over the isolate cache, KV and the token client; see the module header. */
export class TokenCache implements TokenProvider {
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly failureTtlMs: number;

  constructor(
    private readonly store: ConnectionStore,
    private readonly env: Env,
    private readonly options: TokenProviderOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS;
    this.failureTtlMs = options.failureTtlMs ?? TOKEN_FAILURE_TTL_MS;
  }

  /** A valid access token: from memory, else one shared flight reading KV, else fetching. */
  async getAccessToken(record: StoredConnection): Promise<{ accessToken: string; fromCache: boolean }> {
    const connection = requireOAuth(record);
    const fingerprint = fingerprintOf(connection);
    const now = this.now();
    const entry = memory.get(connection.slug);
    if (entry !== undefined && entry.fingerprint === fingerprint && now < entry.refreshAt) {
      return { accessToken: entry.token.accessToken, fromCache: true };
    }
    return this.join(connection, fingerprint, now);
  }

  /** Drops `accessToken` from memory and KV if it is still the cached token of the connection. */
  async invalidate(record: StoredConnection, accessToken: string): Promise<void> {
    const connection = requireOAuth(record);
    const entry = memory.get(connection.slug);
    if (entry?.token.accessToken === accessToken) memory.delete(connection.slug);
    const stored = await this.store.getCachedToken(connection.slug, await cacheKeyOf(fingerprintOf(connection)));
    if (stored?.accessToken === accessToken) await this.store.deleteTokens(connection.slug);
  }

  /**
   * Requests a fresh token (for "Test connection"), bypassing cache, flights and remembered
   * failures. A success replaces the cached token: the new one is at least as good, and servers
   * that keep one active token per client may have revoked the old one by now.
   * @throws TokenEndpointError
   */
  async test(record: StoredConnection): Promise<TokenTestResult> {
    const connection = requireOAuth(record);
    const fingerprint = fingerprintOf(connection);
    const started = Date.now();
    const response = await this.fetchAndStore(connection, fingerprint);
    return {
      tokenType: response.tokenType,
      expiresIn: response.expiresIn,
      expiresInFromServer: response.expiresInFromServer,
      scope: response.scope ?? connection.auth.scope ?? null,
      durationMs: Date.now() - started,
    };
  }

  /** Whether a valid token is cached (here or in KV), when it expires, and the request statistics. */
  async status(record: StoredConnection): Promise<TokenStatus> {
    const connection = requireOAuth(record);
    const fingerprint = fingerprintOf(connection);
    const now = this.now();
    const entry = memory.get(connection.slug);
    let token: CachedToken | null = entry?.fingerprint === fingerprint && now < entry.token.expiresAt ? entry.token : null;
    const [stored, stats] = await Promise.all([
      token ? null : this.store.getCachedToken(connection.slug, await cacheKeyOf(fingerprint)),
      this.store.getTokenStats(connection.slug),
    ]);
    if (!token && stored && now < stored.expiresAt) token = stored;
    return {
      cached: token !== null,
      expiresAt: token ? new Date(token.expiresAt).toISOString() : null,
      lastError: stats.lastError ?? null,
      fetches: stats.fetches,
    };
  }

  /** Forgets every token of a connection, in this isolate and in KV, and any remembered failure. */
  async purge(slug: string): Promise<void> {
    memory.delete(slug);
    failures.delete(slug);
    await this.store.deleteTokens(slug);
  }

  /** Joins the connection's flight, or answers from a remembered failure, or starts a flight. */
  private join(connection: OAuthConnection, fingerprint: string, now: number): Promise<{ accessToken: string; fromCache: boolean }> {
    const { slug } = connection;
    const flight = flights.get(slug);
    if (flight !== undefined && flight.fingerprint === fingerprint && now - flight.startedAt <= this.timeoutMs + FLIGHT_GRACE_MS) {
      return flight.promise;
    }
    const failure = failures.get(slug);
    if (failure !== undefined && failure.fingerprint === fingerprint && now < failure.until) {
      const stale = memory.get(slug);
      if (stale?.fingerprint === fingerprint && now < stale.token.expiresAt) {
        return Promise.resolve({ accessToken: stale.token.accessToken, fromCache: true });
      }
      return Promise.reject(failure.error);
    }
    const promise = this.fly(connection, fingerprint).finally(() => {
      if (flights.get(slug)?.promise === promise) flights.delete(slug);
    });
    flights.set(slug, { fingerprint, startedAt: now, promise });
    return promise;
  }

  /** One flight: a KV read, and a token request when KV has nothing fresh. */
  private async fly(connection: OAuthConnection, fingerprint: string): Promise<{ accessToken: string; fromCache: boolean }> {
    const { slug } = connection;
    const cacheKey = await cacheKeyOf(fingerprint);
    const remembered = memory.get(slug);
    let stale: CachedToken | null = remembered?.fingerprint === fingerprint ? remembered.token : null;

    let stored: CachedToken | null = null;
    try {
      stored = await this.store.getCachedToken(slug, cacheKey);
    } catch (err) {
      console.warn('[token-cache] KV read failed, requesting a token', slug, err instanceof Error ? err.message : String(err));
    }
    if (stored) {
      const refreshAt = refreshAtOf(stored);
      if (this.now() < refreshAt) {
        memory.set(slug, { fingerprint, token: stored, refreshAt });
        return { accessToken: stored.accessToken, fromCache: true };
      }
      if (!stale || stored.expiresAt > stale.expiresAt) stale = stored;
    }

    try {
      const response = await this.fetchAndStore(connection, fingerprint, cacheKey);
      return { accessToken: response.accessToken, fromCache: false };
    } catch (err) {
      failures.set(slug, { fingerprint, until: this.now() + this.failureTtlMs, error: err });
      if (stale && this.now() < stale.expiresAt) {
        console.warn('[token-cache] refresh failed, serving the token until it expires', slug, err instanceof AppError ? err.code : 'error');
        return { accessToken: stale.accessToken, fromCache: true };
      }
      throw err;
    }
  }

  /** Requests a token, caches it (memory, KV), and records the statistics, success or failure. */
  private async fetchAndStore(connection: OAuthConnection, fingerprint: string, cacheKey?: string): Promise<TokenResponse> {
    const { slug, auth } = connection;
    const clientSecret = await this.store.openSecret(connection);
    if (clientSecret === undefined) {
      throw new AppError('internal-error', { detail: 'The connection has no client secret.', internal: `no client secret stored for ${slug}` });
    }
    let response: TokenResponse;
    try {
      response = await requestToken(
        {
          tokenUrl: auth.tokenUrl,
          clientId: auth.clientId,
          clientSecret,
          clientAuth: auth.clientAuth,
          scope: auth.scope || undefined,
          tokenParams: auth.tokenParams,
          defaultLifetimeSeconds: auth.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
        },
        { allowLoopback: allowLoopback(this.env), timeoutMs: this.timeoutMs, fetch: this.options.fetch },
      );
    } catch (err) {
      await this.recordStats(slug, err);
      throw err;
    }

    const obtainedAt = this.now();
    const token: CachedToken = {
      accessToken: response.accessToken,
      tokenType: response.tokenType,
      obtainedAt,
      expiresAt: obtainedAt + response.expiresIn * 1000,
      ...(response.scope !== undefined ? { scope: response.scope } : {}),
    };
    failures.delete(slug);
    const writes: Promise<void>[] = [this.recordStats(slug, null)];
    if (response.expiresIn > 0) {
      memory.set(slug, { fingerprint, token, refreshAt: refreshAtOf(token) });
      const key = cacheKey ?? (await cacheKeyOf(fingerprint));
      writes.push(
        this.store.putCachedToken(slug, key, token).catch((err: unknown) => {
          console.warn('[token-cache] KV write failed', slug, err instanceof Error ? err.message : String(err));
        }),
      );
    }
    await Promise.all(writes);
    return response;
  }

  /** Counts a token request and keeps its error (or clears it on success). Never fails the caller. */
  private async recordStats(slug: string, err: unknown): Promise<void> {
    try {
      const stats = await this.store.getTokenStats(slug);
      const at = new Date().toISOString();
      let lastError: TokenStats['lastError'] = null;
      if (err instanceof TokenEndpointError) {
        const { failure } = err;
        lastError = {
          at,
          code: failure.reason,
          ...(failure.error !== undefined ? { error: failure.error } : {}),
          ...(failure.errorDescription !== undefined ? { errorDescription: failure.errorDescription } : {}),
          ...(failure.status !== undefined ? { status: failure.status } : {}),
        };
      } else if (err !== null) {
        lastError = { at, code: err instanceof AppError ? err.code : 'internal-error' };
      }
      await this.store.putTokenStats(slug, { fetches: (stats.fetches ?? 0) + 1, lastFetchAt: at, lastError });
    } catch (statsErr) {
      console.warn('[token-cache] statistics not written', slug, statsErr instanceof Error ? statsErr.message : String(statsErr));
    }
  }
}

/** The connection as an OAuth one, or a 400 problem. */
export function requireOAuth(record: StoredConnection): OAuthConnection {
  if (!isOAuthConnection(record)) {
    throw new AppError('not-oauth-connection', {
      detail: `The connection "${record.slug}" uses ${record.auth.method} authentication, not OAuth 2.0 client credentials.`,
    });
  }
  return record;
}

/** Empties this isolate's token memory, flights and remembered failures, as a new isolate starts (tests). */
export function forgetIsolateTokens(): void {
  memory.clear();
  flights.clear();
  failures.clear();
}

/** Creates the isolate-wide token cache's provider for one store and environment. */
export function createTokenCache(store: ConnectionStore, env: Env, options?: TokenProviderOptions): TokenCache {
  return new TokenCache(store, env, options);
}
