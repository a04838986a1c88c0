/**
 * `/api/feeds`: list, create, read, replace and delete feeds, their server trigger keys, and the
 * rotation of their public key (FEEDS.md §3.9). A feed lives in its connection's home; the route
 * finds that home through the `feedconn:<id>` index.
 */
import { Hono } from 'hono';
import { RelayKeyInputSchema, SLUG_PATTERN } from '../../contract/connection';
import { feedView, validateFeedInput } from '../../contract/feed';
import type { FeedAnswer, FeedListAnswer } from '../../contract/feed-api';
import { allowLoopback, type AppEnv } from '../app-env';
import { homeOf, unwrap } from '../connections/home';
import { listOptions } from '../connections/read-path';
import { AppError } from '../errors';
import { feedConnectionOf, listFeeds } from '../feeds/read-path';
import { feedForView, type StoredFeed } from '../feeds/records';
import { readJson, validate } from '../http';
import { parseIfMatch } from './connections';


function triggerUrl(origin: string, publicKey: string): string {
  return `${origin}/hook/${publicKey}`;
}

function answerOf(record: StoredFeed, origin: string): FeedAnswer {
  const meta = { id: record.id, version: record.version, publicKey: record.publicKey, createdAt: record.createdAt, updatedAt: record.updatedAt };
  return { ...feedView(feedForView(record), meta), triggerUrl: triggerUrl(origin, record.publicKey) };
}

function etagOf(version: number): string {
  return `"${version}"`;
}

function feedNotFound(): AppError {
  return new AppError('feed-not-found', { detail: 'There is no feed with this id.' });
}

export const feedRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const { limit, cursor } = listOptions({ limit: c.req.query('limit'), cursor: c.req.query('cursor') });
    const connection = c.req.query('connection');
    if (connection !== undefined && !SLUG_PATTERN.test(connection)) {
      throw new AppError('bad-request', { detail: 'The listing parameters are not valid.', extensions: { errors: { connection: ['Filter by a connection slug'] } } });
    }
    return c.json((await listFeeds(c.env, { limit, cursor, connection })) satisfies FeedListAnswer);
  })
  .post('/', async (c) => {
    const body = await readJson(c);
    // Checks that need no storage first: a body that fails them never reaches a home.
    const shaped = validateFeedInput(body, { allowLoopback: allowLoopback(c.env) });
    if (!shaped.success) {
      const count = shaped.issues.length;
      throw new AppError('validation-failed', {
        detail: `${count} field${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} attention.`,
        extensions: { errors: { ...shaped.errors } },
      });
    }
    const slug = shaped.output.connection;
    const record = unwrap(await homeOf(c.env, slug).createFeed(slug, body));
    c.header('Location', `/api/feeds/${record.id}`);
    c.header('ETag', etagOf(record.version));
    return c.json(answerOf(record, new URL(c.req.url).origin), 201);
  })
  .get('/:id', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    const record = await homeOf(c.env, slug).getFeed(slug, id);
    if (!record) throw feedNotFound();
    c.header('ETag', etagOf(record.version));
    return c.json(answerOf(record, new URL(c.req.url).origin));
  })
  .put('/:id', async (c) => {
    const id = c.req.param('id');
    const ifMatch = parseIfMatch(c.req.header('If-Match'));
    const slug = await feedConnectionOf(c.env, id);
    const body = await readJson(c);
    const record = unwrap(await homeOf(c.env, slug).replaceFeed(slug, id, body, ifMatch));
    c.header('ETag', etagOf(record.version));
    return c.json(answerOf(record, new URL(c.req.url).origin));
  })
  .delete('/:id', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    unwrap(await homeOf(c.env, slug).removeFeed(slug, id));
    return c.body(null, 204);
  })
  .post('/:id/rotate-public-key', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    const record = unwrap(await homeOf(c.env, slug).rotatePublicKey(slug, id));
    c.header('ETag', etagOf(record.version));
    return c.json({ publicKey: record.publicKey, triggerUrl: triggerUrl(new URL(c.req.url).origin, record.publicKey) });
  })
  .get('/:id/keys', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    const keys = unwrap(await homeOf(c.env, slug).listTriggerKeys(slug, id));
    return c.json({ keys: keys.map(({ id: keyId, name, createdAt }) => ({ id: keyId, name, createdAt })) });
  })
  .post('/:id/keys', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    const input = validate(RelayKeyInputSchema, await readJson(c));
    const { record, key } = unwrap(await homeOf(c.env, slug).createTriggerKey(slug, id, input.name));
    // Shown this once: only its SHA-256 is kept.
    return c.json({ id: record.id, name: record.name, key, createdAt: record.createdAt }, 201);
  })
  .delete('/:id/keys/:kid', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    unwrap(await homeOf(c.env, slug).deleteTriggerKey(slug, id, c.req.param('kid')));
    return c.body(null, 204);
  });
