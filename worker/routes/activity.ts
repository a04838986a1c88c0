/**
 * A connection's activity: `GET /api/connections/<slug>/calls` (newest first, filters, cursor),
 * `GET .../calls/<id>`, `GET .../stats?window=1h|24h|7d`, and `POST .../request`, one request sent
 * through the relay core from the dashboard (logged as kind `test`).
 */
import { Hono } from 'hono';
import {
  CALL_KINDS,
  CALL_OUTCOMES,
  STATS_WINDOWS,
  TestRequestSchema,
  type CallOutcome,
  type StatsWindow,
  type TestRequestAnswer,
} from '../../contract/activity';
import { relayCallEntry } from '../activity/call-entry';
import type { CallFilters, RunFilters } from '../activity/call-store';
import type { AppEnv } from '../app-env';
import { allowLoopback } from '../app-env';
import { homeOf, unwrap } from '../connections/home';
import { openSecret } from '../connections/records';
import { Sealer } from '../connections/seal';
import { AppError, PROBLEMS } from '../errors';
import { firstBytes, readJson, validate } from '../http';
import { TokenDoor } from '../oauth/token-door';
import { sendUpstream, type RelayTrace } from '../relay/relay';
import { headersOnTheWire } from '../relay/headers';
import { checkSlugParam, requireConnection } from './connections';

const CALLS_DEFAULT_LIMIT = 100;
const CALLS_MAX_LIMIT = 500;
/** How much of a test request's answer body is shown. */
const TEST_BODY_MAX_BYTES = 64 * 1024;

const upstreamFetch = (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init);

export function badQuery(errors: Record<string, string[]>): AppError {
  return new AppError('bad-request', { detail: 'The query parameters are not valid.', extensions: { errors } });
}

/**
 * The paging filters of a call-log listing (`limit`, `cursor`, `outcome`), checked; a problem
 * goes into `errors` under the parameter's name.
 */
export function pageFilters(
  query: (name: string) => string | undefined,
  queries: (name: string) => string[] | undefined,
  limits: { default: number; max: number },
  errors: Record<string, string[]>,
): RunFilters {
  const rawLimit = query('limit');
  const limit = rawLimit === undefined ? limits.default : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
  if (!(limit >= 1 && limit <= limits.max)) errors.limit = [`Use a whole number from 1 to ${limits.max}`];
  const cursor = query('cursor');
  if (cursor !== undefined && cursor !== '' && !/^\d{1,15}$/.test(cursor)) errors.cursor = ['Not a cursor of this listing'];
  const outcomes = (queries('outcome') ?? []).flatMap((o) => o.split(',')).filter(Boolean);
  if (outcomes.some((o) => !(CALL_OUTCOMES as readonly string[]).includes(o))) errors.outcome = [`One of ${CALL_OUTCOMES.join(', ')}`];
  return { limit, before: cursor ? Number(cursor) : undefined, outcomes: outcomes as CallOutcome[] };
}

/** The listing's filters from the query string, checked. */
function callFilters(query: (name: string) => string | undefined, queries: (name: string) => string[] | undefined): CallFilters {
  const errors: Record<string, string[]> = {};
  const page = pageFilters(query, queries, { default: CALLS_DEFAULT_LIMIT, max: CALLS_MAX_LIMIT }, errors);
  const kinds = (queries('kind') ?? []).flatMap((k) => k.split(',')).filter(Boolean);
  if (kinds.some((k) => !(CALL_KINDS as readonly string[]).includes(k))) errors.kind = [`One of ${CALL_KINDS.join(', ')}`];
  const rawSince = query('since');
  const since = rawSince === undefined ? undefined : Date.parse(rawSince);
  if (rawSince !== undefined && (!/^\d{4}-\d\d-\d\dT/.test(rawSince) || Number.isNaN(since))) errors.since = ['An ISO 8601 time, e.g. 2026-12-01T10:00:00Z'];
  if (Object.keys(errors).length > 0) throw badQuery(errors);
  return { ...page, kinds, since };
}

/** The first `max` bytes of a body as text, and whether there was more. */
async function readStart(body: ReadableStream<Uint8Array> | null, max: number): Promise<{ text: string; truncated: boolean }> {
  if (body === null) return { text: '', truncated: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= max) {
    const { done } = await reader.read().catch(() => ({ done: true }));
    truncated = size > max || !done;
    await reader.cancel().catch(() => undefined);
  }
  const bytes = firstBytes(chunks, Math.min(size, max));
  return { text: new TextDecoder().decode(bytes), truncated };
}

export const activityRoutes = new Hono<AppEnv>()
  .get('/:slug/calls', async (c) => {
    const slug = checkSlugParam(c.req.param('slug'));
    const filters = callFilters((n) => c.req.query(n), (n) => c.req.queries(n));
    return c.json(unwrap(await homeOf(c.env, slug).listCalls(slug, filters)));
  })
  .get('/:slug/calls/:id', async (c) => {
    const slug = checkSlugParam(c.req.param('slug'));
    const id = c.req.param('id');
    if (!/^c_[A-Za-z0-9_-]{1,40}$/.test(id)) throw new AppError('call-not-found', { detail: 'There is no call with this id.' });
    return c.json(unwrap(await homeOf(c.env, slug).getCall(slug, id)));
  })
  .get('/:slug/stats', async (c) => {
    const slug = checkSlugParam(c.req.param('slug'));
    const window = c.req.query('window') ?? '24h';
    if (!(STATS_WINDOWS as readonly string[]).includes(window)) throw badQuery({ window: [`One of ${STATS_WINDOWS.join(', ')}`] });
    return c.json(unwrap(await homeOf(c.env, slug).callStats(slug, window as StatsWindow)));
  })
  .post('/:slug/request', async (c) => {
    const slug = checkSlugParam(c.req.param('slug'));
    const input = validate(TestRequestSchema, await readJson(c));
    if ((input.method === 'GET' || input.method === 'HEAD') && input.body !== undefined && input.body !== '') {
      throw new AppError('validation-failed', { detail: 'A GET or HEAD request has no body.', extensions: { errors: { body: ['Leave the body empty for GET and HEAD, or choose POST, PUT or PATCH'] } } });
    }
    const record = await requireConnection(c.env, slug);
    const query = new URLSearchParams((input.query ?? []).map((q) => [q.name, q.value])).toString();
    const headers = new Headers();
    for (const h of input.headers ?? []) headers.append(h.name, h.value);
    if (input.body && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
    const request = new Request(`https://relay.invalid/relay/${slug}${input.path}${query ? `?${query}` : ''}`, {
      method: input.method,
      headers,
      ...(input.body ? { body: input.body } : {}),
    });
    const door = new TokenDoor(c.env);
    let tokenStep: TestRequestAnswer['token'];
    const trace: RelayTrace = {};
    const startedAt = Date.now();
    let response: Response | null = null;
    let error: unknown = null;
    try {
      response = await sendUpstream(request, record, input.path, query ? `?${query}` : '', {
        relayEntry: async () => null,
        touchKey: () => undefined,
        openSecret: (r) => openSecret(Sealer.fromSecretsKey(c.env.SECRETS_KEY), r),
        allowLoopback: allowLoopback(c.env),
        tokenProvider: () => ({
          getAccessToken: async (r) => {
            const t0 = Date.now();
            const issued = await door.getAccessToken(r);
            tokenStep ??= { fetched: !issued.fromCache, durationMs: Date.now() - t0 };
            return issued;
          },
          invalidate: (r, token) => door.invalidate(r, token),
        }),
        fetch: upstreamFetch,
        waitUntil: () => undefined,
        trace,
      });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      error = err;
    }
    const body = response ? await readStart(response.body, TEST_BODY_MAX_BYTES) : { text: '', truncated: false };
    const durationMs = Date.now() - startedAt;
    const entry = relayCallEntry({ request, record, tail: input.path, query, keyName: null, startedAt, endedAt: startedAt + durationMs, response, error, upstream: trace.upstream, kind: 'test' });
    await homeOf(c.env, slug).appendCalls(slug, [entry], record.id);
    const answer: TestRequestAnswer = {
      status: response?.status ?? (error as AppError).status,
      headers: response ? headersOnTheWire(response.headers) : [],
      body: body.text,
      truncated: body.truncated,
      durationMs,
      ...(tokenStep ? { token: tokenStep } : {}),
      ...(error instanceof AppError ? { problem: { code: error.code, title: PROBLEMS[error.code].title, detail: error.detail ?? PROBLEMS[error.code].title } } : {}),
    };
    return c.json(answer);
  });
