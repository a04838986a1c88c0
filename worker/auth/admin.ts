/**
 * Admin authentication for `/api`: a bearer `ADMIN_TOKEN`, or a session cookie set by
 * `POST /api/session`. Cookie-authenticated unsafe requests must also be same-origin.
 * Token comparison is constant-time.
 *
 * Sessions are server-side: the cookie carries a random id, signed with a key bound to the admin
 * token (a forged or foreign cookie costs no KV read; rotating the token ends every session), and
 * the session lives in KV (`session:<sha256(id)>`, see the store) until it expires or sign-out
 * deletes it.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { AppError } from '../errors';
import { isLoopbackHost } from '../../contract/connection';
import { timingSafeEqualStrings } from '../connections/seal';
import { SessionStore } from './sessions';
import { bearerCredential } from '../http';
import type { AppEnv } from '../app-env';

const SESSION_COOKIE = 'eac_session';
const SESSION_TTL_SECONDS = 12 * 60 * 60;
const ADMIN_TOKEN_MIN_LENGTH = 16;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The configured admin token, or a `misconfigured` error when it is missing or weak. */
function adminToken(env: Env): string {
  const token = env.ADMIN_TOKEN;
  if (!token || token.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new AppError('misconfigured', {
      detail: 'The service is not configured: ADMIN_TOKEN is missing or too short.',
      internal: `ADMIN_TOKEN must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters`,
    });
  }
  return token;
}

/** The key that signs session cookies; bound to the admin token, so rotating it ends all sessions. */
function sessionSecret(env: Env): string {
  return `eac-session-v1:${adminToken(env)}`;
}

function unauthorized(detail: string): AppError {
  return new AppError('unauthorized', { detail, headers: { 'WWW-Authenticate': 'Bearer realm="admin"' } });
}

/** True when `presented` is the admin token, compared in constant time. */
export function isAdminToken(env: Env, presented: string): Promise<boolean> {
  return timingSafeEqualStrings(presented, adminToken(env));
}

/** Cookies are `Secure` except on a loopback host (local development over plain http). */
function secureCookie(c: Context<AppEnv>): boolean {
  return !isLoopbackHost(new URL(c.req.url).hostname);
}

function sessions(c: Context<AppEnv>): SessionStore {
  return new SessionStore(c.env.CONNECTIONS);
}

/** Starts a session: stores it and sets the signed, HttpOnly, SameSite=Strict cookie carrying its id. */
export async function startSession(c: Context<AppEnv>): Promise<void> {
  const secret = sessionSecret(c.env);
  const id = await sessions(c).create(SESSION_TTL_SECONDS);
  await setSignedCookie(c, SESSION_COOKIE, id, secret, {
    path: '/api',
    httpOnly: true,
    sameSite: 'Strict',
    secure: secureCookie(c),
    maxAge: SESSION_TTL_SECONDS,
  });
}

/** Ends the session: deletes it from KV (so the cookie is worthless everywhere) and removes the cookie. */
export async function endSession(c: Context<AppEnv>): Promise<void> {
  const id = await sessionId(c);
  if (id !== null) await sessions(c).delete(id);
  deleteCookie(c, SESSION_COOKIE, { path: '/api', secure: secureCookie(c), httpOnly: true, sameSite: 'Strict' });
}

/** The session id of a correctly signed cookie, or `null`. */
async function sessionId(c: Context<AppEnv>): Promise<string | null> {
  const value = await getSignedCookie(c, sessionSecret(c.env), SESSION_COOKIE);
  return typeof value === 'string' && value !== '' ? value : null;
}

async function hasValidSession(c: Context<AppEnv>): Promise<boolean> {
  const id = await sessionId(c);
  return id !== null && (await sessions(c).isActive(id));
}

/** Refuses a cookie-authenticated unsafe request that is not provably same-origin. */
function assertSameOrigin(c: Context<AppEnv>): void {
  const origin = c.req.header('Origin');
  const site = c.req.header('Sec-Fetch-Site');
  const own = new URL(c.req.url).origin;
  if (origin === undefined && site === undefined) {
    throw new AppError('forbidden-origin', { detail: 'Cookie-authenticated changes need an Origin or Sec-Fetch-Site header.' });
  }
  if (origin !== undefined && origin !== own) {
    throw new AppError('forbidden-origin', { detail: 'The request comes from another origin.' });
  }
  if (site !== undefined && site !== 'same-origin') {
    throw new AppError('forbidden-origin', { detail: 'The request comes from another site.' });
  }
}

/** Middleware: lets the request through only with the admin token or a valid session. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const authorization = c.req.header('Authorization');
    if (authorization !== undefined) {
      const token = bearerCredential(authorization);
      if (token === null || !(await isAdminToken(c.env, token))) throw unauthorized('The admin token is not valid.');
      return next();
    }
    if (!(await hasValidSession(c))) throw unauthorized('Sign in with the admin token.');
    if (UNSAFE_METHODS.has(c.req.method)) assertSameOrigin(c);
    return next();
  };
}
