/**
 * The one door to the token engine, for the relay and the admin routes alike: a token for a
 * call, the report of a refused one, "Test connection", the token status and the purge.
 *
 * Read path: this isolate's memory, then the KV mirror (`tok:<connection id>`), then the
 * connection's home, which alone asks the token endpoint (see `token-broker.ts`). Concurrent
 * callers in an isolate share one KV read and one call to the home (`SharedFlights`: each joiner
 * waits on a promise of its own request, and not forever).
 *
 * If the home cannot be reached, a cached token is served until it expires; without one, this
 * isolate requests a token itself (client credentials only: a grant with refresh tokens has one
 * writer), keeps it in memory only, never in KV, and counts it; the count reaches the home with
 * the next call that gets through.
 */
import type { TokenStatusAnswer } from '../../contract/answers';
import { allowLoopback, secretsKeyOf } from '../app-env';
import { systemClock, type Clock } from '../clock';
import { homeOf, unwrap } from '../connections/home';
import { readPathFor } from '../connections/read-path';
import type { StoredConnection } from '../connections/records';
import { Sealer } from '../connections/seal';
import { AppError } from '../errors';
import { type CachedToken, fingerprintOf, isOAuthConnection, type OAuthConnection, refreshAtOf, tokenTag } from './fingerprint';
import { cachedTokenOf, requestConnectionToken } from './connection-token';
import type { TokenAnswer, TokenTestOutcome } from './token-broker';
import { TokenEndpointError, TOKEN_REQUEST_TIMEOUT_MS } from './token-client';
import { SharedFlights } from '../shared-flight';

/** A token for one call; `fromCache` when no request was made for it. */
export interface IssuedToken {
  accessToken: string;
  fromCache: boolean;
}

/** Access tokens for OAuth connections, and everything else the token engine does. */
export interface TokenProvider {
  /** A valid access token: memory, then the KV mirror, then the connection's home. */
  getAccessToken(record: StoredConnection): Promise<IssuedToken>;
  /**
   * The token this isolate holds in memory when it is valid and not yet due for a refresh, or
   * `undefined`: answered at once, with no promise (the relay's hot path tries it first).
   */
  cachedAccessToken?(record: StoredConnection): IssuedToken | undefined;
  /**
   * An upstream refused `accessToken`: tells the home, which refreshes only if it is still the
   * current token (and not too often); the next `getAccessToken` answers what the home holds now.
   */
  invalidate(record: StoredConnection, accessToken: string): Promise<void>;
  /** "Test connection": a fresh token request, never the token. */
  test(record: StoredConnection): Promise<TokenTestOutcome>;
  /** Whether a token is cached, when it expires, the request statistics. */
  status(record: StoredConnection): Promise<TokenStatusAnswer>;
  /** Forgets the connection's token (home, mirror, this isolate). */
  purge(record: StoredConnection): Promise<void>;
}

interface MemoryEntry {
  token: CachedToken;
  refreshAt: number;
}

/**
 * What one isolate remembers about tokens, shared by every door made in it (one per request).
 * A new `TokenIsolateState` behaves as a freshly started isolate.
 */
export class TokenIsolateState {
  /** By connection id. */
  readonly memory = new Map<string, MemoryEntry>();
  /** By connection id and fingerprint. */
  readonly flights = new SharedFlights<IssuedToken>(FLIGHT_JOIN_MS);
  /** Tokens fetched here while the home was out of reach, by slug, not yet reported. */
  readonly fallbacks = new Map<string, number>();
  /** Refusals being reported, by connection id and token tag: concurrent ones share one call to the home. */
  readonly refusals = new SharedFlights<void>(FLIGHT_JOIN_MS);
}

/**
 * How long a request may join another's token flight: the home's token request with its timeout,
 * and a margin. Past it (the other request went away and its flight will never settle) a request
 * asks for itself.
 */
const FLIGHT_JOIN_MS = TOKEN_REQUEST_TIMEOUT_MS + 5_000;

const isolateState = new TokenIsolateState();

/** Tuning of a door; the defaults suit production. */
export interface TokenDoorOptions {
  now?: Clock;
  state?: TokenIsolateState;
  /** `fetch` of the fallback request made here when the home is out of reach. */
  fetch?: typeof fetch;
  timeoutMs?: number;
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

/** The token a home answered, or the problem it carries. */
function issued(answer: TokenAnswer): CachedToken {
  if (answer.ok) return answer.token;
  if ('failure' in answer) throw new TokenEndpointError(answer.failure);
  throw new AppError(answer.problem.code, { detail: answer.problem.detail });
}

/** The door; see the module header. */
export class TokenDoor implements TokenProvider {
  private readonly now: Clock;
  private readonly state: TokenIsolateState;

  constructor(
    private readonly env: Env,
    private readonly options: TokenDoorOptions = {},
  ) {
    this.now = options.now ?? systemClock;
    this.state = options.state ?? isolateState;
  }

  cachedAccessToken(record: StoredConnection): IssuedToken | undefined {
    if (!isOAuthConnection(record)) return undefined;
    const entry = this.state.memory.get(record.id);
    if (entry !== undefined && entry.token.fingerprint === fingerprintOf(record) && this.now() < entry.refreshAt) {
      return { accessToken: entry.token.accessToken, fromCache: true };
    }
    return undefined;
  }

  async getAccessToken(record: StoredConnection): Promise<IssuedToken> {
    const connection = requireOAuth(record);
    const cached = this.cachedAccessToken(connection);
    if (cached !== undefined) return cached;
    return this.state.flights.run(`${connection.id}\n${fingerprintOf(connection)}`, () => this.fly(connection));
  }

  async invalidate(record: StoredConnection, accessToken: string): Promise<void> {
    const connection = requireOAuth(record);
    const tag = await tokenTag(accessToken);
    return this.state.refusals.run(`${connection.id}\n${tag}`, () => this.report(connection, accessToken, tag));
  }

  private async report(connection: OAuthConnection, accessToken: string, tag: string): Promise<void> {
    let answer: TokenAnswer;
    try {
      answer = await this.home(connection).refused(connection.slug, tag);
    } catch (err) {
      console.warn('[token-door] the home could not be told of a refused token', connection.slug, err instanceof Error ? err.name : 'error');
      return;
    }
    if (answer.ok) this.remember(connection, answer.token);
    else if (this.state.memory.get(connection.id)?.token.accessToken === accessToken) this.state.memory.delete(connection.id);
  }

  async test(record: StoredConnection): Promise<TokenTestOutcome> {
    const connection = requireOAuth(record);
    return unwrap(await this.home(connection).testToken(connection.slug));
  }

  async status(record: StoredConnection): Promise<TokenStatusAnswer> {
    const connection = requireOAuth(record);
    try {
      const status = unwrap(await this.home(connection).tokenStatus(connection.slug));
      return {
        cached: status.cached,
        expiresAt: status.expiresAt,
        lastError: status.lastError,
        fetches: status.fetches,
        nextAttemptAt: status.nextAttemptAt,
        homeReachable: true,
      };
    } catch (err) {
      if (err instanceof AppError) throw err;
      const mirrored = await readPathFor(this.env).mirroredToken(connection).catch(() => null);
      const valid = mirrored !== null && this.now() < mirrored.expiresAt;
      return { cached: valid, expiresAt: valid ? new Date(mirrored.expiresAt).toISOString() : null, lastError: null, fetches: 0, nextAttemptAt: null, homeReachable: false };
    }
  }

  async purge(record: StoredConnection): Promise<void> {
    const connection = requireOAuth(record);
    this.state.memory.delete(connection.id);
    unwrap(await this.home(connection).purgeToken(connection.slug));
  }

  private home(connection: OAuthConnection) {
    return homeOf(this.env, connection.slug);
  }

  private remember(connection: OAuthConnection, token: CachedToken): void {
    if (token.expiresAt <= token.obtainedAt) return;
    this.state.memory.set(connection.id, { token, refreshAt: refreshAtOf(token) });
  }

  /** One isolate flight: the KV mirror, else the home, else (home out of reach) a fallback. */
  private async fly(connection: OAuthConnection): Promise<IssuedToken> {
    const fingerprint = fingerprintOf(connection);
    const remembered = this.state.memory.get(connection.id);
    let stale: CachedToken | null = remembered?.token.fingerprint === fingerprint ? remembered.token : null;
    const mirrored = await readPathFor(this.env).mirroredToken(connection).catch(() => null);
    if (mirrored && this.now() < refreshAtOf(mirrored)) {
      this.remember(connection, mirrored);
      return { accessToken: mirrored.accessToken, fromCache: true };
    }
    if (mirrored && (!stale || mirrored.expiresAt > stale.expiresAt)) stale = mirrored;

    const fallbacks = this.state.fallbacks.get(connection.slug) ?? 0;
    let answer: TokenAnswer;
    try {
      answer = await this.home(connection).token(connection.slug, fallbacks);
    } catch (err) {
      console.warn('[token-door] the home could not be reached', connection.slug, err instanceof Error ? err.name : 'error');
      if (stale && this.now() < stale.expiresAt) return { accessToken: stale.accessToken, fromCache: true };
      return this.fallback(connection);
    }
    if (fallbacks > 0) this.state.fallbacks.delete(connection.slug);
    const token = issued(answer);
    this.remember(connection, token);
    return { accessToken: token.accessToken, fromCache: answer.ok && !answer.fetched };
  }

  /** A token requested by this isolate itself, kept in its memory only, and counted. */
  private async fallback(connection: OAuthConnection): Promise<IssuedToken> {
    const response = await requestConnectionToken(connection, Sealer.fromSecretsKey(secretsKeyOf(this.env)), {
      allowLoopback: allowLoopback(this.env),
      timeoutMs: this.options.timeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS,
      fetch: this.options.fetch,
    });
    this.state.fallbacks.set(connection.slug, (this.state.fallbacks.get(connection.slug) ?? 0) + 1);
    const obtainedAt = this.now();
    this.remember(connection, cachedTokenOf(response, connection, obtainedAt));
    return { accessToken: response.accessToken, fromCache: false };
  }
}
