/**
 * The token client: the only code that talks to token endpoints. One client-credentials grant
 * request (RFC 6749 §4.4) built and validated by `oauth4webapi`, with every way it can fail turned
 * into one typed `TokenEndpointError` that carries the server's `error` and `error_description`
 * as data and nothing else of the answer.
 *
 * @see RFC 6749 §4.4 (client credentials grant), §2.3.1 (client password authentication), §5 (token response)
 */
import * as oauth from 'oauth4webapi';
import { type ClientAuthMethod, isLoopbackHost, urlProblem } from '../../contract/connection';
import { AppError } from '../errors';
import { encodedPattern, escapeRegExp, REDACTED } from '../redact';

/** Default time a token request may take, response body included. */
export const TOKEN_REQUEST_TIMEOUT_MS = 10_000;
/** Longest `error_description` carried from a token endpoint. */
const ERROR_DESCRIPTION_MAX_LENGTH = 500;
/** Longest `error` code carried from a token endpoint; a longer one is replaced by `UNKNOWN_ERROR_CODE`. */
const ERROR_CODE_MAX_LENGTH = 100;
/** Stands for an `error` that is not an RFC 6749 error code (characters outside NQSCHAR, too long, not a string). */
export const UNKNOWN_ERROR_CODE = 'unknown_error';
/** Shortest Base64 run of a part of the secret that is redacted (shorter runs would match by chance). */
const MIN_BASE64_RUN_LENGTH = 8;
/** Largest error body read to find `error` / `error_description` in an answer oauth4webapi did not parse. */
const ERROR_BODY_MAX_BYTES = 16 * 1024;

/** What one token request needs: the connection's OAuth settings and its clear client secret. */
export interface TokenRequest {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  clientAuth: ClientAuthMethod;
  scope?: string | undefined;
  tokenParams?: Record<string, string> | undefined;
  /** Lifetime assumed when the answer has no `expires_in`, in seconds. */
  defaultLifetimeSeconds: number;
}

/** How the token client reaches the network. */
export interface TokenClientOptions {
  /** Lets `http:` token URLs reach loopback hosts (the `INSECURE_ALLOW_LOOPBACK` var); never in production. */
  allowLoopback: boolean;
  /** Timeout of the whole request, answer included (default `TOKEN_REQUEST_TIMEOUT_MS`). */
  timeoutMs?: number | undefined;
  /** `fetch` to use (default: the global one). */
  fetch?: typeof fetch | undefined;
}

/** A successful token response, validated. Never logged, never answered. */
export interface TokenResponse {
  accessToken: string;
  /** Always `bearer` (compared case-insensitively; anything else is refused). */
  tokenType: 'bearer';
  /** Lifetime in seconds: the server's `expires_in`, or the connection's default when it sent none. */
  expiresIn: number;
  /** True when the server sent `expires_in`. */
  expiresInFromServer: boolean;
  /** The granted scope when the server said it. */
  scope?: string;
}

/** Why a token request failed; the sub-reason of a `token-endpoint-error` / `token-endpoint-timeout` problem. */
export type TokenFailureReason =
  /** The server answered an OAuth error (`error`, `error_description`), usually 400 or 401. */
  | 'oauth-error'
  /** The server answered 5xx. */
  | 'server-error'
  /** The server answered another unexpected status (404, 405, 3xx, a 4xx without an OAuth error). */
  | 'unexpected-status'
  /** The answer is not JSON (an HTML page, text, a truncated body). */
  | 'invalid-json'
  /** The answer is JSON but not a token response (no `access_token`, bad `expires_in`, ...). */
  | 'invalid-token-response'
  /** The token type is not `bearer` (e.g. `mac`, `dpop`, `N_A`). */
  | 'unsupported-token-type'
  /** The host could not be reached (DNS, refused connection, TLS, reset). */
  | 'unreachable'
  /** No complete answer within the timeout. */
  | 'timeout'
  /** The Token URL may not be requested from here (loopback or `http:` outside local development). */
  | 'url-not-allowed';

const REASON_DETAIL: Record<TokenFailureReason, string> = {
  'oauth-error': 'The token endpoint refused the request',
  'server-error': 'The token endpoint failed with a server error',
  'unexpected-status': 'The token endpoint answered with an unexpected HTTP status',
  'invalid-json': 'The token endpoint did not answer with JSON',
  'invalid-token-response': 'The token endpoint answered JSON that is not a valid token response',
  'unsupported-token-type': 'The token endpoint issued a token type other than Bearer',
  unreachable: 'The token endpoint could not be reached',
  timeout: 'The token endpoint did not answer in time',
  'url-not-allowed': 'The Token URL is not allowed here',
};

/** What a failed token request tells: carried on the error and into problem answers. Never the body. */
export interface TokenFailure {
  reason: TokenFailureReason;
  /** HTTP status of the token endpoint's answer, when there was one. */
  status?: number;
  /** The server's OAuth `error` code. */
  error?: string;
  /** The server's `error_description`. */
  errorDescription?: string;
  /** For `unsupported-token-type`: the type the server sent (lowercased). */
  tokenType?: string;
}

/**
 * A token request that failed: a `token-endpoint-error` (502) or, for a timeout,
 * `token-endpoint-timeout` (504) problem whose extensions carry the failure as data.
 */
export class TokenEndpointError extends AppError {
  readonly failure: TokenFailure;

  constructor(failure: TokenFailure, internal?: string) {
    const status = failure.status !== undefined ? ` (HTTP ${failure.status})` : '';
    const oauthError = failure.error ? `: ${failure.error}${failure.errorDescription ? ` (${failure.errorDescription})` : ''}` : '';
    super(failure.reason === 'timeout' ? 'token-endpoint-timeout' : 'token-endpoint-error', {
      detail: `${REASON_DETAIL[failure.reason]}${status}${oauthError}.`,
      extensions: {
        reason: failure.reason,
        ...(failure.status !== undefined ? { tokenEndpointStatus: failure.status } : {}),
        ...(failure.error !== undefined ? { error: failure.error } : {}),
        ...(failure.errorDescription !== undefined ? { errorDescription: failure.errorDescription } : {}),
      },
      internal: internal ?? failure.reason,
    });
    this.name = 'TokenEndpointError';
    this.failure = failure;
  }
}

/**
 * Requests an access token with the client credentials grant.
 * @throws TokenEndpointError on any failure; its message and data never hold the secret or the body.
 * @see RFC 6749 §4.4
 */
export async function requestToken(request: TokenRequest, options: TokenClientOptions): Promise<TokenResponse> {
  const urlRefusal = urlProblem(request.tokenUrl, { allowLoopback: options.allowLoopback, allowQuery: true });
  if (urlRefusal) throw new TokenEndpointError({ reason: 'url-not-allowed' }, urlRefusal);
  const url = new URL(request.tokenUrl);

  const as: oauth.AuthorizationServer = { issuer: url.origin, token_endpoint: request.tokenUrl };
  const client: oauth.Client = { client_id: request.clientId };
  // oauth4webapi form-urlencodes id and secret before Base64 (RFC 6749 §2.3.1, Appendix B).
  const clientAuth =
    request.clientAuth === 'client_secret_post' ? oauth.ClientSecretPost(request.clientSecret) : oauth.ClientSecretBasic(request.clientSecret);
  const parameters = new URLSearchParams();
  for (const [name, value] of Object.entries(request.tokenParams ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    parameters.set(name, value);
  }
  if (request.scope) parameters.set('scope', request.scope);

  const signal = AbortSignal.timeout(options.timeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS);
  const requestOptions: oauth.ClientCredentialsGrantRequestOptions = {
    signal,
    [oauth.customFetch]: options.fetch ?? ((input, init) => fetch(input, init)),
    // Plain http only to a loopback host, and only where the deployment allows loopback at all.
    ...(options.allowLoopback && isLoopbackHost(url.hostname) ? { [oauth.allowInsecureRequests]: true } : {}),
  };

  let response: Response;
  try {
    response = await oauth.clientCredentialsGrantRequest(as, client, clientAuth, parameters, requestOptions);
  } catch (err) {
    throw transportFailure(err, signal);
  }

  let json: oauth.TokenEndpointResponse;
  try {
    json = await oauth.processClientCredentialsResponse(as, client, response);
  } catch (err) {
    throw await responseFailure(err, response, signal, request.clientSecret);
  }

  // oauth4webapi lowercases token_type and lets `dpop` through; this service sends Bearer only.
  if (json.token_type !== 'bearer') {
    throw new TokenEndpointError(
      { reason: 'unsupported-token-type', status: response.status, tokenType: safeTokenType(json.token_type) },
      `token_type ${safeTokenType(json.token_type)}`,
    );
  }
  // expires_in: oauth4webapi accepts a number or a numeric string (parseFloat) and refuses
  // negative, NaN and infinite values; 0 is allowed and means "do not cache".
  const expiresInFromServer = json.expires_in !== undefined;
  const expiresIn = expiresInFromServer ? Math.floor(json.expires_in as number) : request.defaultLifetimeSeconds;
  return {
    accessToken: json.access_token,
    tokenType: 'bearer',
    expiresIn,
    expiresInFromServer,
    ...(typeof json.scope === 'string' ? { scope: json.scope } : {}),
  };
}

/** A failure before any answer arrived: timeout, unreachable, or a refused URL. */
function transportFailure(err: unknown, signal: AbortSignal): TokenEndpointError {
  if (signal.aborted) return new TokenEndpointError({ reason: 'timeout' }, describe(err));
  if (err instanceof oauth.OperationProcessingError && err.code === oauth.HTTP_REQUEST_FORBIDDEN) {
    return new TokenEndpointError({ reason: 'url-not-allowed' }, describe(err));
  }
  return new TokenEndpointError({ reason: 'unreachable' }, describe(err));
}

/** A failure once an answer arrived: the OAuth error, a status, or what is wrong with the body. */
async function responseFailure(err: unknown, response: Response, signal: AbortSignal, secret: string): Promise<TokenEndpointError> {
  const status = response.status;
  // A body that stops arriving aborts its read with the same signal.
  if (signal.aborted) return new TokenEndpointError({ reason: 'timeout', status }, describe(err));

  if (err instanceof oauth.ResponseBodyError) {
    return oauthErrorFailure(status, err.error, err.error_description, secret);
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    // RFC 6749 §5.2: a 401 to Basic authentication carries WWW-Authenticate; oauth4webapi stops at
    // the header, so the OAuth error is read from the (still unread) body, then from the challenge.
    const fromBody = await readOAuthError(response);
    const params = err.cause[0]?.parameters;
    const error = fromBody?.error ?? params?.error;
    if (error) return oauthErrorFailure(status, error, fromBody?.error_description ?? params?.error_description, secret);
    return new TokenEndpointError({ reason: 'unexpected-status', status }, describe(err));
  }
  if (err instanceof oauth.UnsupportedOperationError) {
    // Thrown for a token_type other than bearer/dpop; its cause holds the body (with the token):
    // only token_type is taken from it, and the cause is never logged.
    const tokenType = (err.cause as { body?: { token_type?: unknown } } | undefined)?.body?.token_type;
    return new TokenEndpointError(
      { reason: 'unsupported-token-type', status, ...(tokenType !== undefined ? { tokenType: safeTokenType(tokenType) } : {}) },
      err.message,
    );
  }
  if (err instanceof oauth.OperationProcessingError) {
    if (status !== 200) {
      // 5xx, 3xx (redirects are not followed), or a 4xx whose body was not an OAuth error in JSON:
      // some servers still put one there, with a wrong content type or a 5xx status.
      const found = await readOAuthError(response);
      if (found) return oauthErrorFailure(status, found.error, found.error_description, secret, status >= 500 ? 'server-error' : 'oauth-error');
      return new TokenEndpointError({ reason: status >= 500 ? 'server-error' : 'unexpected-status', status }, describe(err));
    }
    if (err.code === oauth.RESPONSE_IS_NOT_JSON || err.code === oauth.PARSE_ERROR) {
      return new TokenEndpointError({ reason: 'invalid-json', status }, describe(err));
    }
    return new TokenEndpointError({ reason: 'invalid-token-response', status }, describe(err));
  }
  if (err instanceof TypeError || isNetworkError(err)) {
    // The body read failed mid-way (connection reset).
    return new TokenEndpointError({ reason: 'unreachable', status }, describe(err));
  }
  return new TokenEndpointError({ reason: 'invalid-token-response', status }, describe(err));
}

function oauthErrorFailure(
  status: number,
  error: unknown,
  description: unknown,
  secret: string,
  reason: TokenFailureReason = 'oauth-error',
): TokenEndpointError {
  const redact = secretRedactor(secret);
  const failure: TokenFailure = { reason, status, error: safeErrorCode(error, redact) };
  const text = safeDescription(description, redact);
  if (text !== undefined) failure.errorDescription = text;
  return new TokenEndpointError(failure, `${status} ${failure.error}`);
}

/** `error` / `error_description` from an unread body, if it is a JSON object holding them. */
async function readOAuthError(response: Response): Promise<{ error: string; error_description?: unknown } | undefined> {
  if (response.bodyUsed) return undefined;
  try {
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > ERROR_BODY_MAX_BYTES) {
      await response.body?.cancel();
      return undefined;
    }
    const text = await response.text();
    if (text.length > ERROR_BODY_MAX_BYTES) return undefined;
    const json: unknown = JSON.parse(text);
    if (json && typeof json === 'object' && !Array.isArray(json)) {
      const { error, error_description } = json as Record<string, unknown>;
      if (typeof error === 'string' && error.length > 0) return { error, error_description };
    }
  } catch {
    // Not JSON: there is no OAuth error to carry.
  }
  return undefined;
}

/** A token type as data (for the hint): printable ASCII only, bounded. */
function safeTokenType(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '').slice(0, ERROR_CODE_MAX_LENGTH);
}

/**
 * An OAuth `error` as data: a string of NQSCHAR (%x20-21 / %x23-5B / %x5D-7E) no longer than
 * `ERROR_CODE_MAX_LENGTH` with the secret redacted, else `UNKNOWN_ERROR_CODE`.
 * @see RFC 6749 §5.2, Appendix A.7
 */
function safeErrorCode(value: unknown, redact: (text: string) => string): string {
  if (typeof value !== 'string' || !/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/.test(value)) return UNKNOWN_ERROR_CODE;
  const code = redact(value);
  return code.length <= ERROR_CODE_MAX_LENGTH ? code : UNKNOWN_ERROR_CODE;
}

/** An `error_description` as data: the secret redacted, control characters removed, bounded. */
function safeDescription(value: unknown, redact: (text: string) => string): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return redact(value).replace(/[\u0000-\u001F\u007F]/g, ' ').slice(0, ERROR_DESCRIPTION_MAX_LENGTH);
}

/** Characters that end a token of a text (a word, a URL, a Base64 run): a redaction takes the token whole. */
const TOKEN_BOUNDARY = /[\s"'<>()[\]{},;]/;

/**
 * A function that replaces the client secret in a text: as it is; percent-encoded
 * (`encodeURIComponent`, either hex case) or form-encoded (`+` for a space), in any mix; and in
 * Base64 or base64url, of the secret and of its form-encoded forms (as in a Basic header), at any
 * alignment inside a longer Base64 text. The whole token holding it goes (up to the next space,
 * quote, bracket, comma or semicolon): the characters of a Base64 run around the secret decode to
 * the bytes beside it (`Basic Y2lkOmI0…` would show `cid:b4`, the client id and the secret's first
 * characters), and an encoding may hang over the end of a match.
 */
function secretRedactor(secret: string): (text: string) => string {
  if (secret === '') return (text) => text;
  const byteForms = new Set([secret, encodeURIComponent(secret), new URLSearchParams([['', secret]]).toString().slice(1), oauthFormEncode(secret)]);
  const runs = new Set<string>();
  for (const form of byteForms) for (const run of base64Runs(new TextEncoder().encode(form))) runs.add(run);
  // Longest first: an alternation takes the first alternative that matches.
  const base64 = [...runs].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp([encodedPattern(secret), ...base64].join('|'), 'g');
  const inToken = (char: string | undefined) => char !== undefined && !TOKEN_BOUNDARY.test(char);
  // Each match widened to its token by hand: a pattern with the widening in it backtracks badly on long texts.
  return (text) => {
    let out = '';
    let done = 0;
    for (const match of text.matchAll(pattern)) {
      let start = match.index;
      let end = start + match[0].length;
      if (end <= done) continue;
      if (start < done) start = done;
      while (start > done && inToken(text[start - 1])) start--;
      while (inToken(text[end])) end++;
      out += text.slice(done, start) + REDACTED;
      done = end;
    }
    return out + text.slice(done);
  };
}

/** The form encoding oauth4webapi applies to id and secret before Base64 (RFC 6749 §2.3.1, Appendix B). */
function oauthFormEncode(text: string): string {
  return encodeURIComponent(text).replace(/(?:[-_.!~*'()]|%20)/g, (found) =>
    found === '%20' ? '+' : `%${found.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Base64 and base64url texts that `bytes` leave in any Base64 text holding them: their own
 * encoding (with and without padding), and for each of the three alignments the run of whole
 * 3-byte groups.
 */
function base64Runs(bytes: Uint8Array): string[] {
  const whole = bytesToBase64(bytes);
  const runs = [whole, whole.replace(/=+$/, '')];
  for (let start = 0; start < 3; start++) {
    const length = Math.floor((bytes.length - start) / 3) * 3;
    const run = length > 0 ? bytesToBase64(bytes.subarray(start, start + length)) : '';
    if (run.length >= MIN_BASE64_RUN_LENGTH) runs.push(run);
  }
  return runs.flatMap((run) => [run, run.replace(/\+/g, '-').replace(/\//g, '_')]).filter((run) => run.length > 0);
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}


function isNetworkError(err: unknown): boolean {
  return err instanceof Error && /network|connect|socket|reset|tls|dns/i.test(err.message);
}

/** Name and message of an error for the log; oauth4webapi's `cause` (which may hold the body) is left out. */
function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}${'code' in err && typeof err.code === 'string' ? ` ${err.code}` : ''}: ${err.message}`;
  return String(err);
}
