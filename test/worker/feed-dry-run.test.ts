/**
 * The dry run (FEEDS.md §3.7): the same builder as the trigger, credentials as `***`, sample
 * responses, warnings, live sends logged as `dry-run`, drafts checked with the save checks.
 */
import { describe, expect, it } from 'vitest';
import { Mock } from '../support/worker-mock';
import { admin } from '../support/worker-api';
import { SHOP, UPSTREAM_SECRET, createFeed, expectNoUpstream, expectProblem, feedConnection, feedOf, feedSetup, jsonPost, runsOf } from '../support/worker-feeds';

const feedBody = {
  method: 'POST',
  path: '/lists/{{/input/list}}/members',
  query: [{ name: 'double_optin', value: 'true' }],
  headers: [{ name: 'X-Source', value: 'edge-feed {{/meta/feedId}}' }],
  body: {
    format: 'json',
    fields: [
      { target: '/email_address', value: '{{/input/email}}' },
      { target: '/interests', value: '{{/input/interests}}' },
      { target: '/tags/-', value: 'web-signup' },
      { target: '/phone', value: '{{/input/phone}}' },
    ],
  },
};

const setup = (overrides: Record<string, any> = {}, connectionExtra: Record<string, unknown> = {}) =>
  feedSetup({ input: { fields: [{ name: 'email', required: true }] }, request: feedBody, ...overrides }, connectionExtra);

function dryRun(id: string, body: Record<string, unknown>): Promise<Response> {
  return admin(`/api/feeds/${id}/dry-run`, { method: 'POST', json: body });
}

describe('POST /api/feeds/<id>/dry-run', () => {
  it('renders exactly what a live trigger sends, with the credential shown as ***, and calls nothing', async () => {
    const { mock, feed } = await setup();
    const input = { email: 'a@b.example', interests: ['x', 'y'], list: '42' };
    const res = await dryRun(feed.id, { input });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).not.toContain(UPSTREAM_SECRET);
    const answer = JSON.parse(text);
    await expectNoUpstream(mock);
    expect(answer.request).toEqual({
      method: 'POST',
      url: mock.url('/api/lists/42/members?double_optin=true'),
      headers: { 'content-type': 'application/json', 'x-source': `edge-feed ${feed.id}`, authorization: 'Bearer ***' },
      body: { email_address: 'a@b.example', interests: ['x', 'y'], tags: ['web-signup'] },
    });
    expect(answer.warnings).toContainEqual({ code: 'missing-source', pointer: '/input/phone', row: '/request/body/fields/3', effect: 'omitted' });
    expect(answer.warnings).toContainEqual({ code: 'unknown-field', name: 'interests' });
    expect(answer.answer).toEqual({ status: 200, body: { ok: true, runId: expect.stringMatching(/^run_/), data: {} } });
    expect(answer.runId).toBeUndefined();

    await mock.on('POST', '/api/lists/42/members', { status: 201, json: { id: 'm_1' } });
    expect((await jsonPost(feed.publicKey, input)).status).toBe(200);
    const [sent] = await mock.requestsTo('/api/lists/42/members');
    expect(JSON.parse(sent!.body)).toEqual(answer.request.body);
    expect(sent!.body).toBe(JSON.stringify(answer.request.body));
    expect(mock.url(sent!.rawUrl.slice(0))).toBe(answer.request.url);
    expect(sent!.headers['x-source']).toBe(answer.request.headers['x-source']);
    expect(sent!.headers['content-type']).toBe(answer.request.headers['content-type']);
  });

  it('parses a raw body as the trigger would, and previews a navigation against a sample response', async () => {
    const { feed } = await setup({ response: { redirect: { successUrl: `${SHOP}/thanks?m={{/response/body/id}}` }, json: { data: [{ target: '/id', source: '/response/body/id' }] } } });
    const res = await dryRun(feed.id, {
      raw: { contentType: 'application/x-www-form-urlencoded', body: 'email=a%40b.example&interests=x&interests=y&list=7' },
      sampleResponse: { status: 201, headers: { 'content-type': 'application/json' }, body: { id: 'm_1' } },
      as: 'navigation',
    });
    const answer = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(answer.input).toEqual({ email: 'a@b.example', interests: ['x', 'y'], list: '7' });
    expect(answer.answer).toEqual({ status: 303, location: `${SHOP}/thanks?m=m_1` });
    const json = (await (await dryRun(feed.id, { input: { email: 'a@b.example', list: '7' }, sampleResponse: { status: 201, body: { id: 'm_2' } } })).json()) as any;
    expect(json.answer.body.data).toEqual({ id: 'm_2' });
    const rejected = (await (await dryRun(feed.id, { input: { email: 'a@b.example', list: '7' }, sampleResponse: { status: 409, body: {} } })).json()) as any;
    expect(rejected.answer.status).toBe(502);
    expect(rejected.problem).toMatchObject({ code: 'upstream-rejected' });
  });

  it('lists /response pointers as unresolved without a sample response', async () => {
    const { feed } = await setup({ response: { json: { data: [{ target: '/id', source: '/response/body/id' }] } } });
    const answer = (await (await dryRun(feed.id, { input: { email: 'a@b.example', list: '1' } })).json()) as any;
    expect(answer.warnings).toContainEqual({ code: 'unresolved-response', pointer: '/response/body/id', row: '/response/json/data/0' });
  });

  it('shows an API key sent in the query as ***', async () => {
    const mock = new Mock();
    const slug = await feedConnection(mock.url('/api'), { auth: { method: 'api_key', name: 'api_key', value: 'query-Key-Value-123', in: 'query' } });
    const feed = await createFeed(feedOf(slug));
    const text = await (await dryRun(feed.id, { input: { email: 'a@b.example' } })).text();
    expect(text).not.toContain('query-Key-Value-123');
    expect(JSON.parse(text).request.url).toBe(mock.url('/api/members?api_key=***'));
  });

  it('reports a failing submission and a mapping error as the caller would get them', async () => {
    const { mock, feed } = await setup();
    const invalid = (await (await dryRun(feed.id, { input: { list: '1' } })).json()) as any;
    expect(invalid.problem).toMatchObject({ code: 'invalid-submission' });
    expect(invalid.answer).toMatchObject({ status: 400 });
    expect(invalid.request).toBeUndefined();
    const unsafe = (await (await dryRun(feed.id, { input: { email: 'a@b.example', list: '..' } })).json()) as any;
    expect(unsafe.problem).toMatchObject({ code: 'unsafe-path' });
    await expectNoUpstream(mock);
  });

  it('calls the upstream with send: true, answers what it said, and logs the run as dry-run', async () => {
    const { mock, feed } = await setup();
    await mock.on('POST', '/api/lists/9/members', { status: 201, json: { id: 'm_9' } });
    const res = await dryRun(feed.id, { input: { email: 'a@b.example', list: '9' }, send: true });
    const text = await res.text();
    expect(text).not.toContain(UPSTREAM_SECRET);
    const answer = JSON.parse(text);
    expect(answer.upstream).toMatchObject({ status: 201, body: { id: 'm_9' } });
    // The upstream's headers as a caller would receive them (`/response/headers`): none the runtime writes itself.
    expect(answer.upstream.headers['content-type']).toBe('application/json');
    for (const owned of ['connection', 'keep-alive', 'transfer-encoding']) expect(answer.upstream.headers[owned], owned).toBeUndefined();
    expect(answer.runId).toMatch(/^run_/);
    const [sent] = await mock.requestsTo('/api/lists/9/members');
    expect(sent!.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
    const runs = await runsOf(feed.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ runId: answer.runId, trigger: 'dry-run', outcome: 'success', upstreamStatus: 201 });
  });

  it('refuses a request that is not a dry run, and one over the 64 KiB admin cap', async () => {
    const { feed } = await setup();
    await expectProblem(await dryRun(feed.id, { input: { email: 'x' }, send: 'yes' }), 400, 'validation-failed');
    await expectProblem(await dryRun(feed.id, { feed: {} }), 400, 'validation-failed');
    await expectProblem(await dryRun(feed.id, { input: { email: 'x'.repeat(70_000) } }), 413, 'payload-too-large');
    await expectProblem(await dryRun('fd_aaaaaaaaaaaaaaaa', { input: {} }), 404, 'feed-not-found');
  });
});

describe('fromRun', () => {
  it('replays the input of a run logged at level values, sensitive fields still masked, and refuses one logged without values', async () => {
    const { mock, feed } = await setup({ input: { fields: [{ name: 'email', required: true }, { name: 'phone', sensitive: true }] }, log: { level: 'values' } });
    await mock.on('POST', '/api/lists/5/members', { status: 201, json: {} });
    const live = await jsonPost(feed.publicKey, { email: 'a@b.example', list: '5', phone: '+41 79 000' });
    const { runId } = (await live.json()) as { runId: string };
    await runsOf(feed.id);
    const answer = (await (await dryRun(feed.id, { fromRun: runId })).json()) as any;
    expect(answer.input).toEqual({ email: 'a@b.example', list: '5', phone: '***' });
    expect(answer.request.body).toEqual({ email_address: 'a@b.example', tags: ['web-signup'], phone: '***' });
    await expectProblem(await dryRun(feed.id, { fromRun: 'run_nope' }), 404, 'run-not-found');
    await expectProblem(await dryRun(feed.id, { fromRun: runId, input: {} }), 400, 'validation-failed');

    const plain = await setup();
    await plain.mock.on('POST', '/api/lists/5/members', { status: 201, json: {} });
    const { runId: plainRun } = (await (await jsonPost(plain.feed.publicKey, { email: 'a@b.example', list: '5' })).json()) as { runId: string };
    await runsOf(plain.feed.id);
    const refused = await expectProblem(await dryRun(plain.feed.id, { fromRun: plainRun }), 400, 'validation-failed');
    expect(Object.keys(refused.errors)).toEqual(['/fromRun']);
  });
});

describe('POST /api/feeds/dry-run (a draft)', () => {
  it('runs a draft checked with the save checks against its connection', async () => {
    const mock = new Mock();
    const slug = await feedConnection(mock.url('/api'));
    const res = await admin('/api/feeds/dry-run', { method: 'POST', json: { feed: feedOf(slug), input: { email: 'a@b.example', name: 'Ann' } } });
    const answer = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(answer.request.body).toEqual({ email: 'a@b.example', name: 'Ann' });
    await expectNoUpstream(mock);
    const bad = await admin('/api/feeds/dry-run', { method: 'POST', json: { feed: { ...feedOf(slug), request: { method: 'GET', path: '/x', body: { format: 'json' } } }, input: {} } });
    const problem = await expectProblem(bad, 400, 'validation-failed');
    expect(Object.keys(problem.errors)).toContain('/feed/request/body/format');
    const unknown = await admin('/api/feeds/dry-run', { method: 'POST', json: { feed: feedOf('no-such-connection'), input: {} } });
    expect(Object.keys((await expectProblem(unknown, 400, 'validation-failed')).errors)).toContain('/feed/connection');
    await expectProblem(await admin('/api/feeds/dry-run', { method: 'POST', json: { input: {} } }), 400, 'validation-failed');
  });
});
