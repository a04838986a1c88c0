/**
 * The dashboard's API client: the only code in `web/` that calls `fetch`.
 *
 * Every call goes to the same origin with the session cookie. Any failure, from the service or the
 * network, is thrown as one `ApiProblemError` carrying the RFC 9457 problem; a 401 also tells the
 * app (through `onUnauthorized`) so that it can return to sign-in.
 */
import type { ConnectionListAnswer, ConnectionSummary, NewRelayKeyAnswer, RelayKeyAnswer, TokenStatusAnswer, TokenTestAnswer } from '../../contract/answers';
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

  constructor(problem: { status: number; title: string; detail?: string; type?: string; errors?: FieldErrors }) {
    super(problem.detail || problem.title);
    this.name = 'ApiProblemError';
    this.status = problem.status;
    this.type = problem.type ?? 'about:blank';
    this.title = problem.title;
    this.detail = problem.detail ?? '';
    this.errors = problem.errors ?? {};
  }
}

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

interface RequestOptions {
  body?: unknown;
  /** For calls where 401 is an answer, not a lost session (sign-in, session check). */
  expectUnauthorized?: boolean;
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
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
  return new ApiProblemError({
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

export async function listConnections(): Promise<ConnectionSummary[]> {
  const body = await request<ConnectionListAnswer>('GET', '/api/connections');
  return body.connections;
}

export function getConnection(slug: string): Promise<ConnectionView> {
  return request('GET', connectionPath(slug));
}

export function createConnection(input: ConnectionInput): Promise<ConnectionView> {
  return request('POST', '/api/connections', { body: input });
}

/** Replaces a connection; a secret left out of `input` keeps the stored one. */
export function replaceConnection(slug: string, input: ConnectionInput): Promise<ConnectionView> {
  return request('PUT', connectionPath(slug), { body: input });
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
