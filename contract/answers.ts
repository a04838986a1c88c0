/**
 * Answers of the admin API that the dashboard reads, typed once for the routes that produce them
 * and the client that consumes them.
 */
import type { AuthMethod } from './connection';

/** Default and largest page of `GET /api/connections`. */
export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1000;

/** One connection in the listing: bounded (it lives in KV list metadata, at most 1,024 bytes). */
export interface ConnectionSummary {
  slug: string;
  name: string;
  method: AuthMethod;
  /** Origin of the Base URL (`https://api.example.com`). */
  baseOrigin: string;
  updatedAt: string;
  version: number;
  /** Activity, refreshed at most once a minute: the last call (ISO 8601), calls in the last 24 h and the share of them that failed. */
  lastCallAt?: string | null;
  calls24h?: number;
  errorRate24h?: number | null;
}

/**
 * `GET /api/connections?limit&cursor&q`: a page may hold fewer than `limit` entries, even none,
 * while `cursor` is not null; only a null `cursor` ends the listing.
 */
export interface ConnectionListAnswer {
  connections: ConnectionSummary[];
  cursor: string | null;
}

/** `POST /api/connections/<slug>/test`: never the token itself. */
export type TokenTestAnswer =
  | { ok: true; tokenType: string; expiresIn: number; scope: string | null; durationMs: number }
  | { ok: false; status: number | null; error: string; errorDescription: string | null; hint: string; durationMs: number };

/** The last failed token request of a connection. */
export interface TokenLastError {
  at: string;
  code: string;
  error?: string;
  errorDescription?: string;
  status?: number;
}

/** `GET /api/connections/<slug>/token`. */
export interface TokenStatusAnswer {
  cached: boolean;
  expiresAt: string | null;
  lastError: TokenLastError | null;
  fetches: number;
  /** After repeated failures, when the token endpoint will be asked again (ISO 8601); else null. */
  nextAttemptAt: string | null;
  /** False when the connection's home could not be reached and this status is what the read path knows. */
  homeReachable: boolean;
}

/** One relay key as listed: never the key or its hash. */
export interface RelayKeyAnswer {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** `POST /api/connections/<slug>/keys`: the only answer that holds the key. */
export interface NewRelayKeyAnswer {
  id: string;
  name: string;
  key: string;
  createdAt: string;
}
