/**
 * The dashboard's API client: the only code in `web/` that calls `fetch` (the feeds' calls, in
 * `feeds-api.ts`, go through its `request`).
 *
 * Every call goes to the same origin with the session cookie. Any failure, from the service or the
 * network, is thrown as one `ApiProblemError` carrying the RFC 9457 problem; a 401 also tells the
 * app (through `onUnauthorized`) so that it can return to sign-in.
 */
import type { Call, CallKind, CallListAnswer, CallOutcome, StatsAnswer, StatsWindow, TestRequestAnswer, TestRequestInput } from '../../contract/activity';
import type { ConnectionListAnswer, NewRelayKeyAnswer, RelayKeyAnswer, TokenStatusAnswer, TokenTestAnswer } from '../../contract/answers';
import type { ConnectionInput, ConnectionView } from '../../contract/connection';
import { maySessionExist, rememberSession } from './session-hint';

/** Field path (e.g. `auth.clientSecret`) to messages, as the API's `errors` member. */
export type FieldErrors = Record<string, string[]>;

/** An RFC 9457 problem answered by the API, or made up here for a network failure (status 0). */
export class ApiProblemError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldErrors;
  /** Members of the problem beyond the standard ones (e.g. `version` of a `version-conflict`). */
  readonly extensions: Record<string, unknown>;

  constructor(problem: { status: number; title: string; detail?: string; type?: string; errors?: FieldErrors; extensions?: Record<string, unknown> }) {
    super(problem.detail || problem.title);
    this.name = 'ApiProblemError';
    this.status = problem.status;
    this.type = problem.type ?? 'about:blank';
    this.title = problem.title;
    this.detail = problem.detail ?? '';
    this.errors = problem.errors ?? {};
    this.extensions = problem.extensions ?? {};
  }

  /** The problem code: the last segment of `type` (`.../problems/version-conflict`), or '' for `about:blank`. */
  get code(): string {
    return this.type === 'about:blank' ? '' : this.type.slice(this.type.lastIndexOf('/') + 1);
  }
}

/** True for the 412 of a save made against a version someone else has replaced meanwhile. */
export function isVersionConflict(error: unknown): error is ApiProblemError {
  return error instanceof ApiProblemError && error.status === 412;
}

/** True for the 404 of a read of something that is not there (deleted, or a mistyped address). */
export function isNotFound(error: unknown): error is ApiProblemError {
  return error instanceof ApiProblemError && error.status === 404;
}

/** The `If-Match` of a save made against `version` (none without one). */
export const ifMatch = (version?: number) => (version === undefined ? undefined : { 'If-Match': `"${version}"` });

export interface Session {
  authenticated: true;
  insecureAllowLoopback: boolean;
}

export type TestResult = TokenTestAnswer;
export type TokenStatus = TokenStatusAnswer;
export type RelayKey = RelayKeyAnswer;
export type NewRelayKey = NewRelayKeyAnswer;

let unauthorizedHandler: (() => void) | undefined;

/** Registers what happens when any call answers 401 (the app returns to sign-in). */
export function onUnauthorized(handler: (() => void) | undefined): void {
  unauthorizedHandler = handler;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** For calls where 401 is an answer, not a lost session (sign-in, session check). */
  expectUnauthorized?: boolean;
}

/** One call to the API: JSON in and out, any failure thrown as an `ApiProblemError`. */
export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...options.headers };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiProblemError({
      status: 0,
      title: 'Network error',
      detail: 'The service could not be reached. Check that it is running, then try again.',
    });
  }
  if (response.ok) {
    if (response.status === 204) return undefined as T;
    try {
      const text = await response.text();
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      throw new ApiProblemError({ status: response.status, title: 'Unexpected response', detail: 'The service answered with something that is not JSON.' });
    }
  }
  const problem = await readProblem(response);
  if (response.status === 401) rememberSession(false);
  if (response.status === 401 && !options.expectUnauthorized) unauthorizedHandler?.();
  throw problem;
}

async function readProblem(response: Response): Promise<ApiProblemError> {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = await response.json();
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (e.g. a proxy's HTML page): the status line is all there is.
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const { type: _type, title: _title, status: _status, detail: _detail, errors: _errors, ...extensions } = body;
  return new ApiProblemError({
    extensions,
    status: response.status,
    title: text(body.title) ?? (response.statusText || `HTTP ${response.status}`),
    detail: text(body.detail),
    type: text(body.type),
    errors: isFieldErrors(body.errors) ? body.errors : undefined,
  });
}

function isFieldErrors(value: unknown): value is FieldErrors {
  return (
    !!value &&
    typeof value === 'object' &&
    Object.values(value).every((list) => Array.isArray(list) && list.every((m) => typeof m === 'string'))
  );
}

const connectionPath = (slug: string) => `/api/connections/${encodeURIComponent(slug)}`;

/** The current session, or `null` when not signed in (known without a request after a sign-out). */
export async function getSession(): Promise<Session | null> {
  if (!maySessionExist()) return null;
  try {
    const session = await request<Session>('GET', '/api/session', { expectUnauthorized: true });
    rememberSession(true);
    return session;
  } catch (err) {
    if (err instanceof ApiProblemError && err.status === 401) return null;
    throw err;
  }
}

/** Signs in with the admin token; the service sets an HttpOnly session cookie. */
export async function signIn(token: string): Promise<void> {
  await request('POST', '/api/session', { body: { token }, expectUnauthorized: true });
  rememberSession(true);
}

/** Ends the session. */
export async function signOut(): Promise<void> {
  rememberSession(false);
  await request('DELETE', '/api/session', { expectUnauthorized: true });
}

/** What a page of a listing asks for; absent members are left out of the query. */
export interface ListConnectionsOptions {
  limit?: number;
  cursor?: string;
  /** The start of a slug (lowercase letters, digits and hyphens). */
  q?: string;
}

export const queryString = (params: [string, string | number | undefined][]) => {
  const search = new URLSearchParams();
  for (const [name, value] of params) if (value !== undefined && value !== '') search.append(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
};

/** One page of the listing: a page may be short or empty while `cursor` is not null; only null ends it. */
export function listConnections(options: ListConnectionsOptions = {}): Promise<ConnectionListAnswer> {
  return request('GET', `/api/connections${queryString([['limit', options.limit], ['cursor', options.cursor], ['q', options.q]])}`);
}

export function getConnection(slug: string): Promise<ConnectionView> {
  return request('GET', connectionPath(slug));
}

export function createConnection(input: ConnectionInput): Promise<ConnectionView> {
  return request('POST', '/api/connections', { body: input });
}

/**
 * Replaces a connection; a secret left out of `input` keeps the stored one. With `version` (the
 * loaded View's) the save is refused with a 412 `version-conflict` when someone saved meanwhile.
 */
export function replaceConnection(slug: string, input: ConnectionInput, version?: number): Promise<ConnectionView> {
  return request('PUT', connectionPath(slug), { body: input, headers: ifMatch(version) });
}

export function deleteConnection(slug: string): Promise<void> {
  return request('DELETE', connectionPath(slug));
}

/** Requests a token with the stored credentials; the answer never holds the token. */
export function testConnection(slug: string): Promise<TestResult> {
  return request('POST', `${connectionPath(slug)}/test`);
}

export function getTokenStatus(slug: string): Promise<TokenStatus> {
  return request('GET', `${connectionPath(slug)}/token`);
}

export function purgeToken(slug: string): Promise<void> {
  return request('DELETE', `${connectionPath(slug)}/token`);
}

export async function listKeys(slug: string): Promise<RelayKey[]> {
  const body = await request<{ keys: RelayKey[] }>('GET', `${connectionPath(slug)}/keys`);
  return body.keys;
}

export function createKey(slug: string, name: string): Promise<NewRelayKey> {
  return request('POST', `${connectionPath(slug)}/keys`, { body: { name } });
}

export function revokeKey(slug: string, id: string): Promise<void> {
  return request('DELETE', `${connectionPath(slug)}/keys/${encodeURIComponent(id)}`);
}

/** Filters of the call log; each listed outcome or kind is one more allowed value. */
export interface ListCallsOptions {
  limit?: number;
  cursor?: string;
  outcomes?: readonly CallOutcome[];
  kinds?: readonly CallKind[];
  since?: string;
}

/** One page of a connection's call log, newest first; only a null `cursor` ends it. */
export function listCalls(slug: string, options: ListCallsOptions = {}): Promise<CallListAnswer> {
  const params: [string, string | number | undefined][] = [
    ['limit', options.limit],
    ['cursor', options.cursor],
    ...(options.outcomes ?? []).map((o): [string, string] => ['outcome', o]),
    ...(options.kinds ?? []).map((k): [string, string] => ['kind', k]),
    ['since', options.since],
  ];
  return request('GET', `${connectionPath(slug)}/calls${queryString(params)}`);
}

export function getCall(slug: string, id: string): Promise<Call> {
  return request('GET', `${connectionPath(slug)}/calls/${encodeURIComponent(id)}`);
}

/** Calls over time by outcome, with latency percentiles. */
export function getStats(slug: string, window: StatsWindow): Promise<StatsAnswer> {
  return request('GET', `${connectionPath(slug)}/stats?window=${window}`);
}

/** Sends one request through the relay core with the connection's credentials (logged as kind `test`). */
export function sendTestRequest(slug: string, input: TestRequestInput): Promise<TestRequestAnswer> {
  return request('POST', `${connectionPath(slug)}/request`, { body: input });
}
