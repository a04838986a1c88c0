/**
 * The feed trigger end to end (FEEDS.md §3.3 to §3.6, §3.11): real KV and homes, the recording
 * mock upstream, what the caller gets and what the upstream received (or that it was not called).
 */
import { describe, expect, it } from 'vitest';
import { Mock } from '../support/worker-mock';
import { admin, call } from '../support/worker-api';
import {
  NAVIGATE,
  SHOP,
  UPSTREAM_SECRET,
  createFeed,
  expectNoUpstream,
  expectProblem,
  feedConnection,
  feedOf,
  formPost,
  hook,
  jsonPost,
  runsOf,
} from '../support/worker-feeds';

async function setup(overrides: Record<string, any> = {}, connectionExtra: Record<string, unknown> = {}) {
  const mock = new Mock();
  const slug = await feedConnection(mock.url('/api'), connectionExtra);
  const feed = await createFeed(feedOf(slug, overrides));
  return { mock, slug, feed, key: feed.publicKey as string };
}

describe('a JSON caller', () => {
  it('sends the mapped body upstream with the credential and answers ok with the mapped data', async () => {
    const { mock, key, feed } = await setup({ response: { json: { data: [{ target: '/memberId', source: '/response/body/id' }] } } });
    await mock.on('POST', '/api/members', { status: 201, json: { id: 'm_1', secret: 'internal' } });
    const res = await jsonPost(key, { email: 'a@b.example', name: 'Ann' });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const body = JSON.parse(text);
    expect(body).toEqual({ ok: true, runId: expect.stringMatching(/^run_/), data: { memberId: 'm_1' } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(SHOP);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const [sent] = await mock.requestsTo('/api/members');
    expect(sent!.body).toBe('{"email":"a@b.example","name":"Ann"}');
    expect(sent!.headers['content-type']).toBe('application/json');
    expect(sent!.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
    expect(sent!.headers.origin).toBeUndefined();
    const runs = await runsOf(feed.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ kind: 'feed-run', feedId: feed.id, runId: body.runId, trigger: 'browser', outcome: 'success', status: 200, upstreamStatus: 201, origin: SHOP });
  });
});
