/**
 * The feeds' admin API answers and the dry run (FEEDS.md §3.7 to §3.9), shared by the Worker and
 * the dashboard. The feed itself (Input, View, save-time checks) is in `feed.ts`.
 */
import * as v from 'valibot';
import type { Call } from './activity';
import type { FeedView } from './feed';

/** One feed in the listing: bounded, it lives in KV list metadata. */
export interface FeedSummary {
  id: string;
  name: string;
  connection: string;
  enabled: boolean;
  updatedAt: string;
  version: number;
}

/** `GET /api/feeds?connection=&limit=&cursor=`: only a null `cursor` ends the listing. */
export interface FeedListAnswer {
  feeds: FeedSummary[];
  cursor: string | null;
}

/** Ready-to-paste snippets for the feed's trigger URL (never a secret: the public key is not one). */
export interface FeedSnippets {
  /** An HTML `<form>` posting to the trigger URL with the declared input fields. */
  html: string;
  /** A `fetch` call from a page (JSON body). */
  fetch: string;
}

/** A feed as `GET`, `POST` and `PUT /api/feeds…` answer it. */
export type FeedAnswer = FeedView & { triggerUrl: string; snippets?: FeedSnippets };

/** `POST /api/feeds/<id>/rotate-public-key`. */
export interface RotatePublicKeyAnswer {
  publicKey: string;
  triggerUrl: string;
}

/** A server trigger key as listed (the key itself is shown once, at creation). */
export interface TriggerKeySummary {
  id: string;
  name: string;
  createdAt: string;
}

/** `POST /api/feeds/<id>/keys`: the only time the key is shown. */
export interface CreatedTriggerKey extends TriggerKeySummary {
  key: string;
}

// ---- Dry run (§3.7)

export const DRY_RUN_ANSWER_KINDS = ['json', 'navigation'] as const;
export type DryRunAnswerKind = (typeof DRY_RUN_ANSWER_KINDS)[number];

const SampleResponseSchema = v.strictObject({
  status: v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599)),
  headers: v.optional(v.record(v.string(), v.string())),
  body: v.optional(v.unknown()),
});

/**
 * `POST /api/feeds/<id>/dry-run` (a saved feed) or `POST /api/feeds/dry-run` (a draft: `feed`
 * carries the FeedInput). Give `input` (the submission as an object), `raw` (a body and its
 * content type, parsed as a trigger would) or, for a saved feed, `fromRun` (a run logged at level
 * `values`): at most one of them.
 */
export const DryRunRequestSchema = v.strictObject({
  feed: v.optional(v.unknown()),
  input: v.optional(v.record(v.string(), v.unknown())),
  raw: v.optional(v.strictObject({ contentType: v.pipe(v.string(), v.maxLength(256)), body: v.pipe(v.string(), v.maxLength(65_536)) })),
  /** A saved feed's logged run to take the input from (only runs logged at level `values`; sensitive fields stay `***`). */
  fromRun: v.optional(v.pipe(v.string(), v.regex(/^run_[A-Za-z0-9_-]{1,40}$/, 'A run id such as run_…'))),
  send: v.optional(v.boolean(), false),
  sampleResponse: v.optional(SampleResponseSchema),
  as: v.optional(v.picklist(DRY_RUN_ANSWER_KINDS), 'json'),
});
export type DryRunRequest = v.InferInput<typeof DryRunRequestSchema>;

/** A warning a dry run shows; codes per FEEDS.md §3.7. */
export interface DryRunWarning {
  code: 'missing-source' | 'unknown-field' | 'dropped-file' | 'unresolved-response' | 'duplicate-key';
  pointer?: string;
  row?: string;
  name?: string;
  effect?: 'omitted' | 'empty' | 'null';
}

/** One condition rule with what it compared. */
export interface DryRunRuleResult {
  source: string;
  op: string;
  value?: string;
  actual: unknown;
  matched: boolean;
}

/** The answer of a dry run. Credentials appear only as `***`. */
export interface DryRunAnswer {
  /** The normalized `/input` exactly as pointers see it. */
  input: unknown;
  condition: { result: boolean; rules: DryRunRuleResult[] };
  /** Absent when the condition is false or the build failed (see `problem`). */
  request?: {
    method: string;
    url: string;
    headers: Record<string, string>;
    /** JSON value, form fields, or text; truncated at 64 KiB. */
    body?: unknown;
  };
  warnings: DryRunWarning[];
  /** Only with `send: true`. */
  upstream?: { status: number; durationMs: number; headers: Record<string, string>; body: unknown };
  /** What the trigger's caller would get: a JSON body, a 303 `location`, or one of the built-in pages (`page`). */
  answer: { status: number; location?: string; body?: unknown; page?: 'thanks' | 'error' };
  /** The run's problem (a mapping error, an upstream failure), as the caller would see it. */
  problem?: { code: string; title: string; detail: string };
  /** With `send: true`: the run id it was logged under. */
  runId?: string;
}

// ---- Runs (§3.8)

export const FEED_TRIGGERS = ['browser', 'server', 'dry-run', 'redeliver'] as const;
export type FeedTrigger = (typeof FEED_TRIGGERS)[number];

/** What a run records beyond a call-log entry. Never a secret, token, key or credential header. */
export interface FeedRunDetail {
  contentType: string | null;
  bodyBytes: number | null;
  /** Names only. */
  fieldNames: string[];
  droppedFiles: string[];
  condition: { result: boolean } | null;
  attempts: { n: number; at: string; method: string; url: string; status: number | null; durationMs: number; errorCode: string | null }[];
  answer: { status: number; location?: string };
  /** Only at log level `values`: sensitive fields masked as `***`. */
  input?: unknown;
  requestBody?: unknown;
  /** Only at log level `values`: the first 2 KiB. */
  responseBody?: string;
  /** Set when the stored detail was too long and its values (input, bodies) were left out. */
  truncated?: boolean;
}

/** A feed run: a call-log entry of kind `feed-run` with its detail. */
export type FeedRun = Call & { kind: 'feed-run'; feedId: string; runId: string; trigger: FeedTrigger; detail?: FeedRunDetail };

/** `GET /api/feeds/<id>/runs?cursor=&outcome=`: newest first. */
export interface FeedRunListAnswer {
  runs: FeedRun[];
  cursor: string | null;
}

/** `GET /api/feeds/<id>/stats`: the feed's runs of the last 24 hours, counted by outcome. */
export interface FeedRunStatsAnswer {
  window: '24h';
  total: number;
  outcomes: Partial<Record<Call['outcome'], number>>;
}
