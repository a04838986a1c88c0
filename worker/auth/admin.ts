/**
 * Admin authentication for `/api`: a bearer `ADMIN_TOKEN`, or a signed session cookie set by
 * `POST /api/session`. Cookie-authenticated unsafe requests must also be same-origin.
 * Token comparison is constant-time.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { AppError } from '../errors';
import { randomId, timingSafeEqualStrings } from '../connections/seal';
import type { AppEnv } from '../app-env';

export const SESSION_COOKIE = 'eac_session';
export const SESSION_TTL_SECONDS = 12 * 60 * 60;
export const ADMIN_TOKEN_MIN_LENGTH = 16;
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

function isLocalHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** Starts a session: sets the signed, HttpOnly, SameSite=Strict cookie. */
export async function startSession(c: Context<AppEnv>): Promise<void> {
  const expires = Math.floor(Date.now() / 1000) + SESSION_TTL_SECONDS;
  const url = new URL(c.req.url);
  await setSignedCookie(c, SESSION_COOKIE, `${expires}.${randomId(12)}`, sessionSecret(c.env), {
    path: '/api',
    httpOnly: true,
    sameSite: 'Strict',
    secure: !isLocalHost(url.hostname),
    maxAge: SESSION_TTL_SECONDS,
  });
}

/** Ends the session in this browser (the cookie is signed and stateless; it is removed). */
export function endSession(c: Context<AppEnv>): void {
  const url = new URL(c.req.url);
  deleteCookie(c, SESSION_COOKIE, { path: '/api', secure: !isLocalHost(url.hostname), httpOnly: true, sameSite: 'Strict' });
}

async function hasValidSession(c: Context<AppEnv>): Promise<boolean> {
  const value = await getSignedCookie(c, sessionSecret(c.env), SESSION_COOKIE);
  if (!value) return false;
  const expires = Number(value.split('.')[0]);
  return Number.isFinite(expires) && expires * 1000 > Date.now();
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
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
      if (!match?.[1] || !(await isAdminToken(c.env, match[1]))) throw unauthorized('The admin token is not valid.');
      return next();
    }
    if (!(await hasValidSession(c))) throw unauthorized('Sign in with the admin token.');
    if (UNSAFE_METHODS.has(c.req.method)) assertSameOrigin(c);
    return next();
  };
}
