/**
 * The call log's contract: what a recorded call holds, the outcome set every kind shares, the
 * log settings of a connection, and the answers of the calls, stats and test-request routes.
 */
import * as v from 'valibot';

/** What made a call. */
export const CALL_KINDS = ['relay', 'token', 'test', 'feed-run'] as const;
export type CallKind = (typeof CALL_KINDS)[number];

/**
 * One closed set of outcomes for every kind: `success` (2xx, or a feed's success statuses),
 * `client-error` (upstream 4xx), `server-error` (upstream 5xx or unexpected 3xx), `network-error`
 * (timeout, unreachable, token endpoint failure), `refused` (the product's own 4xx), and for feeds
 * `skipped`, `spam-honeypot`, `replayed`, `failed`.
 */
export const CALL_OUTCOMES = ['success', 'client-error', 'server-error', 'network-error', 'refused', 'skipped', 'spam-honeypot', 'replayed', 'failed'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export const CALL_OUTCOME_LABELS: Record<CallOutcome, string> = {
  success: 'Success',
  'client-error': 'Client error (4xx)',
  'server-error': 'Server error (5xx)',
  'network-error': 'Network error',
  refused: 'Refused',
  skipped: 'Skipped',
  'spam-honeypot': 'Spam (honeypot)',
  replayed: 'Replayed',
  failed: 'Failed',
};

export const CALL_KIND_LABELS: Record<CallKind, string> = {
  relay: 'Relay',
  token: 'Token',
  test: 'Test',
  'feed-run': 'Feed run',
};

/** One recorded call. Never a secret, token, relay key, credential header or body. */
export interface Call {
  id: string;
  /** ISO 8601. */
  at: string;
  kind: CallKind;
  method: string;
  /** The path called; query values left out unless the connection logs full queries (an API key parameter is redacted even then). */
  path: string;
  /** What the caller got. */
  status: number;
  /** What the upstream answered, when it was reached. */
  upstreamStatus: number | null;
  durationMs: number;
  outcome: CallOutcome;
  keyName: string | null;
  /** Retried once after a 401 with a fresh token. */
  retried: boolean;
  /** A token was requested for this call. */
  tokenFetched: boolean;
  bytesIn: number | null;
  bytesOut: number | null;
  origin: string | null;
  /** The problem code when the answer was a problem. */
  errorCode: string | null;
  /** For refused calls aggregated when they flood: how many this entry stands for. */
  count?: number;
  feedId?: string;
  runId?: string;
  trigger?: string;
}

/** `GET /api/connections/<slug>/calls`: newest first; only a null `cursor` ends the listing. */
export interface CallListAnswer {
  calls: Call[];
  cursor: string | null;
}

export const STATS_WINDOWS = ['1h', '24h', '7d'] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

/** Counts by outcome. */
export type OutcomeCounts = Partial<Record<CallOutcome, number>>;

/** One time bucket of `GET /api/connections/<slug>/stats`. */
export interface StatsBucket {
  /** ISO 8601 start of the bucket. */
  start: string;
  total: number;
  outcomes: OutcomeCounts;
  /** Approximate, from a duration histogram; null without calls. */
  p50Ms: number | null;
  p95Ms: number | null;
}

/** `GET /api/connections/<slug>/stats?window=1h|24h|7d`. */
export interface StatsAnswer {
  window: StatsWindow;
  bucketSeconds: number;
  buckets: StatsBucket[];
  totals: { total: number; outcomes: OutcomeCounts; p50Ms: number | null; p95Ms: number | null; errorRate: number | null };
}

export const LOG_RETAIN_DAYS_DEFAULT = 7;
export const LOG_RETAIN_DAYS_MAX = 30;

/** The connection's log settings (`log` in the Input). */
export const LogSettingsSchema = v.strictObject({
  retainDays: v.optional(
    v.pipe(
      v.number('Must be a number'),
      v.integer('Must be a whole number of days'),
      v.minValue(1, 'At least 1 day'),
      v.maxValue(LOG_RETAIN_DAYS_MAX, `At most ${LOG_RETAIN_DAYS_MAX} days`),
    ),
  ),
  fullQuery: v.optional(v.boolean('Choose on or off')),
});
export type LogSettings = v.InferOutput<typeof LogSettingsSchema>;

export const TEST_REQUEST_BODY_MAX_BYTES = 64 * 1024;
export const TEST_REQUEST_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** `POST /api/connections/<slug>/request`: one request sent through the relay core. */
export const TestRequestSchema = v.strictObject({
  method: v.picklist(TEST_REQUEST_METHODS, 'Choose GET, HEAD, POST, PUT, PATCH or DELETE'),
  path: v.pipe(
    v.string('The path must be text'),
    v.maxLength(2048, 'At most 2048 characters'),
    v.check((p) => p === '' || p.startsWith('/'), 'Start the path with / (it is added to the Base URL)'),
    v.check((p) => !p.includes('?') && !p.includes('#'), 'Put query parameters in the query field, not the path'),
  ),
  query: v.optional(
    v.pipe(
      v.array(v.strictObject({ name: v.pipe(v.string(), v.nonEmpty('Name the parameter'), v.maxLength(256)), value: v.pipe(v.string(), v.maxLength(2048)) })),
      v.maxLength(50, 'At most 50 query parameters'),
    ),
  ),
  headers: v.optional(
    v.pipe(
      v.array(
        v.strictObject({
          name: v.pipe(v.string(), v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'Not a header name'), v.maxLength(256)),
          value: v.pipe(v.string(), v.maxLength(4096), v.check((s) => !/[\r\n\0]/.test(s), 'A header value cannot hold line breaks')),
        }),
      ),
      v.maxLength(30, 'At most 30 headers'),
    ),
  ),
  body: v.optional(v.pipe(v.string('The body must be text'), v.maxLength(TEST_REQUEST_BODY_MAX_BYTES, 'At most 64 KiB'))),
});
export type TestRequestInput = v.InferInput<typeof TestRequestSchema>;

/** The answer of a test request: never the token. */
export interface TestRequestAnswer {
  status: number;
  headers: [string, string][];
  /** The first 64 KiB of the body, as text. */
  body: string;
  truncated: boolean;
  durationMs: number;
  /** For OAuth connections: whether a token was requested for this call, and how long that took. */
  token?: { fetched: boolean; durationMs: number };
  /** When the relay itself refused or failed: its problem. */
  problem?: { code: string; title: string; detail: string };
}
