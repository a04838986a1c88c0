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
 *   token request, success or failure. Each caller that joins a running flight waits at most the
 *   request timeout. A failure is remembered `TOKEN_FAILURE_TTL_MS` and re-thrown without a
 *   request; while it lasts, a token that is past its refresh point but not expired is still served.
 * - A flight writes back (memory, failures, KV) only while it is still current: not after a purge
 *   of its connection, nor once a flight for newer settings of the connection has started.
 * - The token is handed out as soon as it is in memory; the KV writes that follow a request (token,
 *   statistics) run in the background (`waitUntil`). "Test connection" waits for them, so the
 *   status read right after it is consistent.
 * - Invalidation (an upstream refused the token) drops only a token at least
 *   `TOKEN_MIN_AGE_BEFORE_INVALIDATE_SECONDS` old, and at most once per connection in that window:
 *   an upstream that refuses every token cannot make each relay call request a new one.
 * - Statistics (`tokstat:<slug>`): fetches and the last error, read-modify-written after each
 *   request (approximate across isolates: KV has no compare-and-set).
 *
 * @see RFC 6749 §4.4
 */
import { allowLoopback } from '../app-env';
import { DEFAULT_TOKEN_LIFETIME_SECONDS } from '../../contract/connection';
import { sha256Hex } from '../connections/seal';
import type { CachedToken, ConnectionStore, StoredConnection, TokenStats } from '../connections/store';
import { AppError } from '../errors';
import { requestToken, TokenEndpointError, TOKEN_REQUEST_TIMEOUT_MS, type TokenResponse } from './token-client';
import type { TokenProvider, TokenProviderOptions } from './token-provider';

/** Longest time a token is refreshed before it expires; shorter for short-lived tokens (half their lifetime). */
export const TOKEN_REFRESH_SKEW_SECONDS = 60;
/** How long a failed token request is remembered before the endpoint is asked again. */
export const TOKEN_FAILURE_TTL_MS = 5_000;
/**
 * A refused token younger than this is kept (the upstream refuses the client, not the token), and a
 * connection's token is dropped at most once in this window.
 */
export const TOKEN_MIN_AGE_BEFORE_INVALIDATE_SECONDS = 30;
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

/** Who may write back a request's outcome: the settings and the purge generation it started under. */
interface Ticket {
  slug: string;
  fingerprint: string;
  generation: number;
}

/**
 * What one isolate remembers about tokens, shared by every provider made in it (one per request).
 * Isolates share nothing else but KV: a new `TokenIsolateState` behaves as a freshly started isolate.
 */
export class TokenIsolateState {
  readonly memory = new Map<string, MemoryEntry>();
  readonly flights = new Map<string, Flight>();
  readonly failures = new Map<string, Failure>();
  /** Per slug, bumped by each purge: what started before it writes nothing back. */
  readonly generations = new Map<string, number>();
  /** Per slug, the fingerprint of the latest flight or test: older settings write nothing back. */
  readonly latest = new Map<string, string>();
  /** Per slug, the last invalidation: when, and the token it dropped (never to be reloaded from KV). */
  readonly invalidations = new Map<string, { at: number; dropped?: string }>();
}

// Per isolate, shared by every provider instance (one is made per request).
const isolateState = new TokenIsolateState();
// Pure memos: results of functions of their keys, right in any isolate.
const fingerprints = new WeakMap<StoredConnection, string>();
const cacheKeys = new Map<string, Promise<string>>();

/** The result of a fresh token request made for "Test connection". Never holds the token. */
export type TokenTestOutcome =
  | {
      ok: true;
      tokenType: 'bearer';
      expiresIn: number;
      expiresInFromServer: boolean;
      /** The granted scope: the server's, or the requested one when the server did not say (RFC 6749 §5.1). */
      scope: string | null;
      /** Time of the token request itself, in milliseconds (the cache's bookkeeping not included). */
      durationMs: number;
    }
  | { ok: false; error: TokenEndpointError; durationMs: number };

/** What `GET /api/connections/<slug>/token` tells. */
export interface TokenStatus {
  cached: boolean;
  expiresAt: string | null;
  lastError: NonNullable<TokenStats['lastError']> | null;
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

/** `promise`, or a `token-endpoint-timeout` once `timeoutMs` has passed without it settling. */
function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TokenEndpointError({ reason: 'timeout' }, `no token from the shared flight within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, expired]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Token provider over the isolate cache, KV and the token client; see the module header. */
export class TokenCache implements TokenProvider {
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly failureTtlMs: number;
  private readonly state: TokenIsolateState;

  constructor(
    private readonly store: ConnectionStore,
    private readonly env: Env,
    private readonly options: TokenProviderOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now());
    this.timeoutMs = options.timeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS;
    this.failureTtlMs = options.failureTtlMs ?? TOKEN_FAILURE_TTL_MS;
    this.state = options.state ?? isolateState;
  }

  /** A valid access token: from memory, else one shared flight reading KV, else fetching. */
  async getAccessToken(record: StoredConnection): Promise<{ accessToken: string; fromCache: boolean }> {
    const connection = requireOAuth(record);
    const fingerprint = fingerprintOf(connection);
    const now = this.now();
    const entry = this.state.memory.get(connection.slug);
    if (entry !== undefined && entry.fingerprint === fingerprint && now < entry.refreshAt) {
      return { accessToken: entry.token.accessToken, fromCache: true };
    }
    return this.join(connection, fingerprint, now);
  }

  /**
   * Drops `accessToken` from memory and KV if it is still the cached token of the connection and
   * at least `TOKEN_MIN_AGE_BEFORE_INVALIDATE_SECONDS` old; a younger one is kept, so the caller
   * gets the same token again and does not retry. At most one drop per connection in that window.
   */
  async invalidate(record: StoredConnection, accessToken: string): Promise<void> {
    const connection = requireOAuth(record);
    const { slug } = connection;
    const now = this.now();
    const minAgeMs = TOKEN_MIN_AGE_BEFORE_INVALIDATE_SECONDS * 1000;
    const { memory, invalidations } = this.state;
    const last = invalidations.get(slug);
    if (last !== undefined && now - last.at < minAgeMs) return;
    const entry = memory.get(slug);
    if (entry?.token.accessToken === accessToken) {
      // Just issued and already refused: a new one would be refused too (wrong audience, scope, clock).
      if (now - entry.token.obtainedAt < minAgeMs) return;
      memory.delete(slug);
      invalidations.set(slug, { at: now, dropped: accessToken });
    } else if (entry?.fingerprint === fingerprintOf(connection)) {
      // The refused token was already replaced here.
      return;
    } else {
      // Set before the KV read, so that concurrent refusals of the same token cost one read at most.
      invalidations.set(slug, { at: now });
    }
    const stored = await this.store.getCachedToken(slug, await cacheKeyOf(fingerprintOf(connection)));
    if (stored?.accessToken !== accessToken || now - stored.obtainedAt < minAgeMs) return;
    invalidations.set(slug, { at: now, dropped: accessToken });
    // A flight may have put it back in memory from KV meanwhile.
    if (memory.get(slug)?.token.accessToken === accessToken) memory.delete(slug);
    await this.store.deleteTokens(slug);
  }

  /**
   * Requests a fresh token (for "Test connection"), bypassing cache, flights and remembered
   * failures. A success replaces the cached token: the new one is at least as good, and servers
   * that keep one active token per client may have revoked the old one by now. Waits for the KV
   * writes, so that a status read right after it sees them; `durationMs` is the request's alone.
   */
  async test(record: StoredConnection): Promise<TokenTestOutcome> {
    const connection = requireOAuth(record);
    const ticket = this.ticket(connection, fingerprintOf(connection));
    const outcome = await this.fetchAndStore(connection, ticket, 'await');
    if (!outcome.ok) return outcome;
    const { response, durationMs } = outcome;
    return {
      ok: true,
      tokenType: response.tokenType,
      expiresIn: response.expiresIn,
      expiresInFromServer: response.expiresInFromServer,
      scope: response.scope ?? connection.auth.scope ?? null,
      durationMs,
    };
  }

  /** Whether a valid token is cached (here or in KV), when it expires, and the request statistics. */
  async status(record: StoredConnection): Promise<TokenStatus> {
    const connection = requireOAuth(record);
    const fingerprint = fingerprintOf(connection);
    const now = this.now();
    const entry = this.state.memory.get(connection.slug);
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

  /**
   * Forgets every token of a connection, in this isolate and in KV, and any remembered failure.
   * A flight already running still answers its own callers but writes nothing back.
   */
  async purge(slug: string): Promise<void> {
    const { state } = this;
    state.generations.set(slug, (state.generations.get(slug) ?? 0) + 1);
    state.memory.delete(slug);
    state.failures.delete(slug);
    state.flights.delete(slug);
    state.invalidations.delete(slug);
    await this.store.deleteTokens(slug);
  }

  /** Joins the connection's flight, or answers from a remembered failure, or starts a flight. */
  private join(connection: OAuthConnection, fingerprint: string, now: number): Promise<{ accessToken: string; fromCache: boolean }> {
    const { slug } = connection;
    const { flights, failures, memory } = this.state;
    const flight = flights.get(slug);
    if (flight !== undefined && flight.fingerprint === fingerprint && now - flight.startedAt <= this.timeoutMs + FLIGHT_GRACE_MS) {
      // The flight may belong to a request whose context is gone: never wait longer than a request.
      return within(flight.promise, this.timeoutMs);
    }
    const failure = failures.get(slug);
    if (failure !== undefined && failure.fingerprint === fingerprint && now < failure.until) {
      const stale = memory.get(slug);
      if (stale?.fingerprint === fingerprint && now < stale.token.expiresAt) {
        return Promise.resolve({ accessToken: stale.token.accessToken, fromCache: true });
      }
      return Promise.reject(failure.error);
    }
    const promise = this.fly(connection, this.ticket(connection, fingerprint)).finally(() => {
      if (flights.get(slug)?.promise === promise) flights.delete(slug);
    });
    flights.set(slug, { fingerprint, startedAt: now, promise });
    return promise;
  }

  /** One flight: a KV read, and a token request when KV has nothing fresh. */
  private async fly(connection: OAuthConnection, ticket: Ticket): Promise<{ accessToken: string; fromCache: boolean }> {
    const { slug, fingerprint } = ticket;
    const { memory, failures } = this.state;
    const cacheKey = await cacheKeyOf(fingerprint);
    const remembered = memory.get(slug);
    let stale: CachedToken | null = remembered?.fingerprint === fingerprint ? remembered.token : null;

    let stored: CachedToken | null = null;
    try {
      stored = await this.store.getCachedToken(slug, cacheKey);
    } catch (err) {
      console.warn('[token-cache] KV read failed, requesting a token', slug, messageOf(err));
    }
    // A dropped token may still be in KV: its delete is under way, or not yet seen at this location.
    if (stored && stored.accessToken === this.state.invalidations.get(slug)?.dropped) stored = null;
    if (stored) {
      const refreshAt = refreshAtOf(stored);
      if (this.now() < refreshAt) {
        if (this.isCurrent(ticket)) memory.set(slug, { fingerprint, token: stored, refreshAt });
        return { accessToken: stored.accessToken, fromCache: true };
      }
      if (!stale || stored.expiresAt > stale.expiresAt) stale = stored;
    }

    let err: unknown;
    try {
      const outcome = await this.fetchAndStore(connection, ticket, 'background', cacheKey);
      if (outcome.ok) return { accessToken: outcome.response.accessToken, fromCache: false };
      err = outcome.error;
    } catch (thrown) {
      err = thrown;
    }
    if (this.isCurrent(ticket)) failures.set(slug, { fingerprint, until: this.now() + this.failureTtlMs, error: err });
    if (stale && this.now() < stale.expiresAt) {
      console.warn('[token-cache] refresh failed, serving the token until it expires', slug, err instanceof AppError ? err.code : 'error');
      return { accessToken: stale.accessToken, fromCache: true };
    }
    throw err;
  }

  /** Marks `fingerprint` as the connection's latest settings and returns what may write back. */
  private ticket(connection: OAuthConnection, fingerprint: string): Ticket {
    this.state.latest.set(connection.slug, fingerprint);
    return { slug: connection.slug, fingerprint, generation: this.state.generations.get(connection.slug) ?? 0 };
  }

  /** Whether a request under `ticket` may still write back: no purge since, no newer settings. */
  private isCurrent(ticket: Ticket): boolean {
    const { generations, latest } = this.state;
    return (generations.get(ticket.slug) ?? 0) === ticket.generation && (latest.get(ticket.slug) ?? ticket.fingerprint) === ticket.fingerprint;
  }

  /**
   * Requests a token and puts it in memory at once; its KV write and the statistics (success or
   * failure) follow, awaited or in the background. Token endpoint failures are returned, not thrown.
   */
  private async fetchAndStore(
    connection: OAuthConnection,
    ticket: Ticket,
    bookkeeping: 'await' | 'background',
    cacheKey?: string,
  ): Promise<{ ok: true; response: TokenResponse; durationMs: number } | { ok: false; error: TokenEndpointError; durationMs: number }> {
    const { slug, auth } = connection;
    const clientSecret = await this.store.openSecret(connection);
    if (clientSecret === undefined) {
      throw new AppError('internal-error', { detail: 'The connection has no client secret.', internal: `no client secret stored for ${slug}` });
    }
    const started = Date.now();
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
      const durationMs = Date.now() - started;
      await this.settle(this.recordStats(slug, err), bookkeeping);
      if (err instanceof TokenEndpointError) return { ok: false, error: err, durationMs };
      throw err;
    }
    const durationMs = Date.now() - started;

    const obtainedAt = this.now();
    const token: CachedToken = {
      accessToken: response.accessToken,
      tokenType: response.tokenType,
      obtainedAt,
      expiresAt: obtainedAt + response.expiresIn * 1000,
      ...(response.scope !== undefined ? { scope: response.scope } : {}),
    };
    const current = this.isCurrent(ticket);
    if (current) {
      this.state.failures.delete(slug);
      if (response.expiresIn > 0) this.state.memory.set(slug, { fingerprint: ticket.fingerprint, token, refreshAt: refreshAtOf(token) });
    }
    const writes: Promise<void>[] = [this.recordStats(slug, null)];
    if (current && response.expiresIn > 0) writes.push(this.storeToken(slug, cacheKey ?? cacheKeyOf(ticket.fingerprint), token, ticket));
    await this.settle(Promise.all(writes).then(() => undefined), bookkeeping);
    return { ok: true, response, durationMs };
  }

  /** Writes the sealed token to KV, unless a purge came first, and takes it back if one came meanwhile. Never fails the caller. */
  private async storeToken(slug: string, cacheKey: string | Promise<string>, token: CachedToken, ticket: Ticket): Promise<void> {
    const purged = () => (this.state.generations.get(slug) ?? 0) !== ticket.generation;
    try {
      const key = await cacheKey;
      if (purged()) return;
      await this.store.putCachedToken(slug, key, token);
      if (purged()) await this.store.deleteTokens(slug);
    } catch (err) {
      console.warn('[token-cache] KV write failed', slug, messageOf(err));
    }
  }

  /** Waits for `work`, or hands it to `waitUntil` (without one, lets it run on its own). `work` never rejects. */
  private async settle(work: Promise<void>, bookkeeping: 'await' | 'background'): Promise<void> {
    if (bookkeeping === 'await') return work;
    const { waitUntil } = this.options;
    if (waitUntil === undefined) return;
    try {
      waitUntil(work);
    } catch {
      // No execution context (e.g. `app.request()` without one): the work runs on its own.
    }
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
      console.warn('[token-cache] statistics not written', slug, messageOf(statsErr));
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
