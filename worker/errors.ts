/**
 * The error catalogue: every problem this service itself answers with, and the one builder that
 * turns an error into an `application/problem+json` response (RFC 9457).
 *
 * Unknown errors become a generic 500; their message and stack go to the log only.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';

/** Problem codes, kebab-case nouns; each is the last segment of the problem `type`. */
export const PROBLEMS = {
  'bad-request': { status: 400, title: 'Bad request' },
  'invalid-json': { status: 400, title: 'Request body is not valid JSON' },
  'validation-failed': { status: 400, title: 'Request body failed validation' },
  'slug-immutable': { status: 400, title: 'The slug of a connection cannot be changed' },
  'connection-immutable': { status: 400, title: 'The connection of a feed cannot be changed' },
  'not-oauth-connection': { status: 400, title: 'The connection does not use OAuth 2.0 client credentials' },
  'unsafe-path': { status: 400, title: 'Unsafe relay path' },
  'missing-field': { status: 400, title: 'A mapped value is missing' },
  'invalid-field': { status: 400, title: 'A mapped value has the wrong type' },
  'unsafe-header-value': { status: 400, title: 'A header value holds a line break or NUL' },
  'unsafe-target': { status: 400, title: 'A mapping target names a forbidden key' },
  'unsafe-redirect': { status: 400, title: 'A redirect URL would leave its path' },
  'mapping-conflict': { status: 400, title: 'Two mapping rows write the same place' },
  'mapping-index-gap': { status: 400, title: 'A mapping row writes past the end of an array' },
  'header-not-allowed': { status: 400, title: 'This header cannot be set by a feed' },
  'body-not-allowed': { status: 400, title: 'This method carries no body' },
  'idempotency-key-invalid': { status: 400, title: 'Idempotency key not valid' },
  'malformed-body': { status: 400, title: 'The request body could not be read' },
  'too-many-fields': { status: 400, title: 'The submission has too many fields' },
  'field-too-long': { status: 400, title: 'A submitted value is too long' },
  'invalid-submission': { status: 400, title: 'The submission failed validation' },
  'trigger-key-invalid': { status: 401, title: 'Missing or invalid trigger key' },
  unauthorized: { status: 401, title: 'Authentication required' },
  'forbidden-origin': { status: 403, title: 'Cross-origin request refused' },
  'path-not-allowed': { status: 403, title: 'Path not allowed for this connection' },
  'origin-not-allowed': { status: 403, title: 'Origin not allowed' },
  'origin-required': { status: 403, title: 'Origin header required' },
  'not-found': { status: 404, title: 'Not found' },
  'connection-not-found': { status: 404, title: 'Connection not found' },
  'key-not-found': { status: 404, title: 'Relay key not found' },
  'call-not-found': { status: 404, title: 'Call not found' },
  'run-not-found': { status: 404, title: 'Feed run not found' },
  'feed-not-found': { status: 404, title: 'Feed not found' },
  'trigger-key-not-found': { status: 404, title: 'Trigger key not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'slug-taken': { status: 409, title: 'Slug already in use' },
  'connection-in-use': { status: 409, title: 'Feeds use this connection' },
  'version-conflict': { status: 412, title: 'The resource was changed meanwhile' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'body-too-large': { status: 413, title: 'Submission too large' },
  'file-too-large': { status: 413, title: 'Uploaded file too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'unsupported-content-type': { status: 415, title: 'Unsupported content type' },
  'file-type-not-allowed': { status: 415, title: 'File type not allowed' },
  'internal-error': { status: 500, title: 'Internal error' },
  'token-endpoint-error': { status: 502, title: 'Token endpoint error' },
  'upstream-unreachable': { status: 502, title: 'Upstream unreachable' },
  'upstream-bad-status': { status: 502, title: 'Upstream answered a status that cannot be relayed' },
  'upstream-rejected': { status: 502, title: 'The upstream API refused the request' },
  'upstream-error': { status: 502, title: 'The upstream API failed' },
  'feed-misconfigured': { status: 502, title: 'The feed cannot run as configured' },
  'token-endpoint-timeout': { status: 504, title: 'Token endpoint timed out' },
  'upstream-timeout': { status: 504, title: 'Upstream timed out' },
  'misconfigured': { status: 500, title: 'Service misconfigured' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** Base of every problem `type` URI. */
export const PROBLEM_TYPE_BASE = 'https://edge-api-connector.dev/problems/';

export interface AppErrorOptions {
  /** Human-readable explanation for this occurrence; goes on the wire. */
  detail?: string;
  /** Extra problem members (e.g. `errors`), serialized as they are. */
  extensions?: Record<string, unknown>;
  /** Context for the log only; never serialized. */
  internal?: unknown;
  /** Response headers to add (e.g. `Allow`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
}

/** The one error type of this service: a problem code plus what the answer should say. */
export class AppError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly extensions: Record<string, unknown> | undefined;
  readonly internal: unknown;
  private extraHeaders: Record<string, string> | undefined;

  constructor(code: ProblemCode, options: AppErrorOptions = {}) {
    super(options.detail ?? PROBLEMS[code].title);
    this.name = 'AppError';
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.detail = options.detail;
    this.extensions = options.extensions;
    this.internal = options.internal;
    this.extraHeaders = options.headers;
  }

  /** Response headers to add to the problem (e.g. `Allow`, `WWW-Authenticate`). */
  get headers(): Record<string, string> | undefined {
    return this.extraHeaders;
  }

  /** Adds response headers (e.g. CORS) to this error in place, keeping its class and data. */
  withHeaders(headers: Record<string, string>): this {
    this.extraHeaders = { ...this.extraHeaders, ...headers };
    return this;
  }
}

/** Builds the `application/problem+json` response for a code. */
export function problemResponse(code: ProblemCode, options: AppErrorOptions = {}): Response {
  const { status, title } = PROBLEMS[code];
  const body: Record<string, unknown> = {
    type: PROBLEM_TYPE_BASE + code,
    title,
    status,
    detail: options.detail ?? title,
    ...options.extensions,
  };
  const headers = new Headers(options.headers);
  headers.set('Content-Type', 'application/problem+json');
  headers.set('Cache-Control', 'no-store');
  headers.set('X-Content-Type-Options', 'nosniff');
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * Turns any thrown value into a problem response; the single exit for errors (`app.onError`, and
 * the relay's `fetch` that bypasses Hono's routing). `at` names the request in the log.
 */
export function toProblem(err: unknown, at?: Context | Request): Response {
  if (err instanceof AppError) {
    if (err.internal !== undefined || err.status >= 500) {
      console.warn(`[${err.code}]`, describeInternal(err.internal));
    }
    return problemResponse(err.code, err);
  }
  if (err instanceof HTTPException) {
    // Hono's own exceptions (e.g. from helpers); map the status onto our catalogue.
    const code = codeForStatus(err.status);
    return problemResponse(code, {});
  }
  const request = at === undefined ? undefined : at instanceof Request ? at : at.req.raw;
  const where = request ? `${request.method} ${new URL(request.url).pathname}` : '';
  console.error('[internal-error]', where, err instanceof Error ? err.stack ?? err.message : String(err));
  return problemResponse('internal-error', { detail: 'An unexpected error occurred.' });
}

function codeForStatus(status: number): ProblemCode {
  const found = (Object.keys(PROBLEMS) as ProblemCode[]).find((code) => PROBLEMS[code].status === status);
  return found ?? 'internal-error';
}

function describeInternal(internal: unknown): string {
  if (internal === undefined) return '';
  if (internal instanceof Error) return `${internal.name}: ${internal.message}`;
  return typeof internal === 'string' ? internal : JSON.stringify(internal);
}
