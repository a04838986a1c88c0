/**
 * One feed run, shared by the trigger (`/hook/<publicKey>`) and the dry run: the condition, the
 * upstream request (`buildUpstreamRequest`), the send through the relay core (`sendUpstream`: URL
 * guards, policy, credentials, 401 retry, timeout), the outcome, the caller's answer, and the
 * run's call-log entry with its detail. The trigger and the dry run differ only in what comes
 * before (parsing, trigger auth) and in how the answer is shaped, so what a dry run shows is what
 * a live trigger sends.
 *
 * Never in an answer, a log entry or a detail: the connection's secret, a token, a trigger key,
 * `Authorization`/`Cookie` headers, an API key query value (shown as `***`).
 */
import type { FeedRunDetail, FeedTrigger } from '../../contract/feed-api';
import type { FeedOutput } from '../../contract/feed';
import type { CallOutcome } from '../../contract/activity';
import { allowLoopback } from '../app-env';
import type { CallInput } from '../activity/call-store';
import { loggedPath } from '../activity/call-entry';
import { openSecret, type StoredConnection } from '../connections/records';
import { randomId, Sealer } from '../connections/seal';
import { AppError, PROBLEMS, type ProblemCode } from '../errors';
import { TokenDoor } from '../oauth/token-door';
import { sendUpstream, type RelayTrace } from '../relay/relay';
import { timerDeadline, type Deadline, type OutgoingRequest } from '../relay/forward';
import { headersOnTheWire } from '../relay/headers';
import { firstBytes } from '../http';
import { evaluateCondition, type ConditionResult } from './condition';
import {
  buildUpstreamRequest,
  encodeComponent,
  renderRedirectUrl,
  renderResponseData,
  stringifyValue,
  upstreamUrlOf,
  type RenderContext,
  type RenderWarning,
  type ResponseContext,
  type UpstreamRequestPlan,
} from './template';
import { resolvePointer } from './pointer';
import { parsePointer } from '../../contract/pointer';
import { sensitiveFields, validateSubmission, type Submission } from './input';
import { perFeed } from './per-feed';

/** How much of the upstream answer `/response/text` holds. */
export const RESPONSE_TEXT_MAX_BYTES = 64 * 1024;
/** How much of the upstream answer a `values`-level log keeps. */
export const LOGGED_RESPONSE_MAX_BYTES = 2 * 1024;
/** What stands for a credential or a sensitive value. */
export const MASK = '***';

const upstreamFetch = (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init);

/** A new run id: `run_` + 96 random bits. */
export function newRunId(): string {
  return `run_${randomId(12)}`;
}

/** `/meta` of a run. */
export interface RunMeta {
  runId: string;
  feedId: string;
  receivedAt: string;
  origin: string | null;
  contentType: string | null;
  idempotencyKey?: string | undefined;
  country?: string | undefined;
  errorCode?: string | undefined;
}

function metaDoc(meta: RunMeta): Record<string, unknown> {
  const doc: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(meta)) if (value !== undefined && value !== null) doc[key] = value;
  return doc;
}

/** The templates' context of a run. */
export function contextOf(input: unknown, meta: RunMeta, response?: ResponseContext): RenderContext {
  return { input, meta: metaDoc(meta), ...(response ? { response } : {}) };
}

/** A context with the upstream's answer added (the same `/input` and `/meta`). */
function withResponse(context: RenderContext, response: ResponseContext): RenderContext {
  return { input: context.input, meta: context.meta, response };
}

/** The upstream's answer as the run keeps it. */
export interface UpstreamAnswer {
  status: number;
  /** Lower-case names; `set-cookie` left out. */
  headers: Record<string, string>;
  /** Parsed JSON when the upstream sent JSON. */
  body?: unknown;
  /** The first 64 KiB, as text. */
  text: string;
  durationMs: number;
}

/** How a run ended, before its answer is shaped. */
export interface RunResult {
  outcome: CallOutcome;
  /** The caller's status (the answer's). */
  status: number;
  /** The problem the caller gets (any failure), or none. */
  problem: AppError | null;
  condition: ConditionResult | null;
  plan: UpstreamRequestPlan | null;
  upstream: UpstreamAnswer | null;
  /** JSON `data` of a success. */
  data?: unknown;
  skipped?: boolean;
  warnings: RenderWarning[];
  attempts: FeedRunDetail['attempts'];
  /** The files a multipart body row sent. */
  usedFiles: Set<string>;
  retried: boolean;
  tokenFetched: boolean;
  /** The run's `/input` (what the answer's URLs may read). */
  input: unknown;
}

/** True when `status` is one of the feed's success statuses. */
export function isSuccessStatus(feed: FeedOutput, status: number): boolean {
  const listed = feed.response.successStatuses;
  return listed === '2xx' ? status >= 200 && status < 300 : listed.includes(status);
}

/** The outcome class of an upstream status (Gravity Flow's four). */
export function upstreamOutcome(feed: FeedOutput, status: number): CallOutcome {
  if (isSuccessStatus(feed, status)) return 'success';
  if (status >= 400 && status < 500) return 'client-error';
  return 'server-error';
}

const NETWORK_CODES = new Set<string>(['upstream-timeout', 'upstream-unreachable', 'token-endpoint-error', 'token-endpoint-timeout']);

/** The outcome of a run that ended in one of the service's own problems (FEEDS.md outcomes mapped onto the call log's set). */
export function problemOutcome(problem: AppError): CallOutcome {
  if (NETWORK_CODES.has(problem.code)) return 'network-error';
  if (problem.status >= 500) return 'server-error';
  // `invalid`, `origin-refused` and the like: the product's own 4xx.
  return 'refused';
}

/** A relay-core failure as the feed's caller sees it. */
function feedProblem(err: unknown): AppError {
  if (!(err instanceof AppError)) throw err;
  if (err.code === 'misconfigured' || err.code === 'connection-not-found') {
    return new AppError('feed-misconfigured', { detail: 'The feed cannot reach its API as configured.', internal: err.internal ?? err.detail });
  }
  // The token endpoint's own words (its error, description, status) stay out of the answer: the
  // trigger is public. They go to the log as internal detail.
  if (err.code === 'token-endpoint-timeout' || err.code === 'token-endpoint-error') {
    return new AppError('token-endpoint-error', { detail: 'No access token could be obtained for the feed’s connection.', internal: err.internal ?? err.detail });
  }
  if (err.code === 'upstream-bad-status') return new AppError('upstream-error', { detail: 'The API answered with a status that is not a final HTTP status.' });
  // Relay failures carry no caller data; their details describe the relay's own checks.
  return err;
}

function emptyResult(): RunResult {
  return {
    outcome: 'success',
    status: 200,
    problem: null,
    condition: null,
    plan: null,
    upstream: null,
    warnings: [],
    attempts: [],
    usedFiles: new Set(),
    retried: false,
    tokenFetched: false,
    input: {},
  };
}

/** A result that ended before the run (trigger auth, parsing): its problem only. */
export function earlyResult(problem: AppError, input: unknown = {}): RunResult {
  const result = failWith(emptyResult(), problem);
  result.input = input;
  return result;
}

/** Ends a result with a problem. */
export function failWith(result: RunResult, problem: AppError): RunResult {
  result.problem = problem;
  result.status = problem.status;
  result.outcome = problemOutcome(problem);
  return result;
}

/** The URL of a plan as shown and logged: an API key sent in the query is `***`. */
export function shownUrl(plan: UpstreamRequestPlan, record: StoredConnection): string {
  const url = upstreamUrlOf(plan, record.baseUrl);
  const auth = record.auth;
  if (auth.method === 'api_key' && auth.in === 'query') url.searchParams.set(auth.name, MASK);
  return url.href;
}

/** The headers of a plan as shown: the body's type, then the connection's credential as `***`. */
export function shownHeaders(plan: UpstreamRequestPlan, record: StoredConnection): Record<string, string> {
  const headers: Record<string, string> = {};
  const type = contentTypeOf(plan);
  if (type !== null) headers['content-type'] = type;
  for (const [name, value] of plan.headers) headers[name.toLowerCase()] = value;
  const auth = record.auth;
  if (auth.method === 'bearer' || auth.method === 'oauth2_client_credentials') headers.authorization = `Bearer ${MASK}`;
  else if (auth.method === 'basic') headers.authorization = `Basic ${MASK}`;
  else if (auth.method === 'api_key' && auth.in === 'header') headers[auth.name.toLowerCase()] = MASK;
  return headers;
}

function contentTypeOf(plan: UpstreamRequestPlan): string | null {
  const body = plan.body;
  if (body === null) return null;
  if (body.format === 'multipart') return 'multipart/form-data';
  return body.contentType;
}

/** The rendered body as a dry run shows it and a `values` log keeps it (files as descriptors). */
export function shownBody(plan: UpstreamRequestPlan): unknown {
  const body = plan.body;
  if (body === null) return undefined;
  switch (body.format) {
    case 'json':
      return body.value;
    case 'form':
      return body.text;
    case 'raw':
      return body.text;
    case 'multipart':
      return body.fields.map((field) => ('value' in field ? { name: field.name, value: field.value } : { name: field.name, file: field.file }));
  }
}

/**
 * The input descriptor → uploaded file, for `as: "file"` rows: they render the descriptor the
 * parser put at `/input/<key>`, and the parser keeps the bytes under that same key.
 */
function filesByDescriptor(submission: Submission): Map<unknown, { name: string; file: File }> {
  const map = new Map<unknown, { name: string; file: File }>();
  for (const [key, file] of submission.files) {
    const found = resolvePointer({ input: submission.input }, `/input/${key}`);
    if (found.found && found.value !== null && typeof found.value === 'object') map.set(found.value, { name: key, file });
  }
  return map;
}

/** The file keys a plan's multipart `as: "file"` rows send. */
export function usedFileKeys(plan: UpstreamRequestPlan, submission: Submission): Set<string> {
  const used = new Set<string>();
  if (plan.body?.format !== 'multipart') return used;
  const files = filesByDescriptor(submission);
  for (const field of plan.body.fields) {
    if ('file' in field) {
      const found = files.get(field.file);
      if (found) used.add(found.name);
    }
  }
  return used;
}

/** The names of the feed's sensitive fields (the parser lists them as `/input/<name>` pointers). */
export const sensitiveNames = perFeed((feed): ReadonlySet<string> => {
  const names = new Set<string>();
  for (const pointer of sensitiveFields(feed)) {
    const tokens = parsePointer(pointer);
    if (tokens[0] === 'input' && tokens.length === 2) names.add(tokens[1]!);
  }
  return names;
});

/** Turns a multipart header value into a filename the upstream can take: no CR, LF or quotes, at most 255 bytes. */
function safeFilename(name: string): string {
  let clean = name.replace(/[\r\n"\\]/g, '');
  while (new TextEncoder().encode(clean).byteLength > 255) clean = clean.slice(0, -1);
  return clean === '' ? 'file' : clean;
}

/** The request body of a plan, ready for `fetch`; files come from the submission. */
function bodyOf(plan: UpstreamRequestPlan, submission: Submission, used: Set<string>): string | FormData | null {
  const body = plan.body;
  if (body === null) return null;
  if (body.format !== 'multipart') return body.text;
  const form = new FormData();
  const files = filesByDescriptor(submission);
  for (const field of body.fields) {
    if ('value' in field) {
      form.append(field.name, field.value);
      continue;
    }
    const found = files.get(field.file);
    if (!found) continue;
    used.add(found.name);
    form.append(field.name, found.file, safeFilename(found.file.name));
  }
  return form;
}

/** Decodes UTF-8, malformed bytes as U+FFFD (holds no state between calls without `stream`). */
const decoder = new TextDecoder();

/**
 * Reads the first `max` bytes of a body as text (`decode` false: read, not decoded), cancelling the rest; `complete` when it all fit.
 * Once `late` settles it stops (not complete) and keeps what arrived, or nothing for a body
 * of a declared length within `max` (read in one call).
 */
async function readStart(response: Response, max: number, late: Promise<'late'>, decode = true): Promise<{ text: string; complete: boolean }> {
  const body = response.body;
  if (body === null) return { text: '', complete: true };
  const declared = response.headers.get('Content-Length');
  // Only a body of a known length that fits, as sent: an encoded one (gzip) arrives decoded, and
  // its `Content-Length` counts the encoded bytes, so it goes through the capped loop below.
  if (declared !== null && /^\d{1,9}$/.test(declared) && Number(declared) <= max && !response.headers.has('Content-Encoding')) {
    // Read in one call, raced against the deadline.
    try {
      const bytes = await Promise.race([response.arrayBuffer(), late]);
      if (bytes === 'late') return { text: '', complete: false };
      const fits = bytes.byteLength <= max;
      return { text: decode ? decoder.decode(fits ? bytes : new Uint8Array(bytes, 0, max)) : '', complete: fits };
    } catch {
      return { text: '', complete: false };
    }
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = false;
  try {
    while (size <= max) {
      const next = await Promise.race([reader.read(), late]);
      if (next === 'late') break;
      if (next.done) {
        complete = true;
        break;
      }
      chunks.push(next.value);
      size += next.value.byteLength;
    }
  } catch {
    complete = false;
  }
  if (!complete) await reader.cancel().catch(() => undefined);
  const text = decode ? decoder.decode(firstBytes(chunks, Math.min(size, max))) : '';
  return { text, complete: complete && size <= max };
}

const noClear = () => undefined;
const late = () => 'late' as const;
/** Never settles: a body read without a deadline (only when no attempt started one, which an answer rules out). */
const never = new Promise<'late'>(() => undefined);

/** `/response` of an upstream answer. */
export function responseContextOf(answer: Pick<UpstreamAnswer, 'status' | 'headers' | 'body' | 'text'>): ResponseContext {
  return { status: answer.status, headers: answer.headers, ...(answer.body !== undefined ? { body: answer.body } : {}), text: answer.text };
}

/** What a run needs to send. */
export interface SendOptions {
  env: Env;
  record: StoredConnection;
  submission: Submission;
  /** Read the upstream's body and headers for `/response` (default true; see `readsResponse`). */
  readResponse?: boolean | undefined;
}

/**
 * Whether anything of a feed uses the upstream's answer beyond its status (its body is then parsed
 * and its headers kept for `/response`): response data rows,
 * the error detail, a `/response` placeholder in a redirect URL, or the run log at level `values`
 * (which keeps the start of the body). Worked out once per feed object.
 */
export const readsResponse = perFeed((feed): boolean => {
  const { json, redirect } = feed.response;
  const urls = `${redirect.successUrl ?? ''} ${redirect.errorUrl ?? ''}`;
  return json.data.length > 0 || json.errorDetail !== null || /\{\{\s*\/response/.test(urls) || feed.log.level === 'values';
});

const encoder = new TextEncoder();

/** Copies of cached records with a feed's timeout, kept per record object (see `withTimeout`). */
const timedRecords = new WeakMap<StoredConnection, Map<number, StoredConnection>>();

/**
 * The connection's record with the feed's timeout in place of the relay's. One copy per record
 * object and timeout, so what the relay core memoises per record (the checked Base URL, the
 * token fingerprint) is worked out once, not on every run.
 */
function withTimeout(record: StoredConnection, timeoutMs: number): StoredConnection {
  let byTimeout = timedRecords.get(record);
  if (byTimeout === undefined) timedRecords.set(record, (byTimeout = new Map()));
  let timed = byTimeout.get(timeoutMs);
  if (timed === undefined) byTimeout.set(timeoutMs, (timed = { ...record, relay: { ...record.relay, timeoutMs } }));
  return timed;
}

/** The `Content-Type` alone of a plan without header rows, by type (copied per run, never changed). */
const typeOnlyHeaders = new Map<string, Headers>();
const TYPE_ONLY_HEADERS_MAX = 100;

/**
 * The upstream request's headers of a plan: its header rows, then its body's `Content-Type`. A new
 * `Headers` each run (the relay core sets the credential on it); a plan with no header rows, the
 * usual one, copies a kept `Headers` (the runtime copies one several times faster than it builds
 * one from pairs, measured).
 */
function requestHeadersOf(plan: UpstreamRequestPlan): Headers {
  const type = plan.body !== null && plan.body.format !== 'multipart' ? plan.body.contentType : null;
  if (type === null) return new Headers(plan.headers);
  if (plan.headers.length > 0) return new Headers([...plan.headers, ['Content-Type', type]]);
  let kept = typeOnlyHeaders.get(type);
  if (kept === undefined) {
    if (typeOnlyHeaders.size >= TYPE_ONLY_HEADERS_MAX) typeOnlyHeaders.clear();
    typeOnlyHeaders.set(type, (kept = new Headers([['Content-Type', type]])));
  }
  return new Headers(kept);
}

/** Sends a plan through the relay core and reads the answer; failures are the feed caller's problems. */
async function send(feed: FeedOutput, plan: UpstreamRequestPlan, options: SendOptions, result: RunResult): Promise<UpstreamAnswer> {
  const { env, record, submission } = options;
  const body = bodyOf(plan, submission, result.usedFiles);
  // Built here, not received: the relay core takes it as it is (no caller headers to filter, the
  // body in memory, sent again as it is after a 401).
  const request: OutgoingRequest = {
    method: plan.method,
    headers: requestHeadersOf(plan),
    body: typeof body === 'string' ? encoder.encode(body) : body,
  };
  const timed = withTimeout(record, feed.request.timeoutMs);
  const trace: RelayTrace = {};
  const door = new TokenDoor(env);
  const started = Date.now();
  const at = new Date(started).toISOString();
  // Each attempt's URL is the logged one (query values out, sensitive values masked), which
  // `runEntry` writes into every attempt; nothing else reads it.
  const url = '';
  // One timer for the exchange, started by the first attempt: its answer is due within the
  // timeout, as through the relay, and its body by the same time (not a second timer). A retry
  // after a 401 gets a timer of its own.
  const timers: { exchange?: Deadline } = {};
  const deadline = (timeoutMs: number): Deadline => {
    if (timers.exchange !== undefined) return timerDeadline(timeoutMs);
    const exchange = (timers.exchange = timerDeadline(timeoutMs));
    return { expired: exchange.expired, reason: exchange.reason, clear: noClear };
  };
  let response: Response;
  let read: { text: string; complete: boolean };
  const reading = options.readResponse ?? true;
  try {
    try {
      response = await sendUpstream(request, timed, plan.path, plan.query, {
        relayEntry: async () => null,
        touchKey: () => undefined,
        openSecret: (r) => openSecret(Sealer.fromSecretsKey(env.SECRETS_KEY), r),
        allowLoopback: allowLoopback(env),
        tokenProvider: () => door,
        fetch: upstreamFetch,
        waitUntil: () => undefined,
        deadline,
        trace,
      });
    } catch (err) {
      const problem = feedProblem(err);
      result.attempts.push({ n: 1, at, method: plan.method, url, status: null, durationMs: Date.now() - started, errorCode: problem.code });
      result.tokenFetched = trace.upstream?.tokenFetched ?? false;
      throw problem;
    }
    // The body is read (bounded by the feed's timeout: what arrived by then is what the run maps)
    // even when nothing of the feed uses `/response`: a body read to its end lets the runtime reuse
    // the upstream connection, where a cancelled one closes it. Only then is it parsed.
    read = await readStart(response, RESPONSE_TEXT_MAX_BYTES, timers.exchange?.expired.catch(late) ?? never, reading);
  } finally {
    timers.exchange?.clear();
  }
  const durationMs = Date.now() - started;
  const answerHeaders: Record<string, string> = {};
  if (reading) for (const [name, value] of headersOnTheWire(response.headers)) if (name !== 'set-cookie') answerHeaders[name] = value;
  let parsed: unknown;
  if (reading && read.complete && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(response.headers.get('Content-Type') ?? '')) {
    try {
      parsed = JSON.parse(read.text) as unknown;
    } catch {
      parsed = undefined;
    }
  }
  result.retried = trace.upstream?.retried ?? false;
  result.tokenFetched = trace.upstream?.tokenFetched ?? false;
  if (result.retried) result.attempts.push({ n: 1, at, method: plan.method, url, status: 401, durationMs: 0, errorCode: null });
  result.attempts.push({ n: result.attempts.length + 1, at, method: plan.method, url, status: response.status, durationMs, errorCode: null });
  return { status: response.status, headers: answerHeaders, ...(parsed !== undefined ? { body: parsed } : {}), text: read.text, durationMs };
}

/** What decides a run, past parsing and trigger auth. */
export interface RunOptions {
  feed: FeedOutput;
  meta: RunMeta;
  submission: Submission;
  /** Honeypot check (the trigger; a dry run skips it). */
  honeypot: boolean;
  /** Really call the upstream (`record` then required), or map against `sample`. */
  send: boolean;
  record: StoredConnection | null;
  sample?: UpstreamAnswer | undefined;
  /** Read the upstream's answer for `/response` (default true: the dry run shows it; the trigger reads it only when `readsResponse`). */
  readResponse?: boolean | undefined;
  env: Env;
}

/**
 * Runs a feed on a parsed submission (FEEDS.md §3.3 steps 6 to 14): honeypot, validation,
 * condition, build, send or sample, outcome and the JSON data. Never throws a service problem:
 * it ends in `result.problem`.
 */
export async function runFeed(options: RunOptions): Promise<RunResult> {
  const { feed, meta, submission } = options;
  const result = emptyResult();
  const input = submission.input;
  result.input = input;
  try {
    if (options.honeypot && feed.trigger.browser.honeypotField && submission.reserved.honeypot) {
      result.outcome = 'spam-honeypot';
      result.data = safeData(feed, contextOf(input, meta));
      return result;
    }
    validateSubmission(submission, feed);
    const context = contextOf(input, meta);
    result.condition = evaluateCondition(feed.condition, context);
    if (!result.condition.result) {
      result.outcome = 'skipped';
      result.skipped = true;
      return result;
    }
    const plan = buildUpstreamRequest(feed, context);
    result.plan = plan;
    result.warnings.push(...plan.warnings);
    if (!options.send && options.sample === undefined) return result;
    if (options.send && options.record === null) throw new AppError('feed-misconfigured', { detail: 'The feed’s connection no longer exists.' });
    const upstream = options.send
      ? await send(feed, plan, { env: options.env, record: options.record!, submission, readResponse: options.readResponse }, result)
      : options.sample!;
    result.upstream = upstream;
    result.outcome = upstreamOutcome(feed, upstream.status);
    const answered = withResponse(context, responseContextOf(upstream));
    if (result.outcome === 'success') {
      result.data = answerMapping(() => renderResponseData(feed, answered, result.warnings));
      return result;
    }
    const detail = answerMapping(() => errorDetailOf(feed, answered));
    const extensions = { upstreamStatus: upstream.status };
    const problem =
      result.outcome === 'client-error'
        ? new AppError('upstream-rejected', { detail: detail ?? `The API refused the request (HTTP ${upstream.status}).`, extensions })
        : new AppError('upstream-error', { detail: detail ?? `The API failed (HTTP ${upstream.status}).`, extensions });
    result.problem = problem;
    result.status = problem.status;
    return result;
  } catch (err) {
    if (!(err instanceof AppError)) {
      // A defect, not bad input: the run still ends in an answer and a log entry.
      console.error('[feeds] a run failed unexpectedly:', err instanceof Error ? err.name : 'error');
      failWith(result, new AppError('internal-error', { detail: 'The form could not be processed.', internal: err }));
      return result;
    }
    failWith(result, err);
    return result;
  }
}

/**
 * Maps the API's answer for the caller. The request was sent by then: a mapping that fails (a
 * `number` row that reads text, an `ifMissing: error` row) is the feed's fault, not the caller's,
 * so it is a 502 `feed-misconfigured` (outcome `server-error`) and never a 400 that invites the
 * person to send the form again.
 */
function answerMapping<T>(map: () => T): T {
  try {
    return map();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw new AppError('feed-misconfigured', {
      detail: 'The API answered, but the feed’s answer mapping could not be applied to it.',
      internal: `${err.code}: ${err.detail ?? ''}`,
    });
  }
}

/** Response data for an answer that must look like a success without an upstream answer (honeypot). */
function safeData(feed: FeedOutput, context: RenderContext): unknown {
  try {
    return renderResponseData(feed, context);
  } catch {
    return Object.create(null);
  }
}

/** The upstream's message, when the feed exposes one (`response.json.errorDetail`), bounded. */
function errorDetailOf(feed: FeedOutput, context: RenderContext): string | undefined {
  const pointer = feed.response.json.errorDetail;
  if (pointer === null) return undefined;
  const found = resolvePointer({ input: context.input, meta: context.meta, response: context.response }, pointer);
  if (!found.found) return undefined;
  const text = stringifyValue(found.value).replace(/[\r\n\0]+/g, ' ').trim();
  return text === '' ? undefined : text.slice(0, 500);
}

// ---- Caller answers (§3.6)

/** What the caller gets, before it becomes a `Response`. */
export type CallerAnswer =
  | { kind: 'json'; status: number; body: unknown; problem: boolean }
  | { kind: 'redirect'; status: 303; location: string }
  | { kind: 'page'; status: number; page: 'thanks' | 'error'; runId: string };

/** The JSON body of a problem (as `problemResponse` writes it). */
export function problemBody(problem: AppError): Record<string, unknown> {
  const { status, title } = PROBLEMS[problem.code];
  return { type: `https://edge-api-connector.dev/problems/${problem.code}`, title, status, detail: problem.detail ?? title, ...problem.extensions };
}

/** The answer of a run to a JSON caller or a navigation. `trusted`: the caller's origin may be sent to the feed's URLs. */
export function callerAnswer(feed: FeedOutput, result: RunResult, meta: RunMeta, navigation: boolean, trusted = true): CallerAnswer {
  if (!navigation) {
    if (result.problem) return { kind: 'json', status: result.status, body: problemBody(result.problem), problem: true };
    const body: Record<string, unknown> = { ok: true, runId: meta.runId };
    if (result.skipped) body.skipped = true;
    else body.data = result.data ?? {};
    return { kind: 'json', status: 200, body, problem: false };
  }
  const redirect = feed.response.redirect;
  if (!result.problem) {
    const url = redirect.successUrl;
    if (trusted && url) {
      const context = contextOf(result.input, meta, result.upstream ? responseContextOf(result.upstream) : undefined);
      try {
        return { kind: 'redirect', status: 303, location: renderRedirectUrl(url, context) };
      } catch {
        // A URL that does not render: the built-in page, never an open redirect.
      }
    }
    return { kind: 'page', status: 200, page: 'thanks', runId: meta.runId };
  }
  const url = redirect.errorUrl;
  if (trusted && url) {
    const context = contextOf(result.input, { ...meta, errorCode: result.problem.code }, result.upstream ? responseContextOf(result.upstream) : undefined);
    try {
      return { kind: 'redirect', status: 303, location: renderRedirectUrl(url, context) };
    } catch {
      // As above.
    }
  }
  return { kind: 'page', status: result.status, page: 'error', runId: meta.runId };
}

// ---- The run's log entry (§3.8)

/** Masks the sensitive fields of an input (top-level names) as `***`. */
export function maskInput(input: unknown, sensitive: ReadonlySet<string>): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) out[name] = sensitive.has(name) ? MASK : value;
  return out;
}

/** Every text value the sensitive fields hold (to mask them wherever a body carries them). */
function sensitiveValues(input: unknown, sensitive: ReadonlySet<string>): string[] {
  if (sensitive.size === 0 || input === null || typeof input !== 'object') return [];
  const values = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      const text = String(value);
      if (text === '') return;
      // As it was sent, and as a URL or a form body spells it.
      values.add(text);
      values.add(encodeComponent(text));
      values.add(new URLSearchParams([['', text]]).toString().slice(1));
    } else if (Array.isArray(value)) value.forEach(add);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(add);
  };
  for (const [name, value] of Object.entries(input)) if (sensitive.has(name)) add(value);
  return [...values].sort((a, b) => b.length - a.length);
}

/**
 * The upstream URL as the run log keeps it: the connection's Base URL and the path, query values
 * left out unless the connection logs full queries (an API key parameter is redacted even then),
 * and sensitive values masked.
 */
function loggedUrl(plan: UpstreamRequestPlan, record: StoredConnection, values: readonly string[]): string {
  const url = record.baseUrl.replace(/\/+$/, '') + loggedPath(plan.path, plan.query, record);
  return maskValues(url, values) as string;
}

/** A value with every occurrence of `values` replaced by `***` (strings inside JSON values too). */
export function maskValues(value: unknown, values: readonly string[]): unknown {
  if (values.length === 0) return value;
  const maskText = (text: string) => values.reduce((out, secret) => out.split(secret).join(MASK), text);
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return maskText(item);
    if (typeof item === 'number' && values.includes(String(item))) return MASK;
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object') return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, walk(v)]));
    return item;
  };
  return walk(value);
}

/** What a run's log entry is made from. */
export interface RunLogFacts {
  feed: FeedOutput;
  meta: RunMeta;
  trigger: FeedTrigger;
  record: StoredConnection | null;
  submission: Submission | null;
  result: RunResult;
  answer: { status: number; location?: string };
  startedAt: number;
  keyName: string | null;
  sensitive: ReadonlySet<string>;
}

/** The call-log entry of a run (kind `feed-run`) with its FeedRunDetail. */
export function runEntry(facts: RunLogFacts): CallInput {
  const { feed, meta, result, submission } = facts;
  const plan = result.plan;
  const droppedFiles = submission ? [...submission.files.keys()].filter((name) => !result.usedFiles.has(name)) : [];
  const detail: FeedRunDetail = {
    contentType: submission?.contentType ?? null,
    bodyBytes: submission?.bodyBytes ?? null,
    fieldNames: submission ? [...submission.fieldNames].slice(0, 200) : [],
    droppedFiles,
    condition: result.condition ? { result: result.condition.result } : null,
    attempts: result.attempts,
    answer: facts.answer,
  };
  const values = submission ? sensitiveValues(submission.input, facts.sensitive) : [];
  if (plan && facts.record) {
    // The run's own attempts, written once: nothing reads them after its entry.
    const url = loggedUrl(plan, facts.record, values);
    for (const attempt of result.attempts) attempt.url = url;
  }
  if (feed.log.level === 'values' && submission) {
    detail.input = maskInput(submission.input, facts.sensitive);
    if (plan) {
      const body = shownBody(plan);
      if (body !== undefined) detail.requestBody = maskValues(body, values);
    }
    if (result.upstream) detail.responseBody = truncateBytes(result.upstream.text, LOGGED_RESPONSE_MAX_BYTES);
  }
  const path = plan && facts.record ? loggedPath(plan.path, plan.query, facts.record) : '';
  return {
    at: facts.startedAt,
    kind: 'feed-run',
    method: plan?.method ?? 'POST',
    path,
    status: facts.answer.status,
    upstreamStatus: result.upstream?.status ?? null,
    durationMs: Math.max(0, Date.now() - facts.startedAt),
    outcome: result.outcome,
    keyName: facts.keyName,
    retried: result.retried,
    tokenFetched: result.tokenFetched,
    bytesIn: submission?.bodyBytes ?? null,
    bytesOut: null,
    origin: meta.origin?.slice(0, 300) ?? null,
    errorCode: result.problem?.code ?? null,
    feedId: meta.feedId,
    runId: meta.runId,
    trigger: facts.trigger,
    // Plain data: the parser and the builder make null-prototype objects, which RPC cannot carry;
    // they are in a detail only at level `values` (the metadata is built here, of plain objects).
    detail: feed.log.level === 'values' ? (JSON.parse(JSON.stringify(detail)) as FeedRunDetail) : detail,
  };
}

/** Whether a run is logged: failures always, successes unless the feed turns them off. */
export function isLogged(feed: FeedOutput, outcome: CallOutcome): boolean {
  return feed.log.logSuccess || !(outcome === 'success' || outcome === 'skipped');
}

/** The one structured line per run for Workers Logs (never a value). */
export function runLogLine(entry: CallInput, connection: string): string {
  return JSON.stringify({
    event: 'feed-run',
    feedId: entry.feedId,
    runId: entry.runId,
    connection,
    trigger: entry.trigger,
    outcome: entry.outcome,
    status: entry.status,
    upstreamStatus: entry.upstreamStatus,
    durationMs: entry.durationMs,
    errorCode: entry.errorCode,
  });
}

function truncateBytes(text: string, max: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= max) return text;
  return new TextDecoder().decode(bytes.subarray(0, max)).replace(/\uFFFD$/, '');
}

/** The code of a problem, for the answer of a dry run. */
export function problemSummary(problem: AppError): { code: ProblemCode; title: string; detail: string } {
  return { code: problem.code, title: PROBLEMS[problem.code].title, detail: problem.detail ?? PROBLEMS[problem.code].title };
}
