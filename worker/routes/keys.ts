/** `/api/connections/<slug>/keys`: create, list and revoke the relay keys of a connection. */
import { Hono } from 'hono';
import * as v from 'valibot';
import type { AppEnv } from '../app-env';
import { readJson, validate } from '../http';
import { checkSlugParam } from './connections';

/** Longest relay key name. */
export const KEY_NAME_MAX_LENGTH = 100;

/** Body of `POST /api/connections/<slug>/keys`. */
export const RelayKeyInputSchema = v.strictObject({
  name: v.pipe(
    v.string('Name must be text'),
    v.trim(),
    v.nonEmpty('Name is required'),
    v.maxLength(KEY_NAME_MAX_LENGTH, `Name must be at most ${KEY_NAME_MAX_LENGTH} characters`),
  ),
});
export type RelayKeyInput = v.InferInput<typeof RelayKeyInputSchema>;

export const keyRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const keys = await c.var.store.listKeys(checkSlugParam(c.req.param('slug') ?? ''));
    return c.json({ keys: keys.map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, lastUsedAt })) });
  })
  .post('/', async (c) => {
    const slug = checkSlugParam(c.req.param('slug') ?? '');
    const input = validate(RelayKeyInputSchema, await readJson(c));
    const { record, key } = await c.var.store.createKey(slug, input.name);
    // No `Location`: a single key has no GET (the list at `…/keys` is where it shows).
    return c.json({ id: record.id, name: record.name, key, createdAt: record.createdAt }, 201);
  })
  .delete('/:id', async (c) => {
    await c.var.store.deleteKey(checkSlugParam(c.req.param('slug') ?? ''), c.req.param('id'));
    return c.body(null, 204);
  });
