/**
 * The listing at scale: 2,500 connections paged through with a cursor, a bounded number of KV
 * operations per request (the platform allows 1,000 per invocation), filters and bad parameters.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionListAnswer } from '../../contract/answers';
import { app } from '../../worker/index';
import { ADMIN, admin, ORIGIN } from '../support/worker-api';
import { countingKv } from '../support/worker-oauth';

const COUNT = 2_500;
const slugOf = (i: number) => `list-${String(i).padStart(4, '0')}`;

/** One listing request through the app with a KV that counts every operation. */
async function listCounted(query: string): Promise<{ status: number; body: ConnectionListAnswer; operations: number }> {
  const { kv, total } = countingKv();
  const res = await app.request(`${ORIGIN}/api/connections${query}`, { headers: ADMIN }, { ...env, CONNECTIONS: kv });
  return { status: res.status, body: (await res.json()) as ConnectionListAnswer, operations: total() };
}

/** Homes written through the API; the rest of the 2,500 are copies of their KV entries under other slugs. */
const THROUGH_API = 20;

beforeAll(async () => {
  const answers = await Promise.all(
    Array.from({ length: THROUGH_API }, (_, i) =>
      admin('/api/connections', {
        method: 'POST',
        json: { name: `Listed ${i}`, slug: slugOf(i), baseUrl: `https://api${i % 7}.example/v1`, auth: { method: 'bearer', token: `list-token-${i}` } },
      }),
    ),
  );
  expect(answers.map((r) => r.status)).toEqual(answers.map(() => 201));
  // Each home is a SQLite database of its own on disk; 2,500 of them take minutes to make here. The
  // listing reads KV only, so the rest are the entries a home writes, copied under other slugs.
  const template = await env.CONNECTIONS.getWithMetadata<Record<string, unknown>>(`conn:${slugOf(0)}`);
  for (let start = THROUGH_API; start < COUNT; start += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, COUNT - start) }, (_, j) => {
        const i = start + j;
        const metadata = { ...template.metadata!, name: `Listed ${i}`, baseOrigin: `https://api${i % 7}.example` };
        return env.CONNECTIONS.put(`conn:${slugOf(i)}`, template.value!, { metadata });
      }),
    );
  }
}, 120_000);

describe('GET /api/connections with 2,500 connections', () => {
  it('pages through all of them in slug order with one KV operation per request', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    let requests = 0;
    while (cursor !== null) {
      const { status, body, operations } = await listCounted(`?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(status).toBe(200);
      expect(operations).toBe(1);
      expect(body.connections.length).toBeLessThanOrEqual(1000);
      seen.push(...body.connections.map((c) => c.slug));
      cursor = body.cursor;
      requests++;
      expect(requests).toBeLessThan(10);
    }
    expect(seen).toEqual(Array.from({ length: COUNT }, (_, i) => slugOf(i)));
  });

  it('answers 100 bounded Summaries by default, never a secret', async () => {
    const { body, operations } = await listCounted('');
    expect(operations).toBe(1);
    expect(body.connections).toHaveLength(100);
    expect(body.cursor).not.toBeNull();
    expect(body.connections[0]).toEqual({
      slug: 'list-0000',
      name: 'Listed 0',
      method: 'bearer',
      baseOrigin: 'https://api0.example',
      updatedAt: expect.stringMatching(/^\d{4}-/),
      version: 1,
      lastCallAt: null,
      calls24h: 0,
      errorRate24h: null,
    });
    expect(JSON.stringify(body)).not.toContain('list-token-');
    for (const summary of body.connections) expect(new TextEncoder().encode(JSON.stringify(summary)).byteLength).toBeLessThan(1024);
  });

  it('filters by slug prefix', async () => {
    const { body, operations } = await listCounted('?q=list-24&limit=1000');
    expect(operations).toBe(1);
    expect(body.connections.map((c) => c.slug)).toEqual(Array.from({ length: 100 }, (_, i) => slugOf(2400 + i)));
    expect(body.cursor).toBeNull();
  });

  it.each([
    ['?limit=0', 'limit'],
    ['?limit=1001', 'limit'],
    ['?limit=ten', 'limit'],
    ['?limit=-5', 'limit'],
    ['?cursor=%00bad', 'cursor'],
    ['?q=Not%20A%20Slug', 'q'],
  ])('answers 400 with a field error for %s', async (query, field) => {
    const res = await admin(`/api/connections${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    const problem = (await res.json()) as { errors: Record<string, string[]> };
    expect(Object.keys(problem.errors)).toEqual([field]);
  });

  it('answers 400, not 500, for a cursor KV does not know', async () => {
    const res = await admin('/api/connections?cursor=bm90LWEtY3Vyc29y');
    expect([200, 400]).toContain(res.status);
    expect(res.status).not.toBe(500);
  });
});
