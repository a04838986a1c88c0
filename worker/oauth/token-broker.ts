/**
 * The token broker: lives in the connection's home and is the only caller of its token endpoint,
 * so one token request serves every isolate in every location for the token's lifetime.
 *
 * Tables it owns (the home's SQLite):
 * | table         | rows | holds                                                                    |
 * |---------------|------|--------------------------------------------------------------------------|
 * | `token`       | 0..1 | the current access token, sealed, with its fingerprint and times         |
 * | `token_state` | 0..1 | fetches, last fetch, last error, consecutive failures, next attempt, last forced refresh, isolate fallbacks |
 *
 * It also writes the KV mirror `tok:<connection id>` (the same sealed token, TTL its lifetime),
 * the read path's copy, and deletes it with the token.
 *
 * - Single flight in the object: concurrent callers share one request (input gates do not hold
 *   across a `fetch`, an in-object promise does).
 * - Refresh ahead of expiry by `min(60 s, lifetime / 2)`; a failed refresh serves the old token
 *   until it expires.
 * - Failures back off: 5 s after the first, doubling per consecutive failure, at most 60 s; a
 *   "Test connection" always asks.
 * - Refused tokens (compare and invalidate): a refresh happens only if the refused token is still
 *   the current one, and at most once per `FORCED_REFRESH_MIN_INTERVAL_MS`; an API that refuses
 *   every token cannot make each call request a new one.
 * - A request that started before a purge, a delete or an edit of the settings writes nothing back.
 *
 * @see RFC 6749 §4.4
 */
import * as v from 'valibot';
import type { TokenLastError } from '../../contract/answers';
import type { CallInput } from '../activity/call-store';
import { allowLoopback } from '../app-env';
import type { Clock } from '../clock';
import type { StoredConnection } from '../connections/records';
import type { Sealer } from '../connections/seal';
import { AppError, type ProblemCode } from '../errors';
import {
  type CachedToken,
  CachedTokenSchema,
  fingerprintOf,
  isOAuthConnection,
  type OAuthConnection,
  refreshAtOf,
  tokenContext,
  tokenMirrorKey,
  tokenTag,
} from './fingerprint';
import { cachedTokenOf, requestConnectionToken } from './connection-token';
import { TokenEndpointError, TOKEN_REQUEST_TIMEOUT_MS, type TokenFailure, type TokenResponse } from './token-client';

/** First back-off after a failed token request; doubled per consecutive failure. */
export const TOKEN_FAILURE_BACKOFF_MS = 5_000;
/** Longest back-off after repeated failures. */
export const TOKEN_FAILURE_BACKOFF_MAX_MS = 60_000;
/** Shortest time between two refreshes forced by refused tokens. */
export const FORCED_REFRESH_MIN_INTERVAL_MS = 5_000;

/** What the home answers a token request with; plain data (it crosses an RPC boundary). */
export type TokenAnswer =
  | { ok: true; token: CachedToken; fetched: boolean }
  | { ok: false; failure: TokenFailure }
  | { ok: false; problem: { code: ProblemCode; detail: string } };

/** The result of "Test connection": a fresh request, never the token. */
export type TokenTestOutcome =
  | { ok: true; tokenType: 'bearer'; expiresIn: number; expiresInFromServer: boolean; scope: string | null; durationMs: number }
  | { ok: false; failure: TokenFailure; durationMs: number };

/** What the home knows of its token. */
export interface BrokerStatus {
  cached: boolean;
  expiresAt: string | null;
  lastError: TokenLastError | null;
  fetches: number;
  nextAttemptAt: string | null;
  fallbacks: number;
}

interface TokenState {
  fetches: number;
  lastFetchAt: string | null;
  lastError: TokenLastError | null;
  failures: number;
  nextAttemptAt: number | null;
  forcedAt: number | null;
  fallbacks: number;
}

const EMPTY_STATE: TokenState = { fetches: 0, lastFetchAt: null, lastError: null, failures: 0, nextAttemptAt: null, forcedAt: null, fallbacks: 0 };

const LastErrorSchema = v.nullable(
  v.looseObject({ at: v.string(), code: v.string(), error: v.optional(v.string()), errorDescription: v.optional(v.string()), status: v.optional(v.number()) }),
);

export const TOKEN_SCHEMA = `
  CREATE TABLE IF NOT EXISTS token (
    fingerprint TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    obtained_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS token_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fetches INTEGER NOT NULL,
    last_fetch_at TEXT,
    last_error TEXT,
    failures INTEGER NOT NULL,
    next_attempt_at INTEGER,
    forced_at INTEGER,
    fallbacks INTEGER NOT NULL
  );`;

/** What the broker needs from its home. */
export interface BrokerOptions {
  sql: SqlStorage;
  kv: KVNamespace;
  sealer: Sealer;
  env: Env;
  now: Clock;
  /** The connection's current record, read synchronously from the home's storage. */
  currentRecord(): StoredConnection | null;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Records a token request in the connection's call log. */
  recordCall?(entry: CallInput): void;
}

function failureOf(err: unknown): TokenAnswer & { ok: false } {
  if (err instanceof TokenEndpointError) return { ok: false, failure: err.failure };
  if (err instanceof AppError) return { ok: false, problem: { code: err.code, detail: err.detail ?? err.message } };
  console.error('[token-broker] unexpected error', err instanceof Error ? err.name : 'error');
  return { ok: false, problem: { code: 'internal-error', detail: 'An unexpected error occurred.' } };
}

function lastErrorOf(err: unknown, at: string): TokenLastError {
  if (err instanceof TokenEndpointError) {
    const { failure } = err;
    return {
      at,
      code: failure.reason,
      ...(failure.error !== undefined ? { error: failure.error } : {}),
      ...(failure.errorDescription !== undefined ? { errorDescription: failure.errorDescription } : {}),
      ...(failure.status !== undefined ? { status: failure.status } : {}),
    };
  }
  return { at, code: err instanceof AppError ? err.code : 'internal-error' };
}

/** The failure a remembered last error stands for, answered during back-off without a request. */
function failureFromLastError(lastError: TokenLastError | null): TokenFailure {
  const known = ['oauth-error', 'server-error', 'unexpected-status', 'invalid-json', 'invalid-token-response', 'unsupported-token-type', 'unreachable', 'timeout', 'url-not-allowed'] as const;
  const reason = (known as readonly string[]).includes(lastError?.code ?? '') ? (lastError!.code as TokenFailure['reason']) : 'unreachable';
  return {
    reason,
    ...(lastError?.status !== undefined ? { status: lastError.status } : {}),
    ...(lastError?.error !== undefined ? { error: lastError.error } : {}),
    ...(lastError?.errorDescription !== undefined ? { errorDescription: lastError.errorDescription } : {}),
  };
}

/** Back-off after `failures` consecutive failures. */
export function backoffMs(failures: number): number {
  return Math.min(TOKEN_FAILURE_BACKOFF_MAX_MS, TOKEN_FAILURE_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
}

/** The connection's token broker; see the module header. */
export class TokenBroker {
  /** The current token in clear (`undefined`: not read from storage yet). */
  private current: CachedToken | null | undefined;
  private flight: { fingerprint: string; promise: Promise<TokenAnswer> } | undefined;
  /** Bumped by a purge, a delete or new settings: what started before writes nothing back. */
  private generation = 0;

  constructor(private readonly options: BrokerOptions) {}

  /** A valid token for the current settings: the stored one, or one request shared by all callers. */
  async get(): Promise<TokenAnswer> {
    const record = this.oauthRecord();
    if (!record) return this.notOAuth();
    const fingerprint = fingerprintOf(record);
    const now = this.options.now();
    const current = await this.load(record);
    if (current && now < refreshAtOf(current)) return { ok: true, token: current, fetched: false };
    if (this.flight?.fingerprint === fingerprint) return this.flight.promise;
    const state = this.state();
    if (state.nextAttemptAt !== null && now < state.nextAttemptAt) {
      if (current && now < current.expiresAt) return { ok: true, token: current, fetched: false };
      return { ok: false, failure: failureFromLastError(state.lastError) };
    }
    return this.fly(record, undefined);
  }

  /**
   * An upstream refused the token tagged `tag` (`tokenTag`): refreshes only if it is still the
   * current token and no forced refresh happened in the last `FORCED_REFRESH_MIN_INTERVAL_MS`;
   * otherwise answers the current token (the caller retries only if it differs).
   */
  async refused(tag: string): Promise<TokenAnswer> {
    const record = this.oauthRecord();
    if (!record) return this.notOAuth();
    const fingerprint = fingerprintOf(record);
    if (this.flight?.fingerprint === fingerprint) return this.flight.promise;
    const current = await this.load(record);
    if (!current || (await tokenTag(current.accessToken)) !== tag) return this.get();
    // The await above may have let another refusal start the refresh.
    if (this.flight?.fingerprint === fingerprint) return this.flight.promise;
    const now = this.options.now();
    const state = this.state();
    if (state.forcedAt !== null && now - state.forcedAt < FORCED_REFRESH_MIN_INTERVAL_MS) {
      return { ok: true, token: current, fetched: false };
    }
    this.writeState({ ...state, forcedAt: now });
    return this.fly(record, tag);
  }

  /** A fresh request for "Test connection", bypassing flight and back-off; a success replaces the token. */
  async test(): Promise<TokenTestOutcome> {
    const record = this.oauthRecord();
    if (!record) throw new AppError('not-oauth-connection', { detail: 'This connection does not use OAuth 2.0 client credentials.' });
    const outcome = await this.fetchAndStore(record, this.generation, 'test');
    const durationMs = outcome.durationMs;
    if (!outcome.ok) {
      if (outcome.error instanceof TokenEndpointError) return { ok: false, failure: outcome.error.failure, durationMs };
      throw outcome.error;
    }
    const { response } = outcome;
    return {
      ok: true,
      tokenType: response.tokenType,
      expiresIn: response.expiresIn,
      expiresInFromServer: response.expiresInFromServer,
      scope: response.scope ?? record.auth.scope ?? null,
      durationMs,
    };
  }

  /** Whether a valid token is held, when it expires, and the request statistics. */
  async status(): Promise<BrokerStatus> {
    const record = this.oauthRecord();
    const current = record ? await this.load(record) : null;
    const now = this.options.now();
    const state = this.state();
    const valid = current !== null && now < current.expiresAt;
    return {
      cached: valid,
      expiresAt: valid ? new Date(current.expiresAt).toISOString() : null,
      lastError: state.lastError,
      fetches: state.fetches,
      nextAttemptAt: state.nextAttemptAt !== null && state.nextAttemptAt > now ? new Date(state.nextAttemptAt).toISOString() : null,
      fallbacks: state.fallbacks,
    };
  }

  /** Counts tokens an isolate fetched itself while the home was out of reach. */
  noteFallbacks(count: number): void {
    if (count <= 0) return;
    const state = this.state();
    this.writeState({ ...state, fallbacks: state.fallbacks + count });
  }

  /**
   * Forgets the token (storage, mirror, memory) and any back-off; a request already running
   * still answers its callers but writes nothing back. The statistics stay.
   */
  async purge(connectionId: string | undefined): Promise<void> {
    this.generation++;
    this.current = null;
    this.flight = undefined;
    this.options.sql.exec('DELETE FROM token');
    const state = this.state();
    this.writeState({ ...state, failures: 0, nextAttemptAt: null, forcedAt: null });
    if (connectionId) await this.options.kv.delete(tokenMirrorKey(connectionId));
  }

  /** Drops what this instance remembers (its home deleted every table). */
  reset(): void {
    this.generation++;
    this.current = undefined;
    this.flight = undefined;
  }

  /** The settings changed: a token of the old ones is never served again. */
  settingsChanged(): void {
    this.generation++;
    this.current = undefined;
    this.flight = undefined;
  }

  private oauthRecord(): OAuthConnection | null {
    const record = this.options.currentRecord();
    return record && isOAuthConnection(record) ? record : null;
  }

  private notOAuth(): TokenAnswer {
    return { ok: false, problem: { code: 'not-oauth-connection', detail: 'This connection does not use OAuth 2.0 client credentials.' } };
  }

  private fly(record: OAuthConnection, refusedTag: string | undefined): Promise<TokenAnswer> {
    const fingerprint = fingerprintOf(record);
    const generation = this.generation;
    const promise = (async (): Promise<TokenAnswer> => {
      const stale = refusedTag === undefined ? await this.load(record) : null;
      const outcome = await this.fetchAndStore(record, generation, 'token');
      if (outcome.ok) return { ok: true, token: outcome.token, fetched: true };
      if (stale && this.options.now() < stale.expiresAt) {
        console.warn('[token-broker] refresh failed, serving the token until it expires', record.slug);
        return { ok: true, token: stale, fetched: false };
      }
      return failureOf(outcome.error);
    })().finally(() => {
      if (this.flight?.promise === promise) this.flight = undefined;
    });
    this.flight = { fingerprint, promise };
    return promise;
  }

  /** One token request; on success the token is stored (when still current) and mirrored to KV. */
  private async fetchAndStore(
    record: OAuthConnection,
    generation: number,
    kind: 'token' | 'test',
  ): Promise<{ ok: true; token: CachedToken; response: TokenResponse; durationMs: number } | { ok: false; error: unknown; durationMs: number }> {
    const { auth } = record;
    const { sealer, env, now } = this.options;
    const started = Date.now();
    let response: TokenResponse;
    try {
      response = await requestConnectionToken(record, sealer, {
        allowLoopback: allowLoopback(env),
        timeoutMs: this.options.timeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS,
        fetch: this.options.fetch,
      });
    } catch (err) {
      const durationMs = Date.now() - started;
      this.logCall(record, tokenCall(kind, auth.tokenUrl, now(), durationMs, err));
      if (this.isCurrent(record, generation)) {
        const state = this.state();
        const failures = state.failures + 1;
        this.writeState({
          ...state,
          fetches: state.fetches + 1,
          lastFetchAt: new Date(now()).toISOString(),
          lastError: lastErrorOf(err, new Date(now()).toISOString()),
          failures,
          nextAttemptAt: now() + backoffMs(failures),
        });
      }
      return { ok: false, error: err, durationMs };
    }
    const durationMs = Date.now() - started;
    this.logCall(record, tokenCall(kind, auth.tokenUrl, now(), durationMs, null));
    const obtainedAt = now();
    const token = cachedTokenOf(response, record, obtainedAt);
    if (!this.isCurrent(record, generation)) return { ok: true, token, response, durationMs };
    const state = this.state();
    this.writeState({ ...state, fetches: state.fetches + 1, lastFetchAt: new Date(obtainedAt).toISOString(), lastError: null, failures: 0, nextAttemptAt: null });
    if (response.expiresIn <= 0) {
      // "Do not cache": used once, never stored.
      return { ok: true, token, response, durationMs };
    }
    const sealed = await sealer.seal(JSON.stringify(token), await tokenContext(token.fingerprint, record.id));
    // The seal awaited: a purge or delete may have come meanwhile.
    if (!this.isCurrent(record, generation)) return { ok: true, token, response, durationMs };
    const { sql, kv } = this.options;
    sql.exec('DELETE FROM token');
    sql.exec('INSERT INTO token (fingerprint, sealed, expires_at, obtained_at) VALUES (?, ?, ?, ?)', token.fingerprint, sealed, token.expiresAt, token.obtainedAt);
    this.current = token;
    const ttl = Math.max(60, Math.ceil((token.expiresAt - Date.now()) / 1000));
    try {
      await kv.put(tokenMirrorKey(record.id), sealed, { expirationTtl: ttl });
      // A purge or delete during the write takes the mirror back.
      if (!this.isCurrent(record, generation)) await kv.delete(tokenMirrorKey(record.id));
    } catch (err) {
      console.warn('[token-broker] KV mirror not written', record.slug, err instanceof Error ? err.name : 'error');
    }
    return { ok: true, token, response, durationMs };
  }

  /** Records a token request, unless its connection is gone meanwhile (nothing of it may stay). */
  private logCall(record: OAuthConnection, entry: CallInput): void {
    if (this.options.currentRecord()?.id !== record.id) return;
    try {
      this.options.recordCall?.(entry);
    } catch (err) {
      console.warn('[token-broker] call not logged', record.slug, err instanceof Error ? err.name : 'error');
    }
  }

  /** Whether a request started under `generation` for `record` may still write back. */
  private isCurrent(record: OAuthConnection, generation: number): boolean {
    if (generation !== this.generation) return false;
    const now = this.oauthRecord();
    return now !== null && now.id === record.id && fingerprintOf(now) === fingerprintOf(record);
  }

  /** The stored token for these settings, opened once per instance. */
  private async load(record: OAuthConnection): Promise<CachedToken | null> {
    const fingerprint = fingerprintOf(record);
    if (this.current !== undefined) return this.current?.fingerprint === fingerprint ? this.current : null;
    const generation = this.generation;
    const row = this.options.sql.exec<{ fingerprint: string; sealed: string }>('SELECT fingerprint, sealed FROM token LIMIT 1').toArray()[0];
    let token: CachedToken | null = null;
    if (row && row.fingerprint === fingerprint) {
      try {
        const opened = await this.options.sealer.open(row.sealed, await tokenContext(fingerprint, record.id));
        const parsed = v.safeParse(CachedTokenSchema, JSON.parse(opened));
        token = parsed.success && parsed.output.fingerprint === fingerprint ? parsed.output : null;
      } catch {
        console.warn('[token-broker] a stored token could not be opened; it is ignored', record.slug);
      }
    }
    if (generation === this.generation && this.current === undefined) this.current = token;
    return token;
  }

  private state(): TokenState {
    const row = this.options.sql
      .exec<{ fetches: number; last_fetch_at: string | null; last_error: string | null; failures: number; next_attempt_at: number | null; forced_at: number | null; fallbacks: number }>(
        'SELECT fetches, last_fetch_at, last_error, failures, next_attempt_at, forced_at, fallbacks FROM token_state WHERE id = 1',
      )
      .toArray()[0];
    if (!row) return { ...EMPTY_STATE };
    let lastError: TokenLastError | null = null;
    if (row.last_error !== null) {
      try {
        const parsed = v.safeParse(LastErrorSchema, JSON.parse(row.last_error));
        lastError = parsed.success ? (parsed.output as TokenLastError | null) : null;
      } catch {
        lastError = null;
      }
    }
    return {
      fetches: row.fetches,
      lastFetchAt: row.last_fetch_at,
      lastError,
      failures: row.failures,
      nextAttemptAt: row.next_attempt_at,
      forcedAt: row.forced_at,
      fallbacks: row.fallbacks,
    };
  }

  private writeState(state: TokenState): void {
    this.options.sql.exec(
      `INSERT INTO token_state (id, fetches, last_fetch_at, last_error, failures, next_attempt_at, forced_at, fallbacks)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET fetches = excluded.fetches, last_fetch_at = excluded.last_fetch_at, last_error = excluded.last_error,
         failures = excluded.failures, next_attempt_at = excluded.next_attempt_at, forced_at = excluded.forced_at, fallbacks = excluded.fallbacks`,
      state.fetches,
      state.lastFetchAt,
      state.lastError === null ? null : JSON.stringify(state.lastError),
      state.failures,
      state.nextAttemptAt,
      state.forcedAt,
      state.fallbacks,
    );
  }
}

/** The call-log entry of one token request: never the token, the secret or the endpoint's body. */
function tokenCall(kind: 'token' | 'test', tokenUrl: string, at: number, durationMs: number, err: unknown): CallInput {
  let path = '/';
  try {
    path = new URL(tokenUrl).pathname;
  } catch {
    // Checked at save; a broken URL still logs a call.
  }
  const status = err instanceof TokenEndpointError ? (err.failure.status ?? 0) : err === null ? 200 : 0;
  return {
    at,
    kind,
    method: 'POST',
    path,
    status: err === null ? 200 : err instanceof AppError ? err.status : 500,
    upstreamStatus: err === null ? 200 : status === 0 ? null : status,
    durationMs,
    outcome: err === null ? 'success' : 'network-error',
    keyName: null,
    retried: false,
    tokenFetched: true,
    bytesIn: null,
    bytesOut: null,
    origin: null,
    errorCode: err === null ? null : err instanceof AppError ? err.code : 'internal-error',
  };
}
