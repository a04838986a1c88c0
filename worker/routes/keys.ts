/** `/api/connections/<slug>/keys`: create, list and revoke the relay keys of a connection. */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import type { NewRelayKeyAnswer, RelayKeyAnswer } from '../../contract/answers';
import { RelayKeyInputSchema } from '../../contract/connection';
import { readJson, validate } from '../http';
import { checkSlugParam } from './connections';

export const keyRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const keys = await c.var.store.listKeys(checkSlugParam(c.req.param('slug') ?? ''));
    return c.json({ keys: keys.map(({ id, name, createdAt, lastUsedAt }): RelayKeyAnswer => ({ id, name, createdAt, lastUsedAt })) });
  })
  .post('/', async (c) => {
    const slug = checkSlugParam(c.req.param('slug') ?? '');
    const input = validate(RelayKeyInputSchema, await readJson(c));
    const { record, key } = await c.var.store.createKey(slug, input.name);
    // No `Location`: a single key has no GET (the list at `…/keys` is where it shows).
    return c.json({ id: record.id, name: record.name, key, createdAt: record.createdAt } satisfies NewRelayKeyAnswer, 201);
  })
  .delete('/:id', async (c) => {
    await c.var.store.deleteKey(checkSlugParam(c.req.param('slug') ?? ''), c.req.param('id'));
    return c.body(null, 204);
  });
