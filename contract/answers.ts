/**
 * Answers of the admin API that the dashboard reads, typed once for the routes that produce them
 * and the client that consumes them.
 */
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
