/**
 * The dry run (FEEDS.md §3.7): a saved feed or a draft run on a given input or raw body through
 * the same `runFeed` as the trigger, skipping Origin, Turnstile, rate limit and idempotency.
 * `send: false` renders only and maps against `sampleResponse`; `send: true` calls the upstream
 * through the relay core and is logged with trigger `dry-run`. Credentials are shown as `***`.
 */
import type { DryRunAnswer, DryRunRequestSchema, DryRunWarning } from '../../contract/feed-api';
import type { FeedOutput } from '../../contract/feed';
import { parseTemplate, placeholdersOf } from '../../contract/feed-template';
import type * as v from 'valibot';
import { homeOf } from '../connections/home';
import type { StoredConnection } from '../connections/records';
import { AppError } from '../errors';
import { parseRawSubmission, type Submission } from './input';
import { evaluateCondition } from './condition';
import {
  callerAnswer,
  contextOf,
  earlyResult,
  isLogged,
  newRunId,
  problemSummary,
  runEntry,
  runFeed,
  runLogLine,
  sensitiveNames,
  usedFileKeys,
  shownBody,
  shownHeaders,
  shownUrl,
  type RunMeta,
  type RunResult,
  type UpstreamAnswer,
} from './run';

/** Longest rendered body a dry run shows (as JSON text). */
export const DRY_RUN_BODY_MAX_CHARS = 64 * 1024;

/** The feed id a draft's live dry run is logged under. */
export const DRAFT_FEED_ID = 'draft';

type DryRunRequest = v.InferOutput<typeof DryRunRequestSchema>;

/** A submission from a dry run's `input`, as a JSON trigger would have it. */
function submissionOfInput(input: Record<string, unknown>, feed: FeedOutput): Submission {
  const normalized: Record<string, unknown> = Object.create(null);
  for (const [name, value] of Object.entries(input)) normalized[name] = value;
  const declared = new Set(feed.input.fields.map((f) => f.name));
  return {
    input: normalized,
    files: new Map(),
    contentType: 'json',
    bodyBytes: new TextEncoder().encode(JSON.stringify(input)).byteLength,
    fieldNames: Object.keys(input),
    reserved: {},
    duplicateKeys: [],
    unknownFields: declared.size === 0 ? [] : Object.keys(input).filter((name) => !declared.has(name)),
  };
}

/** The upstream answer a dry run maps against when it does not send. */
function sampleOf(sample: NonNullable<DryRunRequest['sampleResponse']>): UpstreamAnswer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(sample.headers ?? {})) headers[name.toLowerCase()] = value;
  const isText = typeof sample.body === 'string';
  const json = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(headers['content-type'] ?? (isText ? '' : 'application/json'));
  return {
    status: sample.status,
    headers,
    ...(json && sample.body !== undefined && !isText ? { body: sample.body } : {}),
    text: sample.body === undefined ? '' : isText ? (sample.body as string) : JSON.stringify(sample.body),
    durationMs: 0,
  };
}

/** The `/response/…` pointers a feed's answer mapping reads (listed as unresolved without a sample). */
function responsePointers(feed: FeedOutput): { pointer: string; row: string }[] {
  const found: { pointer: string; row: string }[] = [];
  const scan = (template: string | undefined, row: string) => {
    if (!template) return;
    try {
      for (const p of placeholdersOf(parseTemplate(template))) if (p.tokens[0] === 'response') found.push({ pointer: p.pointer, row });
    } catch {
      // Checked at save time.
    }
  };
  feed.response.json.data.forEach((r, i) => {
    if (r.source?.startsWith('/response')) found.push({ pointer: r.source, row: `/response/json/data/${i}` });
    scan(r.value, `/response/json/data/${i}`);
  });
  if (feed.response.json.errorDetail) found.push({ pointer: feed.response.json.errorDetail, row: '/response/json/errorDetail' });
  scan(feed.response.redirect.successUrl, '/response/redirect/successUrl');
  scan(feed.response.redirect.errorUrl, '/response/redirect/errorUrl');
  return found;
}

/** The shown body, bounded at 64 KiB of JSON text (then given as the start of that text). */
function boundedBody(body: unknown): unknown {
  if (body === undefined) return undefined;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (text.length <= DRY_RUN_BODY_MAX_CHARS) return body;
  return text.slice(0, DRY_RUN_BODY_MAX_CHARS);
}

/** What a dry run needs. */
export interface DryRunOptions {
  env: Env;
  feed: FeedOutput;
  feedId: string;
  request: DryRunRequest;
  /** The feed's connection as stored now (`null`: it is gone). */
  record: StoredConnection | null;
}

/** Runs a dry run and answers what the trigger would do. */
export async function dryRun(options: DryRunOptions): Promise<DryRunAnswer> {
  const { env, feed, request, record } = options;
  const startedAt = Date.now();
  const meta: RunMeta = { runId: newRunId(), feedId: options.feedId, receivedAt: new Date(startedAt).toISOString(), origin: null, contentType: null };
  let submission: Submission | null = null;
  let result: RunResult;
  try {
    if (request.raw !== undefined) submission = await parseRawSubmission(request.raw, feed);
    else submission = submissionOfInput(request.input ?? {}, feed);
    meta.contentType = submission.contentType;
    result = await runFeed({
      feed,
      meta,
      submission,
      honeypot: false,
      send: request.send,
      record,
      sample: request.send || request.sampleResponse === undefined ? undefined : sampleOf(request.sampleResponse),
      env,
    });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    result = earlyResult(err, submission?.input ?? {});
  }

  const warnings: DryRunWarning[] = result.warnings.map((w) => ({ code: w.code, pointer: w.pointer, row: w.row, effect: w.effect }));
  if (submission) {
    for (const name of submission.unknownFields) warnings.push({ code: 'unknown-field', name });
    for (const pointer of submission.duplicateKeys) warnings.push({ code: 'duplicate-key', pointer });
    const used = request.send ? result.usedFiles : result.plan ? usedFileKeys(result.plan, submission) : new Set<string>();
    for (const key of submission.files.keys()) if (!used.has(key)) warnings.push({ code: 'dropped-file', name: key });
  }
  if (!request.send && request.sampleResponse === undefined && result.plan) {
    for (const { pointer, row } of responsePointers(feed)) warnings.push({ code: 'unresolved-response', pointer, row });
  }

  const condition = result.condition ?? (submission ? evaluateCondition(feed.condition, contextOf(submission.input, meta)) : { result: false, rules: [] });
  const caller = callerAnswer(feed, result, meta, request.as === 'navigation');
  const answer: DryRunAnswer['answer'] =
    caller.kind === 'redirect'
      ? { status: 303, location: caller.location }
      : caller.kind === 'json'
        ? { status: caller.status, body: caller.body }
        : { status: caller.status, page: caller.page };
  const plan = result.plan;
  const out: DryRunAnswer = {
    input: submission?.input ?? null,
    condition: {
      result: condition.result,
      rules: condition.rules.map((r) => ({ source: r.source, op: r.op, value: r.value, actual: r.actual, matched: r.matched })),
    },
    warnings,
    answer,
  };
  if (plan) {
    out.request = {
      method: plan.method,
      url: record ? shownUrl(plan, record) : plan.target,
      headers: record ? shownHeaders(plan, record) : Object.fromEntries(plan.headers.map(([n, v]) => [n.toLowerCase(), v])),
      ...(plan.body !== null ? { body: boundedBody(shownBody(plan)) } : {}),
    };
  }
  if (result.upstream && request.send) {
    const up = result.upstream;
    out.upstream = { status: up.status, durationMs: up.durationMs, headers: up.headers, body: up.body !== undefined ? boundedBody(up.body) : up.text };
  }
  if (result.problem) out.problem = problemSummary(result.problem);

  if (request.send) {
    out.runId = meta.runId;
    const entry = runEntry({
      feed,
      meta,
      trigger: 'dry-run',
      record,
      submission,
      result,
      answer: { status: answer.status, ...(answer.location ? { location: answer.location } : {}) },
      startedAt,
      keyName: null,
      sensitive: sensitiveNames(feed),
    });
    console.log(runLogLine(entry, feed.connection));
    if (isLogged(feed, result.outcome)) await homeOf(env, feed.connection).appendCalls(feed.connection, [entry], record?.id ?? null);
  }
  return out;
}
