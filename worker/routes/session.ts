/** `/api/session`: sign in with the admin token (sets the session cookie), check, sign out. */
import { Hono } from 'hono';
import * as v from 'valibot';
import type { AppEnv } from '../app-env';
import { allowLoopback } from '../app-env';
import { endSession, isAdminToken, requireAdmin, startSession } from '../auth/admin';
import { AppError } from '../errors';
import { readJson, validate } from '../http';

const SignInSchema = v.strictObject({
  token: v.pipe(v.string('The token must be text'), v.nonEmpty('Enter the admin token'), v.maxLength(1024)),
});

export const sessionRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const { token } = validate(SignInSchema, await readJson(c));
    if (!(await isAdminToken(c.env, token))) {
      throw new AppError('unauthorized', { detail: 'That is not the admin token.' });
    }
    await startSession(c);
    return c.body(null, 204);
  })
  .get('/', requireAdmin(), (c) => c.json({ authenticated: true, insecureAllowLoopback: allowLoopback(c.env) }))
  .delete('/', requireAdmin(), async (c) => {
    await endSession(c);
    return c.body(null, 204);
  });
