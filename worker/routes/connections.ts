/** `/api/connections`: list, create, read, replace and delete connections. */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { allowLoopback } from '../app-env';
import { ConnectionInputSchema, SLUG_PATTERN } from '../../contract/connection';
import { toView } from '../connections/store';
import { AppError } from '../errors';
import { readJson, validate } from '../http';

/** Throws `connection-not-found` for a slug that cannot exist, before any KV read. */
export function checkSlugParam(slug: string): string {
  if (!SLUG_PATTERN.test(slug)) throw new AppError('connection-not-found', { detail: `There is no connection "${slug}".` });
  return slug;
}

export const connectionRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const origin = new URL(c.req.url).origin;
    const records = await c.var.store.list();
    return c.json({ connections: records.map((r) => toView(r, origin)) });
  })
  .post('/', async (c) => {
    const input = validate(ConnectionInputSchema({ mode: 'create', allowLoopback: allowLoopback(c.env) }), await readJson(c));
    const record = await c.var.store.create(input);
    const origin = new URL(c.req.url).origin;
    c.header('Location', `/api/connections/${record.slug}`);
    return c.json(toView(record, origin), 201);
  })
  .get('/:slug', async (c) => {
    const record = await c.var.store.require(checkSlugParam(c.req.param('slug')));
    return c.json(toView(record, new URL(c.req.url).origin));
  })
  .put('/:slug', async (c) => {
    const slug = checkSlugParam(c.req.param('slug'));
    // A missing connection is 404 whatever the body says (the store checks again when it writes).
    await c.var.store.require(slug);
    const body = await readJson(c);
    const input = validate(ConnectionInputSchema({ mode: 'replace', allowLoopback: allowLoopback(c.env) }), body);
    if (input.slug !== slug) {
      throw new AppError('slug-immutable', {
        detail: `The slug is permanent: this connection is "${slug}", the body says "${input.slug}".`,
        extensions: { errors: { slug: ['The slug cannot be changed after the connection is created'] } },
      });
    }
    const record = await c.var.store.replace(slug, input);
    return c.json(toView(record, new URL(c.req.url).origin));
  })
  .delete('/:slug', async (c) => {
    await c.var.store.delete(checkSlugParam(c.req.param('slug')));
    return c.body(null, 204);
  });
