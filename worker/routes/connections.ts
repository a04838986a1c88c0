/** `/api/connections`: list, create, read, replace and delete connections. */
import { Hono } from 'hono';
import type { ConnectionListAnswer } from '../../contract/answers';
import { ConnectionInputSchema, SLUG_PATTERN } from '../../contract/connection';
import type { AppEnv } from '../app-env';
import { allowLoopback } from '../app-env';
import { homeOf, type IfMatch, unwrap } from '../connections/home';
import { listOptions } from '../connections/read-path';
import { toView, type StoredConnection } from '../connections/records';
import { AppError } from '../errors';
import { readJson, validate } from '../http';

/** Throws `connection-not-found` for a slug that cannot exist, before any storage is touched. */
export function checkSlugParam(slug: string): string {
  if (!SLUG_PATTERN.test(slug)) throw new AppError('connection-not-found', { detail: `There is no connection "${slug}".` });
  return slug;
}

/** The stored connection, or `connection-not-found`; always current (read from its home). */
export async function requireConnection(env: Env, slug: string): Promise<StoredConnection> {
  const record = await homeOf(env, slug).getConnection(slug);
  if (!record) throw new AppError('connection-not-found', { detail: `There is no connection "${slug}".` });
  return record;
}

/** The strong entity tag of a version. */
function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * `If-Match` (RFC 9110 §13.1.1) as the home applies it: `null` when absent, `*`, or the strong tags'
 * values (a weak tag never matches). A header that is not a list of entity tags is 400.
 */
export function parseIfMatch(header: string | undefined): IfMatch {
  if (header === undefined) return null;
  const trimmed = header.trim();
  if (trimmed === '*') return '*';
  const tags: string[] = [];
  const pattern = /\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)/y;
  let at = 0;
  while (at < trimmed.length) {
    pattern.lastIndex = at;
    const m = pattern.exec(trimmed);
    if (!m) {
      throw new AppError('bad-request', {
        detail: 'If-Match must be * or a list of entity tags, e.g. If-Match: "3".',
        extensions: { errors: { 'If-Match': ['Not a list of entity tags'] } },
      });
    }
    if (!m[1]) tags.push(m[2]!);
    at = pattern.lastIndex;
  }
  if (tags.length === 0 && !/"/.test(trimmed)) {
    throw new AppError('bad-request', { detail: 'If-Match must be * or a list of entity tags, e.g. If-Match: "3".', extensions: { errors: { 'If-Match': ['Not a list of entity tags'] } } });
  }
  return tags;
}

export const connectionRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const options = listOptions({ limit: c.req.query('limit'), cursor: c.req.query('cursor'), q: c.req.query('q') });
    return c.json((await c.var.readPath.list(options)) satisfies ConnectionListAnswer);
  })
  .post('/', async (c) => {
    const input = validate(ConnectionInputSchema({ mode: 'create', allowLoopback: allowLoopback(c.env) }), await readJson(c));
    const record = unwrap(await homeOf(c.env, input.slug).create(input.slug, input));
    c.var.readPath.forget(record.slug);
    c.header('Location', `/api/connections/${record.slug}`);
    c.header('ETag', etagOf(record.version));
    return c.json(toView(record, new URL(c.req.url).origin), 201);
  })
  .get('/:slug', async (c) => {
    const record = await requireConnection(c.env, checkSlugParam(c.req.param('slug')));
    c.header('ETag', etagOf(record.version));
    return c.json(toView(record, new URL(c.req.url).origin));
  })
  .put('/:slug', async (c) => {
    const slug = checkSlugParam(c.req.param('slug'));
    const ifMatch = parseIfMatch(c.req.header('If-Match'));
    // A missing connection is 404 whatever the body says (the home checks again when it writes).
    await requireConnection(c.env, slug);
    const input = validate(ConnectionInputSchema({ mode: 'replace', allowLoopback: allowLoopback(c.env) }), await readJson(c));
    if (input.slug !== slug) {
      throw new AppError('slug-immutable', {
        detail: `The slug is permanent: this connection is "${slug}", the body says "${input.slug}".`,
        extensions: { errors: { slug: ['The slug cannot be changed after the connection is created'] } },
      });
    }
    const record = unwrap(await homeOf(c.env, slug).replace(slug, input, ifMatch));
    c.var.readPath.forget(slug);
    c.header('ETag', etagOf(record.version));
    return c.json(toView(record, new URL(c.req.url).origin));
  })
  .delete('/:slug', async (c) => {
    const slug = checkSlugParam(c.req.param('slug'));
    unwrap(await homeOf(c.env, slug).remove(slug));
    c.var.readPath.forget(slug);
    return c.body(null, 204);
  });
