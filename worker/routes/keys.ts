/** `/api/connections/<slug>/keys`: create, list and revoke the relay keys of a connection. */
import { Hono } from 'hono';
import type { NewRelayKeyAnswer, RelayKeyAnswer } from '../../contract/answers';
import { RelayKeyInputSchema } from '../../contract/connection';
import type { AppEnv } from '../app-env';
import { homeOf, unwrap } from '../connections/home';
import { readJson, validate } from '../http';
import { checkSlugParam } from './connections';

export const keyRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const slug = checkSlugParam(c.req.param('slug') ?? '');
    const keys = unwrap(await homeOf(c.env, slug).listKeys(slug));
    return c.json({ keys: keys.map(({ id, name, createdAt, lastUsedAt }): RelayKeyAnswer => ({ id, name, createdAt, lastUsedAt })) });
  })
  .post('/', async (c) => {
    const slug = checkSlugParam(c.req.param('slug') ?? '');
    const input = validate(RelayKeyInputSchema, await readJson(c));
    const { record, key } = unwrap(await homeOf(c.env, slug).createKey(slug, input.name));
    c.var.readPath.forget(slug);
    // No `Location`: a single key has no GET (the list at `…/keys` is where it shows).
    return c.json({ id: record.id, name: record.name, key, createdAt: record.createdAt } satisfies NewRelayKeyAnswer, 201);
  })
  .delete('/:id', async (c) => {
    const slug = checkSlugParam(c.req.param('slug') ?? '');
    unwrap(await homeOf(c.env, slug).deleteKey(slug, c.req.param('id')));
    c.var.readPath.forget(slug);
    return c.body(null, 204);
  });
