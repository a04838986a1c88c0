/**
 * The forward step of the relay: one caller request sent to one upstream URL with the
 * connection's credential, and the upstream answer turned into the caller's answer.
 *
 * A function of (request, upstream URL, credential, options) with `fetch` and the deadline
 * injected. Bodies stream both ways; redirects are never followed; an OAuth token refused with
 * 401, whatever its age, is reported to the token engine and the request retried once with the
 * token it answers then, if that differs and the body can be replayed (buffered up to
 * `RELAY_MAX_REPLAY_BYTES`).
 */
import { AppError } from '../errors';
import type { Credential, TokenSource } from './credentials';
import { queryCredentialChanges, withQueryParameter } from './credentials';
import { dropEncodedLength, droppedResponseHeaders, dropRuntimeOwned, upstreamRequestHeaders } from './headers';

/** Largest request body kept in memory so that it can be sent a second time after a 401. */
export const RELAY_MAX_REPLAY_BYTES = 1024 * 1024;

/** A running timeout: `expired` rejects with `reason` when it expires; `clear` stops it. */
export interface Deadline {
  expired: Promise<never>;
  reason: unknown;
  clear(): void;
}

/** How the forward step reaches the network and how long it waits. */
export interface ForwardOptions {
  fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /** Time allowed until the upstream's response headers arrive (the body then streams). */
  timeoutMs: number;
  /** Starts a deadline (default: a timer); tests may inject one. */
  deadline?: (timeoutMs: number) => Deadline;
  /** Bodies up to this size are buffered for a retry (default `RELAY_MAX_REPLAY_BYTES`). */
  maxReplayBytes?: number;
  /** Told what happened upstream, for the call log: the status answered, a retry, a token requested. */
  observe?: (facts: ForwardFacts) => void;
  /** Headers the relay adds to the caller's answer (CORS, `Vary`). */
  answerHeaders?: readonly AnswerHeader[] | undefined;
}

/** A header added to the caller's answer: set, or appended to what the upstream sent. */
export interface AnswerHeader {
  name: string;
  value: string;
  append?: boolean;
}

/** What the forward step tells the call log about one call. */
export interface ForwardFacts {
  upstreamStatus: number;
  retried: boolean;
  tokenFetched: boolean;
}

/** What a `timerDeadline` rejects with (compared by identity; never leaves the forward step). */
const TIMED_OUT = new DOMException('The upstream did not answer in time.', 'TimeoutError');

/**
 * A timer raced against the upstream fetch, cleared once the headers arrive, so a long download
 * is not cut off. No `AbortSignal` goes to `fetch`: a signal (`AbortController` or
 * `AbortSignal.timeout`) with its timer measured about 5 µs of isolate CPU per call, the raced
 * timer about 1.3 µs, and a signal also makes the runtime watch it during the fetch. When the
 * timer wins, the caller gets its 504 and the runtime cancels the abandoned subrequest when the
 * request ends (checked in workerd: the upstream sees its connection closed then).
 */
export function timerDeadline(timeoutMs: number): Deadline {
  const reason = TIMED_OUT;
  let expire!: (reason: unknown) => void;
  const expired = new Promise<never>((_, reject) => {
    expire = reject;
  });
  const timer = setTimeout(() => expire(reason), timeoutMs);
  return { expired, reason, clear: () => clearTimeout(timer) };
}

interface PreparedBody {
  body: ReadableStream<Uint8Array> | ArrayBuffer | Uint8Array | FormData | null;
  replayable: boolean;
}

/** Reads up to `limit` bytes of a body of unknown length; past that, the rest streams on. */
async function bufferPrefix(stream: ReadableStream<Uint8Array>, limit: number): Promise<PreparedBody> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= limit) {
    const { done, value } = await reader.read();
    if (done) {
      const all = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.byteLength;
      }
      return { body: all, replayable: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body: rest, replayable: false };
}

const NO_BODY: PreparedBody = { body: null, replayable: true };

/** The request body as sent upstream: streamed, or buffered when a retry may need it again. */
async function prepareBody(request: Request, stream: ReadableStream<Uint8Array>, replayLimit: number): Promise<PreparedBody> {
  if (replayLimit <= 0) return { body: stream, replayable: false };
  const declared = request.headers.get('Content-Length');
  if (declared !== null && /^\d+$/.test(declared)) {
    return Number(declared) <= replayLimit ? { body: await request.arrayBuffer(), replayable: true } : { body: stream, replayable: false };
  }
  return bufferPrefix(stream, replayLimit);
}

async function getToken(tokens: TokenSource): Promise<{ accessToken: string; fromCache: boolean }> {
  try {
    return await tokens.get();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('token-endpoint-error', { detail: 'No access token could be obtained for this connection.', internal: err instanceof Error ? err.name : 'error' });
  }
}

function setHeader(headers: Headers, name: string, value: string): void {
  try {
    headers.set(name, value);
  } catch {
    // The value is not a valid header value (e.g. holds a line break); never echo it.
    throw new AppError('misconfigured', { detail: 'The credential of this connection cannot be sent in an HTTP header.' });
  }
}

/**
 * For the methods a cache may answer or store (GET, HEAD): never from or into a cache shared with
 * other callers or connections, as the platform's cache keys on the URL, not on the credential set
 * here. Accepted at this project's compatibility date (older dates need the `cache_option_enabled`
 * flag). Per the Fetch standard it also adds `Cache-Control`/`Pragma: no-cache` to the upstream
 * request unless the caller sent those. Not set for other methods, which no cache stores: here
 * the option costs about 15 µs of workerd CPU per subrequest (profiled: the runtime builds and
 * serializes a `cf` blob, which Miniflare's outbound Worker reads again).
 */
const NO_STORE: RequestInit = { cache: 'no-store' };

const NULL_BODY_STATUSES = new Set([204, 205, 304]);
/** The statuses a `Response` can carry (RFC 9110 §15: final statuses; the Fetch standard's range). */
const MIN_RELAYED_STATUS = 200;
const MAX_RELAYED_STATUS = 599;

/**
 * The caller's answer: the upstream status, its headers less those that may not travel back, the
 * relay's own (`answerHeaders`), and the body stream as it is. An API key sent in the query is
 * taken out of every answer header (an upstream may echo the request URL in any of them). When
 * nothing is to change (the usual case) the upstream's answer is relayed as the runtime gave it;
 * otherwise one copy is made and changed. A status a `Response` cannot carry is
 * `upstream-bad-status`.
 */
function toCallerResponse(upstream: Response, credential: Credential, answerHeaders: readonly AnswerHeader[] | undefined, head: boolean): Response {
  const status = upstream.status;
  // A `Response` carries only a final status, 200 to 599 (the Fetch standard): an upstream that
  // answers 1xx as its final answer (`100`, `101` without an upgrade, `103`) or a number past 599
  // cannot be relayed as it is. Never a 500: this is the upstream's fault, told as such.
  if (status < MIN_RELAYED_STATUS || status > MAX_RELAYED_STATUS) {
    void upstream.body?.cancel().catch(() => undefined);
    throw new AppError('upstream-bad-status', {
      detail: `The upstream API answered with HTTP status ${status}, which cannot be relayed (only 200 to 599 can).`,
      internal: `status ${status}`,
    });
  }
  const dropped = droppedResponseHeaders(upstream.headers, head);
  const redacted = credential.type === 'query' ? queryCredentialChanges(upstream.headers, credential) : undefined;
  if (dropped === undefined && redacted === undefined && answerHeaders === undefined) return upstream;
  const response = new Response(NULL_BODY_STATUSES.has(status) ? null : upstream.body, {
    status,
    statusText: upstream.statusText,
    headers: upstream.headers,
  });
  const headers = response.headers;
  dropEncodedLength(headers);
  dropRuntimeOwned(headers);
  if (redacted) for (const [name, value] of redacted) value === null ? headers.delete(name) : headers.set(name, value);
  // After the redactions, so that none of them brings back a dropped header.
  if (dropped) for (const name of dropped) headers.delete(name);
  if (answerHeaders) for (const { name, value, append } of answerHeaders) append ? headers.append(name, value) : headers.set(name, value);
  return response;
}

/**
 * A request the Worker builds itself (a feed run): its own headers, which the caller never set
 * (names checked when the feed was saved, values when rendered), and a body in memory, which can
 * be sent again after a 401. The credential is still set last.
 */
export interface OutgoingRequest {
  method: string;
  headers: Headers;
  body: Uint8Array | FormData | null;
}

/** Sends `request` to `upstream` with `credential`, retrying once on a 401 to an OAuth token. */
export async function forward(request: Request | OutgoingRequest, upstream: URL, credential: Credential, options: ForwardOptions): Promise<Response> {
  const own = !(request instanceof Request);
  const baseHeaders = own ? request.headers : upstreamRequestHeaders(request.headers);
  const token = credential.type === 'token' ? (credential.tokens.cached() ?? (await getToken(credential.tokens))) : undefined;
  let body: PreparedBody;
  if (own) body = { body: request.body, replayable: true };
  else {
    const stream = request.body;
    body = stream === null ? NO_BODY : await prepareBody(request, stream, credential.type === 'token' ? (options.maxReplayBytes ?? RELAY_MAX_REPLAY_BYTES) : 0);
  }
  const startDeadline = options.deadline ?? timerDeadline;
  const cacheable = request.method === 'GET' || request.method === 'HEAD';

  const attempt = async (accessToken: string | undefined, headers: Headers): Promise<Response> => {
    let url = upstream.href;
    if (credential.type === 'header') setHeader(headers, credential.name, credential.value);
    else if (credential.type === 'query') url = withQueryParameter(url, credential.name, credential.value);
    else if (accessToken !== undefined) setHeader(headers, 'Authorization', `Bearer ${accessToken}`);
    const deadline = startDeadline(options.timeoutMs);
    try {
      const fetched = options.fetch(url, {
        method: request.method,
        headers,
        body: body.body,
        redirect: 'manual',
        ...(cacheable ? NO_STORE : undefined),
      });
      return await Promise.race([fetched, deadline.expired]);
    } catch (err) {
      if (err === deadline.reason) {
        throw new AppError('upstream-timeout', {
          detail: `The upstream API did not answer within ${options.timeoutMs} ms.`,
          internal: `${upstream.origin} timed out after ${options.timeoutMs} ms`,
        });
      }
      // Query strings are cut from the message: they may carry an API key.
      const reason = err instanceof Error ? `${err.name}: ${err.message.replace(/\?\S*/g, '?…')}` : 'error';
      // Only the origin goes to the log: the full URL may carry an API key in its query.
      throw new AppError('upstream-unreachable', { detail: 'The upstream API could not be reached.', internal: `${upstream.origin}: ${reason}` });
    } finally {
      deadline.clear();
    }
  };

  const tokenSource = credential.type === 'token' ? credential.tokens : undefined;
  // The credential is set on these headers last, with `set`: a retry overwrites the refused token.
  let response = await attempt(token?.accessToken, baseHeaders);
  let retried = false;
  let tokenFetched = token !== undefined && !token.fromCache;
  if (response.status === 401 && tokenSource && token && body.replayable) {
    const refused = token.accessToken;
    let fresh: { accessToken: string; fromCache: boolean };
    try {
      await tokenSource.invalidate(refused);
      fresh = await getToken(tokenSource);
    } catch (err) {
      await response.body?.cancel().catch(() => undefined);
      throw err;
    }
    // Only a different token can change the answer; never more than this one retry.
    if (fresh.accessToken !== refused) {
      await response.body?.cancel().catch(() => undefined);
      retried = true;
      tokenFetched ||= !fresh.fromCache;
      response = await attempt(fresh.accessToken, baseHeaders);
    }
  }
  options.observe?.({ upstreamStatus: response.status, retried, tokenFetched });
  return toCallerResponse(response, credential, options.answerHeaders, request.method === 'HEAD');
}
