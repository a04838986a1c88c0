/**
 * `POST /hook/<publicKey>` and `OPTIONS /hook/<publicKey>`: the feed trigger (FEEDS.md §3.3, sync
 * mode). Outside `/api`: no admin auth, no `/api` body cap (the feed's own limits apply), and
 * `Cache-Control: no-store` on every answer.
 *
 * Order of checks: feed lookup (KV through the isolate cache; an unknown or disabled key is the
 * same 404 and never wakes a home), method, trigger auth (Origin or a Bearer trigger key), content
 * type, size and parse, honeypot, declared schema, condition, build, send through the relay core,
 * answer, log (the recorder's batches, after the answer).
 */
import { Hono } from 'hono';
import type { FeedOutput } from '../../contract/feed';
import type { FeedTrigger } from '../../contract/feed-api';
import type { AppEnv } from '../app-env';
import { recordCall, type WaitUntil } from '../activity/recorder';
import { readPathFor } from '../connections/read-path';
import type { StoredConnection } from '../connections/records';
import { sha256Hex } from '../connections/seal';
import { AppError, toProblem } from '../errors';
import { parseSubmission, type Submission } from '../feeds/input';
import { pageResponse } from '../feeds/pages';
import { triggerEntry, type TriggerEntry } from '../feeds/read-path';
import {
  callerAnswer,
  earlyResult,
  isLogged,
  newRunId,
  readsResponse,
  runEntry,
  runFeed,
  runLogLine,
  sensitiveNames,
  type CallerAnswer,
  type RunMeta,
  type RunResult,
} from '../feeds/run';
import { perFeed } from '../feeds/per-feed';
import { bearerCredential, executionContextOf, waitUntilOf } from '../http';

export const HOOK_PATH_PREFIX = '/hook/';
const TRIGGER_KEY_PREFIX = 'ftk_';
const TRIGGER_KEY_MAX_LENGTH = 256;
/** An idempotency key: 1 to 255 visible ASCII characters. */
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const encoder = new TextEncoder();

/** True when the raw request URL's path lies under `/hook/`. */
export function isHookUrl(url: string): boolean {
  const authority = url.indexOf('://');
  const pathStart = url.indexOf('/', authority === -1 ? 0 : authority + 3);
  return pathStart !== -1 && url.startsWith(HOOK_PATH_PREFIX, pathStart);
}

/** A navigation (FEEDS.md §3.6): Sec-Fetch headers decide; without them, Accept lists HTML before JSON on a form post. */
export function isNavigation(request: Request): boolean {
  const headers = request.headers;
  const mode = headers.get('Sec-Fetch-Mode');
  const dest = headers.get('Sec-Fetch-Dest');
  if (mode !== null || dest !== null) return mode === 'navigate' || dest === 'document';
  const accept = (headers.get('Accept') ?? '').toLowerCase();
  const html = accept.indexOf('text/html');
  if (html === -1) return false;
  const json = accept.search(/application\/(?:[\w.+-]+\+)?json/);
  if (json !== -1 && json < html) return false;
  const type = (headers.get('Content-Type') ?? '').trim().toLowerCase();
  return type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
}

function feedNotFound(): AppError {
  return new AppError('feed-not-found', { detail: 'There is no feed at this address.' });
}

function triggerKeyInvalid(): AppError {
  return new AppError('trigger-key-invalid', {
    detail: 'Send a valid trigger key of this feed: Authorization: Bearer ftk_…',
    headers: { 'WWW-Authenticate': 'Bearer realm="feed"' },
  });
}

/** The CORS headers of an answer to a listed origin (never `Allow-Credentials`). */
function corsHeaders(origin: string): Record<string, string> {
  return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin', 'Access-Control-Expose-Headers': 'Retry-After, Idempotent-Replayed' };
}

/** The origin a feed's browser mode lists, exactly as sent; `null` never matches. */
function listedOrigin(feed: FeedOutput, origin: string | null): string | null {
  if (!feed.trigger.browser.enabled || origin === null || origin === 'null') return null;
  return feed.trigger.browser.allowedOrigins.includes(origin) ? origin : null;
}

/** Which trigger opened the run, or the 401/403 that refuses it. */
async function authenticate(request: Request, entry: TriggerEntry): Promise<{ trigger: FeedTrigger; keyName: string | null }> {
  const feed = entry.record.feed;
  const authorization = request.headers.get('Authorization');
  if (authorization !== null) {
    // A public key never authorizes a server request; a key with server mode off is refused too.
    if (!feed.trigger.server.enabled) throw triggerKeyInvalid();
    const key = bearerCredential(authorization);
    if (!key || key.length > TRIGGER_KEY_MAX_LENGTH || !key.startsWith(TRIGGER_KEY_PREFIX)) throw triggerKeyInvalid();
    const presented = encoder.encode(await sha256Hex(key));
    let found: string | null = null;
    for (const stored of entry.keys) {
      const hash = encoder.encode(stored.hash);
      if (hash.byteLength === presented.byteLength && crypto.subtle.timingSafeEqual(hash, presented)) found ??= stored.name;
    }
    if (found === null) throw triggerKeyInvalid();
    return { trigger: 'server', keyName: found };
  }
  if (feed.trigger.browser.enabled) {
    const origin = request.headers.get('Origin');
    if (origin === null) throw new AppError('origin-required', { detail: 'This form can only be sent from a page: the request has no Origin header.' });
    if (listedOrigin(feed, origin) === null) throw new AppError('origin-not-allowed', { detail: 'This form cannot be sent from this site.' });
    return { trigger: 'browser', keyName: null };
  }
  throw triggerKeyInvalid();
}

/** A preflight: 204, with CORS headers only for an origin the feed's browser mode lists. */
function preflight(feed: FeedOutput | null, origin: string | null): Response {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  const listed = feed ? listedOrigin(feed, origin) : null;
  if (listed !== null) {
    Object.assign(headers, {
      'Access-Control-Allow-Origin': listed,
      Vary: 'Origin',
      'Access-Control-Allow-Methods': 'POST',
      'Access-Control-Allow-Headers': 'Content-Type, Idempotency-Key, CF-Turnstile-Response',
      'Access-Control-Max-Age': '600',
    });
  }
  return new Response(null, { status: 204, headers });
}

/**
 * The headers of a JSON answer without problem headers, by content type and listed origin: a
 * `Response` copies a `Headers` it is given several times faster than it converts a record
 * (measured in workerd), and these few sets repeat on every run. Never changed once made.
 */
const jsonAnswerHeaders = new Map<string, Headers>();
/** What every trigger answer carries. */
const EVERY_ANSWER = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } as const;
const JSON_ANSWER_HEADERS_MAX = 1000;

function jsonHeaders(contentType: string, origin: string | null): Headers {
  const key = `${contentType}\n${origin ?? ''}`;
  let headers = jsonAnswerHeaders.get(key);
  if (headers === undefined) {
    if (jsonAnswerHeaders.size >= JSON_ANSWER_HEADERS_MAX) jsonAnswerHeaders.clear();
    headers = new Headers({ ...(origin !== null ? corsHeaders(origin) : {}), ...EVERY_ANSWER, 'Content-Type': contentType });
    jsonAnswerHeaders.set(key, headers);
  }
  return headers;
}

/**
 * The caller's answer as a response. `origin`: the listed origin its CORS headers name, if any;
 * `extra`: a problem's own headers (`Retry-After`, `Accept-Post`, ...).
 */
export function toResponse(answer: CallerAnswer, origin: string | null, extra: Record<string, string> | undefined): Response {
  if (answer.kind === 'json' && extra === undefined) {
    const headers = jsonHeaders(answer.problem ? 'application/problem+json' : 'application/json', origin);
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers });
  }
  // A plain record: one conversion into the runtime's headers, rather than one call per header.
  const headers: Record<string, string> = { ...extra, ...(origin !== null ? corsHeaders(origin) : {}), ...EVERY_ANSWER };
  switch (answer.kind) {
    case 'json':
      headers['Content-Type'] = answer.problem ? 'application/problem+json' : 'application/json';
      return new Response(JSON.stringify(answer.body), { status: answer.status, headers });
    case 'redirect':
      headers.Location = answer.location;
      headers['Referrer-Policy'] = 'no-referrer';
      return new Response(null, { status: 303, headers });
    case 'page': {
      const page = pageResponse(answer.page, answer.status, answer.runId);
      for (const [name, value] of Object.entries(headers)) if (!page.headers.has(name)) page.headers.set(name, value);
      return page;
    }
  }
}

function countryOf(request: Request): string | undefined {
  const country = (request as Request & { cf?: { country?: unknown } }).cf?.country;
  return typeof country === 'string' ? country : undefined;
}

/**
 * Whether a feed's templates may read `/meta/country` (a pointer to it, or to the whole `/meta`),
 * worked out once per feed object: the runtime parses `request.cf` on first access, a cost the
 * runs of other feeds need not pay.
 */
const readsCountry = perFeed((feed): boolean => /\/meta(?:\/country|(?![\w/~]))/.test(JSON.stringify(feed)));

/** Answers one trigger request (see the module header). */
async function answerHook(request: Request, env: Env, waitUntil: WaitUntil | undefined): Promise<Response> {
  const startedAt = Date.now();
  const url = new URL(request.url);
  const publicKey = url.pathname.slice(HOOK_PATH_PREFIX.length);
  const origin = request.headers.get('Origin');
  const entry = await triggerEntry(env, publicKey);
  const feed = entry && entry.record.feed.enabled ? entry.record.feed : null;
  if (request.method === 'OPTIONS') return preflight(feed, origin);
  const navigation = isNavigation(request);
  // A person's browser gets a page, not a problem document: a form posted to a feed that is gone,
  // or the trigger URL opened as a page. The status is the same as for a JSON caller.
  if (!entry || !feed) {
    if (navigation) return pageResponse('unavailable', 404, '');
    throw feedNotFound();
  }
  if (request.method !== 'POST') {
    if (navigation) return pageResponse('unavailable', 405, '', { Allow: 'POST, OPTIONS' });
    throw new AppError('method-not-allowed', { detail: 'Send the form with POST.', headers: { Allow: 'POST, OPTIONS' } });
  }

  const listed = listedOrigin(feed, origin);
  const meta: RunMeta = {
    runId: newRunId(),
    feedId: entry.record.id,
    receivedAt: new Date(startedAt).toISOString(),
    origin,
    contentType: null,
    country: readsCountry(feed) ? countryOf(request) : undefined,
  };

  let trigger: FeedTrigger = feed.trigger.browser.enabled && request.headers.get('Authorization') === null ? 'browser' : 'server';
  let keyName: string | null = null;
  let submission: Submission | null = null;
  let result: RunResult;
  let record: StoredConnection | null = null;
  // Whether the feed's own URLs may receive this caller (its origin is listed, or a key opened it).
  let trusted = false;
  try {
    ({ trigger, keyName } = await authenticate(request, entry));
    trusted = true;
    submission = await parseSubmission(request, feed);
    meta.contentType = submission.contentType;
    // The header first, then the form field (FEEDS.md §3.5); at most 255 visible ASCII characters.
    const idempotencyKey = request.headers.get('Idempotency-Key') ?? submission.reserved.idempotencyKey;
    if (idempotencyKey !== undefined) {
      if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
        throw new AppError('idempotency-key-invalid', { detail: 'An idempotency key is 1 to 255 visible ASCII characters.' });
      }
      meta.idempotencyKey = idempotencyKey;
    }
    record = (await readPathFor(env).relayEntry(feed.connection))?.record ?? null;
    result = await runFeed({
      feed,
      meta,
      submission,
      honeypot: true,
      send: true,
      readResponse: readsResponse(feed),
      record,
      env,
    });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    result = earlyResult(err, submission?.input ?? {});
  }

  const answer = callerAnswer(feed, result, meta, navigation, trusted);
  // CORS for browser mode only: a server-mode caller (a trigger key) gets none (FEEDS.md §3.3).
  const response = toResponse(answer, listed !== null && trigger === 'browser' ? listed : null, result.problem?.headers);
  const logged = runEntry({
    feed,
    meta,
    trigger,
    record,
    submission,
    result,
    answer: { status: response.status, ...(answer.kind === 'redirect' ? { location: answer.location } : {}) },
    startedAt,
    keyName,
    sensitive: sensitiveNames(feed),
  });
  console.log(runLogLine(logged, feed.connection));
  if (isLogged(feed, result.outcome)) recordCall(env, waitUntil, feed.connection, record?.id ?? null, logged);
  return response;
}

/** The trigger as the Worker's `fetch` calls it: every answer `no-store`, every failure a problem. */
export async function hookFetch(request: Request, env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | undefined): Promise<Response> {
  try {
    return await answerHook(request, env, waitUntilOf(ctx));
  } catch (err) {
    return toProblem(err, request);
  }
}

export const hookRoutes = new Hono<AppEnv>().all('*', (c) => hookFetch(c.req.raw, c.env, executionContextOf(c)));
