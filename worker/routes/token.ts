/**
 * Token test and status of a connection: `POST /api/connections/<slug>/test`,
 * `GET` and `DELETE /api/connections/<slug>/token`. Never answers the token itself.
 */
import { Hono } from 'hono';
import type { TokenStatusAnswer, TokenTestAnswer } from '../../contract/answers';
import type { AppEnv } from '../app-env';
import { requireOAuth, TokenDoor } from '../oauth/token-door';
import { TokenEndpointError, TOKEN_REQUEST_TIMEOUT_MS } from '../oauth/token-client';
import { hintFor } from '../oauth/token-hints';
import { checkSlugParam, requireConnection } from './connections';

export const tokenRoutes = new Hono<AppEnv>()
  .post('/:slug/test', async (c) => {
    const record = requireOAuth(await requireConnection(c.env, checkSlugParam(c.req.param('slug'))));
    const outcome = await new TokenDoor(c.env).test(record);
    if (outcome.ok) {
      const { tokenType, expiresIn, scope, durationMs } = outcome;
      return c.json({ ok: true, tokenType, expiresIn, scope, durationMs } satisfies TokenTestAnswer);
    }
    const { failure, durationMs } = outcome;
    return c.json({
      ok: false,
      status: failure.status ?? null,
      // The server's OAuth error when it sent one, else this service's reason (kebab-case).
      error: failure.error ?? failure.reason,
      errorDescription: failure.errorDescription ?? new TokenEndpointError(failure).detail ?? null,
      hint: hintFor(failure, {
        clientAuth: record.auth.clientAuth,
        tokenUrl: record.auth.tokenUrl,
        scope: record.auth.scope,
        tokenParams: record.auth.tokenParams,
        timeoutMs: TOKEN_REQUEST_TIMEOUT_MS,
      }),
      durationMs,
    } satisfies TokenTestAnswer);
  })
  .get('/:slug/token', async (c) => {
    const record = requireOAuth(await requireConnection(c.env, checkSlugParam(c.req.param('slug'))));
    return c.json((await new TokenDoor(c.env).status(record)) satisfies TokenStatusAnswer);
  })
  .delete('/:slug/token', async (c) => {
    const record = requireOAuth(await requireConnection(c.env, checkSlugParam(c.req.param('slug'))));
    await new TokenDoor(c.env).purge(record);
    return c.body(null, 204);
  });
