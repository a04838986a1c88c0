/**
 * `/api/feeds`: list, create, read, replace and delete feeds, their server trigger keys, and the
 * rotation of their public key (FEEDS.md §3.9). A feed lives in its connection's home; the route
 * finds that home through the `feedconn:<id>` index.
 */
import { Hono } from 'hono';
import { RelayKeyInputSchema, SLUG_PATTERN } from '../../contract/connection';
import { feedView, validateFeedInput } from '../../contract/feed';
import {
  DryRunRequestSchema,
  type FeedAnswer,
  type FeedListAnswer,
  type FeedRun,
  type FeedRunListAnswer,
  type FeedRunStatsAnswer,
} from '../../contract/feed-api';
import { allowLoopback, type AppEnv } from '../app-env';
import { homeOf, unwrap } from '../connections/home';
import { listOptions } from '../connections/read-path';
import { AppError } from '../errors';
import { DRAFT_FEED_ID, dryRun } from '../feeds/dry-run';
import { feedConnectionOf, forgetTriggerFeed, listFeeds } from '../feeds/read-path';
import { feedForView, type StoredFeed } from '../feeds/records';
import { validateFeedForSave } from '../feeds/save-checks';
import { feedSnippets } from '../feeds/snippets';
import { readJson, validate } from '../http';
import { badQuery, pageFilters } from './activity';
import { parseIfMatch } from './connections';

const RUNS_DEFAULT_LIMIT = 50;
const RUNS_MAX_LIMIT = 200;
const RUN_ID_PATTERN = /^run_[A-Za-z0-9_-]{1,40}$/;

/** The runs listing's filters from the query string, checked. */
function runFilters(query: (name: string) => string | undefined, queries: (name: string) => string[] | undefined) {
  const errors: Record<string, string[]> = {};
  const filters = pageFilters(query, queries, { default: RUNS_DEFAULT_LIMIT, max: RUNS_MAX_LIMIT }, errors);
  if (Object.keys(errors).length > 0) throw badQuery(errors);
  return filters;
}

/** At most one of `input`, `raw` and `fromRun`. */
function checkOneSource(request: { input?: unknown; raw?: unknown; fromRun?: unknown }): void {
  const given = (['input', 'raw', 'fromRun'] as const).filter((name) => request[name] !== undefined);
  if (given.length > 1) throw validationFailed(Object.fromEntries(given.map((name) => [`/${name}`, ['Give one of input, raw or fromRun']])), given.length);
}

function validationFailed(errors: Record<string, string[]>, count: number): AppError {
  return new AppError('validation-failed', {
    detail: `${count} field${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} attention.`,
    extensions: { errors },
  });
}


function triggerUrl(origin: string, publicKey: string): string {
  return `${origin}/hook/${publicKey}`;
}

function answerOf(record: StoredFeed, origin: string): FeedAnswer {
  const meta = { id: record.id, version: record.version, publicKey: record.publicKey, createdAt: record.createdAt, updatedAt: record.updatedAt };
  const url = triggerUrl(origin, record.publicKey);
  return { ...feedView(feedForView(record), meta), triggerUrl: url, snippets: feedSnippets(record.feed, url) };
}

function etagOf(version: number): string {
  return `"${version}"`;
}

function feedNotFound(): AppError {
  return new AppError('feed-not-found', { detail: 'There is no feed with this id.' });
}

export const feedRoutes = new Hono<AppEnv>()
  // A draft: validated with the save checks against its connection as stored now.
  .post('/dry-run', async (c) => {
    const request = validate(DryRunRequestSchema, await readJson(c));
    checkOneSource(request);
    if (request.fromRun !== undefined) throw validationFailed({ '/fromRun': ['A draft has no runs: give input or raw'] }, 1);
    if (request.feed === undefined) throw validationFailed({ '/feed': ['Send the draft feed to test, or test a saved feed at /api/feeds/<id>/dry-run'] }, 1);
    const draft = request.feed as Record<string, unknown> | null;
    const slug = draft !== null && typeof draft === 'object' && typeof draft.connection === 'string' && SLUG_PATTERN.test(draft.connection) ? draft.connection : undefined;
    const record = slug === undefined ? null : await homeOf(c.env, slug).getConnection(slug);
    const checked = validateFeedForSave(request.feed, record ?? undefined, { allowLoopback: allowLoopback(c.env) });
    if (!checked.success) {
      const errors: Record<string, string[]> = {};
      for (const [pointer, list] of Object.entries(checked.errors)) errors[`/feed${pointer}`] = [...list];
      throw validationFailed(errors, checked.issues.length);
    }
    return c.json(await dryRun({ env: c.env, feed: checked.output, feedId: DRAFT_FEED_ID, request, record }));
  })
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
    forgetTriggerFeed(id);
    c.header('ETag', etagOf(record.version));
    return c.json(answerOf(record, new URL(c.req.url).origin));
  })
  .delete('/:id', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    unwrap(await homeOf(c.env, slug).removeFeed(slug, id));
    forgetTriggerFeed(id);
    return c.body(null, 204);
  })
  .post('/:id/rotate-public-key', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    const record = unwrap(await homeOf(c.env, slug).rotatePublicKey(slug, id));
    forgetTriggerFeed(id);
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
    forgetTriggerFeed(id);
    // Shown this once: only its SHA-256 is kept.
    return c.json({ id: record.id, name: record.name, key, createdAt: record.createdAt }, 201);
  })
  .post('/:id/dry-run', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    const request = validate(DryRunRequestSchema, await readJson(c));
    checkOneSource(request);
    if (request.feed !== undefined) throw validationFailed({ '/feed': ['A saved feed is tested as saved: leave out "feed", or test a draft at /api/feeds/dry-run'] }, 1);
    const home = homeOf(c.env, slug);
    const stored = await home.getFeed(slug, id);
    if (!stored) throw feedNotFound();
    if (request.fromRun !== undefined) {
      const run = unwrap(await home.getFeedRun(slug, id, request.fromRun)) as FeedRun;
      if (run.detail?.input === undefined || run.detail.input === null || typeof run.detail.input !== 'object') {
        throw validationFailed({ '/fromRun': ['That run kept no input: only runs logged at level "values" can be replayed'] }, 1);
      }
      request.input = run.detail.input as Record<string, unknown>;
    }
    const record = await home.getConnection(slug);
    return c.json(await dryRun({ env: c.env, feed: stored.feed, feedId: id, request, record }));
  })
  .get('/:id/runs', async (c) => {
    const id = c.req.param('id');
    const filters = runFilters((n) => c.req.query(n), (n) => c.req.queries(n));
    const slug = await feedConnectionOf(c.env, id);
    const page = unwrap(await homeOf(c.env, slug).listFeedRuns(slug, id, filters));
    return c.json({ runs: page.runs as FeedRun[], cursor: page.cursor } satisfies FeedRunListAnswer);
  })
  .get('/:id/runs/:runId', async (c) => {
    const id = c.req.param('id');
    const runId = c.req.param('runId');
    const slug = await feedConnectionOf(c.env, id);
    if (!RUN_ID_PATTERN.test(runId)) throw new AppError('run-not-found', { detail: 'This feed has no run with this id.' });
    return c.json(unwrap(await homeOf(c.env, slug).getFeedRun(slug, id, runId)) as FeedRun);
  })
  .get('/:id/stats', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    const stats = unwrap(await homeOf(c.env, slug).feedRunStats(slug, id));
    return c.json({ window: '24h', total: stats.total, outcomes: stats.outcomes } satisfies FeedRunStatsAnswer);
  })
  .delete('/:id/keys/:kid', async (c) => {
    const id = c.req.param('id');
    const slug = await feedConnectionOf(c.env, id);
    unwrap(await homeOf(c.env, slug).deleteTriggerKey(slug, id, c.req.param('kid')));
    forgetTriggerFeed(id);
    return c.body(null, 204);
  });
