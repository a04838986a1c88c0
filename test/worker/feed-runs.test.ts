/**
 * A feed's runs in its connection's call log (FEEDS.md §3.8): the runs API (list, filter, pages,
 * one run with its detail, 24 h stats), the call_log columns added to an older table in place, and
 * that no secret, token or trigger key reaches any answer, log line or stored row.
 */
import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { migrateCallLog } from '../../worker/activity/call-store';
import { flushCalls } from '../../worker/activity/recorder';
import { homeOf } from '../../worker/connections/home';
import { Mock } from '../support/worker-mock';
import { admin, call, captureLogs, dumpKv, newRelayKey } from '../support/worker-api';
import {
  NAVIGATE,
  SHOP,
  UPSTREAM_SECRET,
  createFeed,
  expectProblem,
  feedConnection,
  feedOf,
  feedSetup,
  formPost,
  hook,
  jsonPost,
  runOf,
  runsOf,
} from '../support/worker-feeds';

const setup = feedSetup;

describe('GET /api/feeds/<id>/runs', () => {
  it('lists runs newest first, filters by outcome and pages with a cursor; relay calls are not runs', async () => {
    const { mock, key, feed, slug } = await setup();
    await mock.on('POST', '/api/members', { status: 201, json: {} }, { status: 500, json: {} }, { status: 201, json: {} });
    await jsonPost(key, { email: 'a@b.example' });
    await jsonPost(key, { email: 'a@b.example' });
    await jsonPost(key, { name: 'no email' });
    const all = await runsOf(feed.id);
    expect(all.map((r) => r.outcome)).toEqual(['refused', 'server-error', 'success']);
    expect(all[0]).toMatchObject({ errorCode: 'invalid-submission', status: 400 });
    expect(all[0].detail).toBeUndefined();
    expect((await runsOf(feed.id, '?outcome=success')).map((r) => r.outcome)).toEqual(['success']);
    expect((await runsOf(feed.id, '?outcome=success,refused')).map((r) => r.outcome)).toEqual(['refused', 'success']);
    const first = (await (await admin(`/api/feeds/${feed.id}/runs?limit=2`)).json()) as { runs: any[]; cursor: string };
    expect(first.runs).toHaveLength(2);
    const second = (await (await admin(`/api/feeds/${feed.id}/runs?limit=2&cursor=${first.cursor}`)).json()) as { runs: any[]; cursor: string | null };
    expect(second.runs.map((r) => r.outcome)).toEqual(['success']);
    expect(second.cursor).toBeNull();
    // The runs are the connection's calls of kind feed-run.
    const calls = (await (await admin(`/api/connections/${slug}/calls?kind=feed-run`)).json()) as { calls: any[] };
    expect(calls.calls.map((c) => c.runId)).toEqual(all.map((r) => r.runId));
  });

  it('keeps the runs of each feed apart', async () => {
    const { mock, slug, key, feed } = await setup();
    const other = await createFeed(feedOf(slug, { name: 'Other' }));
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    await jsonPost(key, { email: 'a@b.example' });
    await jsonPost(other.publicKey, { email: 'a@b.example' });
    await jsonPost(other.publicKey, { email: 'a@b.example' });
    expect(await runsOf(feed.id)).toHaveLength(1);
    expect(await runsOf(other.id)).toHaveLength(2);
  });

  it('answers 400 for bad filters, 404 for an unknown feed or run, and 401 without admin auth', async () => {
    const { feed } = await setup();
    await expectProblem(await admin(`/api/feeds/${feed.id}/runs?outcome=nope`), 400, 'bad-request');
    await expectProblem(await admin(`/api/feeds/${feed.id}/runs?limit=0`), 400, 'bad-request');
    await expectProblem(await admin(`/api/feeds/${feed.id}/runs?cursor=abc`), 400, 'bad-request');
    await expectProblem(await admin('/api/feeds/fd_aaaaaaaaaaaaaaaa/runs'), 404, 'feed-not-found');
    await expectProblem(await admin(`/api/feeds/${feed.id}/runs/run_nope`), 404, 'run-not-found');
    await expectProblem(await admin(`/api/feeds/${feed.id}/runs/not-a-run`), 404, 'run-not-found');
    for (const path of [`/api/feeds/${feed.id}/runs`, `/api/feeds/${feed.id}/stats`, `/api/feeds/${feed.id}/dry-run`]) {
      expect((await call(path, { method: path.endsWith('dry-run') ? 'POST' : 'GET' })).status).toBe(401);
    }
  });
});

describe('GET /api/feeds/<id>/runs/<runId> and /stats', () => {
  it('answers one run with its detail, and counts the last 24 hours by outcome', async () => {
    const { mock, key, feed } = await setup({ response: { redirect: { successUrl: `${SHOP}/thanks` } } });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const nav = await formPost(key, 'email=a%40b.example&name=Ann', NAVIGATE);
    expect(nav.status).toBe(303);
    await jsonPost(key, { name: 'no email' });
    const [refused, success] = await runsOf(feed.id);
    const run = await runOf(feed.id, success.runId);
    expect(run).toMatchObject({ kind: 'feed-run', feedId: feed.id, trigger: 'browser', outcome: 'success', status: 303, method: 'POST', path: '/members' });
    expect(run.detail).toMatchObject({
      contentType: 'form',
      fieldNames: ['email', 'name'],
      droppedFiles: [],
      condition: { result: true },
      answer: { status: 303, location: `${SHOP}/thanks` },
    });
    expect((await runOf(feed.id, refused.runId)).detail.condition).toBeNull();
    const stats = (await (await admin(`/api/feeds/${feed.id}/stats`)).json()) as any;
    expect(stats).toEqual({ window: '24h', total: 2, outcomes: { success: 1, refused: 1 } });
  });
});

/** A feed run's entry as an isolate sends it: a browser trigger answered 201. */
const runEntry = (feedId: string, at: number, runId: string) => ({
  at, kind: 'feed-run', method: 'POST', path: '/members', status: 201, upstreamStatus: 201, durationMs: 5, outcome: 'success', keyName: null,
  retried: false, tokenFetched: false, bytesIn: 10, bytesOut: 2, origin: SHOP, errorCode: null, feedId, runId, trigger: 'browser',
});

describe("a feed's own retention", () => {
  it("keeps a feed's runs for its days when shorter than the connection's, and applies a shortened one at once", async () => {
    const { slug, feed } = await setup({ log: { level: 'values', retainDays: 1 } });
    const other = await createFeed(feedOf(slug, { name: 'Kept longer' }));
    const home = homeOf(env, slug);
    const now = Date.now();
    const run = (feedId: string, at: number, runId: string) => ({ ...runEntry(feedId, at, runId), detail: { input: { email: 'old@b.example' } } });
    const twoDays = now - 2 * 86_400_000;
    expect(await home.appendCalls(slug, [run(feed.id, twoDays, 'run_a_old'), run(other.id, twoDays, 'run_b_old'), run(feed.id, now, 'run_a_new')], null)).toBe(3);
    const stored = () => runInDurableObject(home, (_h, state) => state.storage.sql.exec<{ run_id: string }>('SELECT run_id FROM calls ORDER BY seq').toArray().map((r) => r.run_id));
    // The feed's run older than its 1 day is gone from storage, its detail with it; the other feed keeps the connection's 7 days.
    expect(await stored()).toEqual(['run_b_old', 'run_a_new']);
    expect((await runsOf(feed.id)).map((r) => r.runId)).toEqual(['run_a_new']);
    expect((await admin(`/api/feeds/${feed.id}/runs/run_a_old`)).status).toBe(404);
    expect((await runsOf(other.id)).map((r) => r.runId)).toEqual(['run_b_old']);
    const listed = (await (await admin(`/api/connections/${slug}/calls`)).json()) as { calls: { runId?: string }[] };
    expect(listed.calls.map((c) => c.runId)).toEqual(['run_a_new', 'run_b_old']);
    // Shortening the other feed's retention drops its older runs with the save.
    const put = await admin(`/api/feeds/${other.id}`, { method: 'PUT', json: feedOf(slug, { name: 'Kept longer', log: { retainDays: 1 } }) });
    expect(put.status, await put.clone().text()).toBe(200);
    expect(await stored()).toEqual(['run_a_new']);
  });

  it("keeps runs no longer than the connection's retention, whatever the feed's", async () => {
    const { slug, feed } = await setup({ log: { retainDays: 30 } }, { log: { retainDays: 1 } });
    const home = homeOf(env, slug);
    const at = Date.now() - 2 * 86_400_000;
    expect(await home.appendCalls(slug, [runEntry(feed.id, at, 'run_c_old')], null)).toBe(1);
    expect(await runsOf(feed.id)).toEqual([]);
  });
});

describe('the call log table', () => {
  it('moves the rows of a call_log made before feed runs into calls, with their ids, order and cursor', async () => {
    const mock = new Mock();
    const slug = `old-${Date.now().toString(36)}`;
    const at = Date.now() - 60_000;
    const legacyId = 'c_mj4k2x9aAb3_x-Yz0';
    const call = { id: legacyId, at: new Date(at).toISOString(), kind: 'relay', method: 'GET', path: '/old?page=', status: 200, upstreamStatus: 200, durationMs: 12.5, outcome: 'success', keyName: 'crm', retried: true, tokenFetched: false, bytesIn: null, bytesOut: 31, origin: 'https://app.example', errorCode: null };
    // A home whose call_log predates feed runs (no feed_id, run_id or detail).
    await runInDurableObject(homeOf(env, slug), async (_instance, state) => {
      state.storage.sql.exec('CREATE TABLE call_log (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, entry TEXT NOT NULL)');
      state.storage.sql.exec("INSERT INTO call_log (seq, id, at, kind, outcome, entry) VALUES (41, ?, ?, 'relay', 'success', ?)", legacyId, at, JSON.stringify(call));
    });
    const created = await admin('/api/connections', { method: 'POST', json: { name: 'Old', slug, baseUrl: mock.url('/api'), auth: { method: 'bearer', token: UPSTREAM_SECRET } } });
    expect(created.status).toBe(201);
    const tables = await runInDurableObject(homeOf(env, slug), async (_instance, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('call_log', 'calls')").toArray().map((t) => t.name),
    );
    expect(tables).toEqual(['calls']);
    // A new connection starts empty, so the moved row went with the create. A home whose connection
    // existed before this version moves its rows the same way at its first start:
    await runInDurableObject(homeOf(env, slug), async (_instance, state) => {
      state.storage.sql.exec('CREATE TABLE call_log (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, entry TEXT NOT NULL)');
      state.storage.sql.exec("INSERT INTO call_log (seq, id, at, kind, outcome, entry) VALUES (41, ?, ?, 'relay', 'success', ?)", legacyId, at, JSON.stringify(call));
      migrateCallLog(state.storage.sql);
    });
    const listed = (await (await admin(`/api/connections/${slug}/calls`)).json()) as { calls: unknown[] };
    expect(listed.calls).toEqual([call]);
    expect(await (await admin(`/api/connections/${slug}/calls/${legacyId}`)).json()).toEqual(call);
    // New rows follow the moved ones, with ids of their own.
    const feed = await createFeed(feedOf(slug));
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    await jsonPost(feed.publicKey, { email: 'a@b.example' });
    await flushCalls(env);
    const runs = await runsOf(feed.id);
    expect(runs).toHaveLength(1);
    const after = (await (await admin(`/api/connections/${slug}/calls`)).json()) as { calls: { id: string }[] };
    expect(after.calls.map((c) => c.id)).toEqual([`c_${(42).toString(36)}`, legacyId]);
    const page = (await (await admin(`/api/connections/${slug}/calls?limit=1`)).json()) as { calls: { id: string }[]; cursor: string };
    expect((await (await admin(`/api/connections/${slug}/calls?limit=1&cursor=${page.cursor}`)).json()) as unknown).toEqual({ calls: [call], cursor: null });
  });

  it('moves a call_log written after calls (an older version run again) behind the rows of calls, newest first', async () => {
    const slug = `old-${Date.now().toString(36)}b`;
    const mock = new Mock();
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const created = await admin('/api/connections', { method: 'POST', json: { name: 'Back', slug, baseUrl: mock.url('/api'), auth: { method: 'bearer', token: UPSTREAM_SECRET } } });
    expect(created.status).toBe(201);
    const feed = await createFeed(feedOf(slug));
    await jsonPost(feed.publicKey, { email: 'a@b.example' });
    await flushCalls(env);
    const [first] = (await (await admin(`/api/connections/${slug}/calls`)).json() as { calls: { id: string }[] }).calls;
    expect(first!.id).toBe('c_1');
    // The older version numbers its new rows from 1 again: seq 1 is taken in calls.
    const at = Date.now();
    const legacyId = 'c_mj4k2x9aBack_x-Yz0';
    const later = { id: legacyId, at: new Date(at).toISOString(), kind: 'relay', method: 'GET', path: '/later', status: 200, upstreamStatus: 200, durationMs: 3, outcome: 'success', keyName: null, retried: false, tokenFetched: false, bytesIn: null, bytesOut: null, origin: null, errorCode: null };
    await runInDurableObject(homeOf(env, slug), async (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec('CREATE TABLE call_log (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, entry TEXT NOT NULL, feed_id TEXT, run_id TEXT, detail TEXT)');
      sql.exec("INSERT INTO call_log (seq, id, at, kind, outcome, entry) VALUES (1, ?, ?, 'relay', 'success', ?)", legacyId, at, JSON.stringify(later));
      migrateCallLog(sql);
    });
    const listed = (await (await admin(`/api/connections/${slug}/calls`)).json()) as { calls: { id: string }[] };
    expect(listed.calls.map((c) => c.id)).toEqual([legacyId, 'c_1']);
    expect(listed.calls[0]).toEqual(later);
    expect(await runsOf(feed.id)).toHaveLength(1);
  });

  it('moves a call_log with feed runs, their details included', async () => {
    const slug = `old-${Date.now().toString(36)}r`;
    const mock = new Mock();
    const created = await admin('/api/connections', { method: 'POST', json: { name: 'Old runs', slug, baseUrl: mock.url('/api'), auth: { method: 'bearer', token: UPSTREAM_SECRET } } });
    expect(created.status).toBe(201);
    const feed = await createFeed(feedOf(slug));
    const at = Date.now() - 60_000;
    const run = { id: 'c_mj4k2x9aQq7_Zz-Ab1', at: new Date(at).toISOString(), kind: 'feed-run', method: 'POST', path: '/members', status: 201, upstreamStatus: 201, durationMs: 40, outcome: 'success', keyName: null, retried: false, tokenFetched: true, bytesIn: 20, bytesOut: 2, origin: 'https://site.example', errorCode: null, feedId: feed.id, runId: 'run_old1', trigger: 'browser' };
    const detail = { contentType: 'json', fieldNames: ['email'] };
    await runInDurableObject(homeOf(env, slug), async (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec('CREATE TABLE call_log (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, entry TEXT NOT NULL, feed_id TEXT, run_id TEXT, detail TEXT)');
      sql.exec('CREATE INDEX call_log_at ON call_log (at)');
      sql.exec("INSERT INTO call_log (seq, id, at, kind, outcome, entry, feed_id, run_id, detail) VALUES (7, ?, ?, 'feed-run', 'success', ?, ?, 'run_old1', ?)", run.id, at, JSON.stringify(run), feed.id, JSON.stringify(detail));
      migrateCallLog(sql);
    });
    expect(await runsOf(feed.id)).toEqual([run]);
    expect((await runOf(feed.id, 'run_old1')).detail).toEqual(detail);
  });
});

describe('the run indexes', () => {
  it('index feed runs only, and serve the runs table and one run from them', async () => {
    const mock = new Mock();
    const slug = await feedConnection(mock.url('/api'));
    const feed = await createFeed(feedOf(slug));
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    await mock.on('GET', '/api/ping', { json: {} });
    await jsonPost(feed.publicKey, { email: 'a@b.example' });
    const key = await newRelayKey(slug);
    expect((await call(`/relay/${slug}/ping`, { headers: { Authorization: `Bearer ${key}` } })).status).toBe(200);
    await flushCalls(env);
    const found = await runInDurableObject(homeOf(env, slug), async (_instance, state) => {
      const sql = state.storage.sql;
      const count = (index: string) => sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM calls INDEXED BY ${index} WHERE feed_id IS NOT NULL AND run_id IS NOT NULL`).one().n;
      const plan = (query: string, ...params: string[]) => sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`, ...params).toArray().map((r) => r.detail).join(' | ');
      return {
        rows: sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM calls').one().n,
        runs: count('calls_feed_runs'),
        list: plan("SELECT seq, fields FROM calls WHERE feed_id = ? AND kind = 'feed-run' AND at >= 0 ORDER BY seq DESC LIMIT 51", feed.id),
        one: plan("SELECT fields, detail FROM calls WHERE run_id = ? AND feed_id = ? AND kind = 'feed-run' AND at >= 0 ORDER BY seq DESC LIMIT 1", 'run_x', feed.id),
      };
    });
    expect(found.rows).toBe(2);
    expect(found.runs).toBe(1);
    expect(found.list).toContain('calls_feed_runs');
    expect(found.one).toMatch(/calls_run_ids|calls_feed_runs/);
  });
});

/** The test's phone and email as sent, form-encoded or percent-encoded (never a bare `555`: a random mock namespace in a URL may hold one). */
const PHONE_OR_EMAIL = /555[ +]0100|555%200100|ann@b|ann%40b/;

describe('values in the run log', () => {
  it('keeps query values out of the attempt URL at level metadata, and masks sensitive values in form bodies at level values', async () => {
    const mock = new Mock();
    const slug = await feedConnection(mock.url('/api'));
    await mock.on('POST', '/api/members', { status: 201, json: {} }, { status: 201, json: {} });
    const fields = [{ name: 'email', required: true, format: 'email', sensitive: true }, { name: 'phone', sensitive: true }];
    const metadata = await createFeed(
      feedOf(slug, {
        input: { fields },
        request: { method: 'POST', path: '/members', query: [{ name: 'phone', value: '{{/input/phone}}' }], body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }] } },
      }),
    );
    expect((await jsonPost(metadata.publicKey, { email: 'ann@b.example', phone: '+1 555 0100' })).status).toBe(200);
    const [m] = await runsOf(metadata.id);
    const mDetail = (await runOf(metadata.id, m.runId)).detail;
    expect(mDetail.attempts[0].url).toMatch(/\/members\?phone=$/);
    expect(JSON.stringify(mDetail)).not.toMatch(PHONE_OR_EMAIL);

    const values = await createFeed(
      feedOf(slug, {
        input: { fields },
        request: { method: 'POST', path: '/members', body: { format: 'form', fields: [{ target: '/email', value: '{{/input/email}}' }, { target: '/phone', value: '{{/input/phone}}' }] } },
        log: { level: 'values' },
      }),
    );
    expect((await jsonPost(values.publicKey, { email: 'ann@b.example', phone: '+1 555 0100' })).status).toBe(200);
    const [v] = await runsOf(values.id);
    const vDetail = (await runOf(values.id, v.runId)).detail;
    const stored = JSON.stringify(vDetail);
    expect(stored).toContain('***');
    expect(stored).not.toMatch(PHONE_OR_EMAIL);
    // The API got the real values.
    const sent = await mock.requestsTo('/api/members');
    expect(sent[1]!.body).toBe('email=ann%40b.example&phone=%2B1+555+0100');
  });
});

describe('secrets', () => {
  it('never answers, logs or stores the connection secret, the token or a trigger key, at either log level', async () => {
    const logs = captureLogs();
    try {
      const mock = new Mock();
      const token = 'oauth-Access-Token-Value-31';
      const clientSecret = 'feed-Client-Secret-Value-55';
      await mock.on('POST', '/oauth/token', { status: 200, json: { access_token: token, token_type: 'Bearer', expires_in: 3600 } });
      await mock.on('POST', '/api/members', { status: 201, json: { id: 'm1' } }, { status: 400, json: { error: 'bad' } }, { status: 201, json: { id: 'm2' } });
      const slug = await feedConnection(mock.url('/api'), {
        auth: { method: 'oauth2_client_credentials', clientId: 'c', clientSecret, tokenUrl: mock.url('/oauth/token') },
      });
      const texts: string[] = [];
      const keep = async (res: Response) => {
        texts.push([...res.headers].join('\n'), await res.text());
        return res;
      };
      for (const level of ['metadata', 'values']) {
        const feed = await createFeed(feedOf(slug, { name: level, log: { level }, trigger: { browser: { enabled: true, allowedOrigins: [SHOP] }, server: { enabled: true } } }));
        const created = await keep(await admin(`/api/feeds/${feed.id}/keys`, { method: 'POST', json: { name: 'k' } }));
        const triggerKey = (JSON.parse(texts[texts.length - 1]!) as { key: string }).key;
        texts.pop();
        expect(created.status).toBe(201);
        await keep(await jsonPost(feed.publicKey, { email: 'a@b.example' }));
        await keep(await hook(feed.publicKey, { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${triggerKey}` }, body: '{"email":"a@b.example"}' }));
        await keep(await hook(feed.publicKey, { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${triggerKey}x` }, body: '{"email":"a@b.example"}' }));
        await keep(await admin(`/api/feeds/${feed.id}/dry-run`, { method: 'POST', json: { input: { email: 'a@b.example' } } }));
        await keep(await admin(`/api/feeds/${feed.id}/dry-run`, { method: 'POST', json: { input: { email: 'a@b.example' }, send: true } }));
        await keep(await admin(`/api/feeds/${feed.id}`));
        await flushCalls(env);
        const list = await keep(await admin(`/api/feeds/${feed.id}/runs`));
        const { runs } = JSON.parse(texts[texts.length - 1]!) as { runs: { runId: string }[] };
        expect(list.status).toBe(200);
        expect(runs.length).toBe(4);
        for (const run of runs) await keep(await admin(`/api/feeds/${feed.id}/runs/${run.runId}`));
        await keep(await admin(`/api/connections/${slug}/calls`));
        const stored = await runInDurableObject(homeOf(env, slug), async (_instance, state) => JSON.stringify(state.storage.sql.exec('SELECT * FROM calls').toArray()));
        const everything = [...texts, logs.text(), stored, await dumpKv()].join('\n');
        for (const secret of [clientSecret, token, triggerKey]) expect(everything).not.toContain(secret);
      }
      // The upstream did get the token: the search above could have found it.
      const [sent] = await mock.requestsTo('/api/members');
      expect(sent!.headers.authorization).toBe(`Bearer ${token}`);
      expect(texts.join('\n')).toContain('Bearer ***');
    } finally {
      logs.restore();
    }
  });
});

describe('the trigger’s cost and traces', () => {
  it('never wakes a home for a public key that opens nothing', async () => {
    const before = (await listDurableObjectIds(env.HOMES)).length;
    for (let i = 0; i < 3; i++) {
      await expectProblem(await jsonPost(`fpk_${'b'.repeat(25)}${i}`, { email: 'a@b.example' }), 404, 'feed-not-found');
    }
    await flushCalls(env);
    expect((await listDurableObjectIds(env.HOMES)).length).toBe(before);
  });

  it('writes one structured log line per run, without values', async () => {
    const { mock, key, feed } = await setup({ log: { level: 'values' } });
    await mock.on('POST', '/api/members', { status: 201, json: { id: 'm1' } });
    const logs = captureLogs();
    let runId: string;
    try {
      runId = ((await (await jsonPost(key, { email: 'ann@b.example', name: 'Ann Values' })).json()) as { runId: string }).runId;
    } finally {
      logs.restore();
    }
    const lines = logs.text().split('\n').filter((l) => l.includes('"event":"feed-run"'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'feed-run', feedId: feed.id, runId, trigger: 'browser', outcome: 'success', status: 200, upstreamStatus: 201 });
    expect(logs.text()).not.toContain('ann@b.example');
    expect(logs.text()).not.toContain('Ann Values');
  });
});

describe('snippets', () => {
  it('answers an HTML form and a fetch call for the trigger URL, escaping what the feed holds', async () => {
    const { feed } = await setup({
      input: { fields: [{ name: 'email', required: true, format: 'email' }, { name: 'x"><script>alert(1)</script>' }, { name: 'cv', file: { maxBytes: 100 } }] },
    });
    const view = (await (await admin(`/api/feeds/${feed.id}`)).json()) as { triggerUrl: string; snippets: { html: string; fetch: string } };
    const { html, fetch: script } = view.snippets;
    expect(html).toContain(`<form method="post" action="${view.triggerUrl}" enctype="multipart/form-data">`);
    expect(html).toContain('<input id="feed-field-0" name="email" type="email" required>');
    expect(html).toContain('name="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(html).not.toContain('<script>');
    expect(html).toContain('type="file"');
    expect(script).toContain(`fetch(${JSON.stringify(view.triggerUrl)}`);
    expect(script).toContain("'Content-Type': 'application/json'");
    expect(feed.snippets).toEqual(view.snippets);
  });
});
