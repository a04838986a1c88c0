/**
 * Safe URL building: a corpus of hostile relay paths, sent through the Worker (where the runtime's
 * URL parser has already resolved some of them) and checked raw against the path checker (as a
 * runtime that does not normalise would hand them over). None may reach the network.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertSafeTail, buildUpstreamUrl, pathHasPrefix, splitRelayUrl } from '../../worker/relay/path';
import { withQueryParameter } from '../../worker/relay/credentials';
import { Mock } from '../support/worker-mock';
import { admin, call } from '../support/worker-api';

/** Hostile tails after `/relay/<slug>`, as a client would put them in a URL. */
const HOSTILE_THROUGH_WORKER: string[] = [
  '/../../etc/passwd',
  '/./../../x',
  '/a/../../../x',
  '/%2e%2e/%2e%2e/admin',
  '/%2E%2E/%2E%2E/%2E%2E/x',
  '/.%2e/.%2E/.%2e/x',
  '/%2e./%2E./%2e./x',
  '/a/%2e%2e/%2e%2e/%2e%2e/x',
  '/..\\..\\..\\x',
  '/..%2f..%2fadmin',
  '/..%2F..%2F',
  '/%2e%2e%2f%2e%2e%2fsecret',
  '/%2e%2fx',
  '/%252e%252e/%252e%252e/x',
  '/%25252e%25252e/x',
  '/a%252fb',
  '/..%5c..%5cwindows',
  '/%5C..%5C',
  '/%5c%5cevil.example/x',
  '/\\\\evil.example/x',
  '//evil.example/x',
  '/a//b',
  '/http://evil.example/x',
  '/https:%2f%2fevil.example',
  '/%00',
  '/a%00b',
  '/.%00./x',
  '/%0d%0aX-Injected:%20yes',
  '/%0a',
  '/%09tab',
  '/%1b[31m',
  '/%7f',
  '/..;/..;/admin',
  '/%2e%2e;jsessionid=1/x',
  '/%c0%ae%c0%ae/x',
  '/%u002e%u002e/x',
  '/%%32%65%%32%65/x',
  '/%EF%BC%8E%EF%BC%8E/x',
  // Not dot segments under RFC 3986, but Windows and IIS drop trailing dots and spaces of a segment.
  '/.../x',
  '/..../x',
  '/..%20/x',
  '/..%20%20/..%20/x',
  '/%20../x',
  '/.%20./x',
  '/.%2e./x',
  '/..%2e/x',
  '/..%E3%80%80/x',
  '/...;x/y',
  `/${'a'.repeat(9000)}`,
  `/search?${'q=1&'.repeat(2500)}`,
];

/** Hostile raw tails as a runtime that does not normalise would hand them over. */
const HOSTILE_RAW: string[] = [
  ...HOSTILE_THROUGH_WORKER.filter((t) => !t.includes('\\')),
  '/..',
  '/.',
  '/../x',
  '/a/./b',
  '/a/../b',
  '/%2e',
  '/%2E%2e',
  '/a/%2e%2e',
  '/..\\x',
  '/a\\b',
  '/a\tb',
  '/a\r\nb',
  '/a\u0000b',
  '/a b',
  '/a\u007fb',
  '/é',
  '/\uff0e\uff0e/x',
  '/...',
  '/.. ',
  '/a/.../b',
  'x/no-leading-slash',
  '/%',
  '/%2',
  '/%zz',
];

let key = '';
let slug = '';
let m: Mock;
let upstreamCalls: string[] = [];

beforeAll(async () => {
  m = new Mock();
  slug = 'hostile-paths';
  const created = await admin('/api/connections', {
    method: 'POST',
    json: { name: 'Hostile', slug, baseUrl: m.url('/v2/base'), auth: { method: 'bearer', token: 'upstream-secret-token' } },
  });
  expect(created.status).toBe(201);
  const keyRes = await admin(`/api/connections/${slug}/keys`, { method: 'POST', json: { name: 'corpus' } });
  key = ((await keyRes.json()) as { key: string }).key;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Records every outbound `fetch` the Worker makes (it runs in this isolate), without stopping it. */
function spyOnFetch(): void {
  upstreamCalls = [];
  const original = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation((input: RequestInfo | URL, init?: RequestInit) => {
    upstreamCalls.push(input instanceof Request ? input.url : String(input));
    return original(input, init);
  });
}

describe('hostile relay paths', () => {
  it(`holds at least 30 hostile paths through the Worker (${HOSTILE_THROUGH_WORKER.length}) and raw (${HOSTILE_RAW.length})`, () => {
    expect(HOSTILE_THROUGH_WORKER.length).toBeGreaterThanOrEqual(30);
    expect(new Set(HOSTILE_THROUGH_WORKER).size).toBe(HOSTILE_THROUGH_WORKER.length);
  });

  it.each(HOSTILE_THROUGH_WORKER.map((tail) => [tail.length > 60 ? `${tail.slice(0, 40)}… (${tail.length} chars)` : tail, tail]))(
    'refuses %s with 400 or 404 and makes no upstream request',
    async (_label, tail) => {
      spyOnFetch();
      const res = await call(`/relay/${slug}${tail}`, { headers: { Authorization: `Bearer ${key}` } });
      expect([400, 404]).toContain(res.status);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      const body = await res.text();
      expect(body).not.toContain('upstream-secret-token');
      expect(upstreamCalls).toEqual([]);
    },
  );

  it('made no request at all to the upstream for the whole corpus', async () => {
    const { requests, unexpected } = await m.received();
    expect(requests).toEqual([]);
    expect(unexpected).toEqual([]);
  });

  it('still checks the key first: a hostile path without a key is 401', async () => {
    const res = await call(`/relay/${slug}/..%2f..%2fadmin`);
    expect(res.status).toBe(401);
  });

  it.each(HOSTILE_RAW.map((tail) => [JSON.stringify(tail.length > 60 ? `${tail.slice(0, 40)}…` : tail), tail]))('the raw checker refuses %s', (_label, tail) => {
    const [path, query = ''] = tail.split(/(?=\?)/, 2) as [string, string?];
    expect(() => assertSafeTail(path, query)).toThrowError(expect.objectContaining({ code: 'unsafe-path' }));
    expect(() => buildUpstreamUrl('https://api.example.com/v2', path, query)).toThrowError(expect.objectContaining({ code: 'unsafe-path' }));
  });
});

describe('safe relay paths', () => {
  it('relays a harmless path, and the fetch spy used above sees it', async () => {
    await m.on('GET', '/v2/base/orders/7', { json: { id: 7 } });
    spyOnFetch();
    const res = await call(`/relay/${slug}/orders/7?x=1`, { headers: { Authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(upstreamCalls).toEqual([m.url('/v2/base/orders/7?x=1')]);
    const { requests, unexpected } = await m.received();
    expect(unexpected).toEqual([]);
    expect(requests.map((r) => r.rawUrl)).toEqual(['/v2/base/orders/7?x=1']);
  });

  it.each([
    ['https://api.example.com/v2', '/orders/42', '?a=1&b=%2F', 'https://api.example.com/v2/orders/42?a=1&b=%2F'],
    ['https://api.example.com/v2/', '/orders/', '', 'https://api.example.com/v2/orders/'],
    ['https://api.example.com/v2/', '', '?x=1', 'https://api.example.com/v2/?x=1'],
    ['https://api.example.com', '', '', 'https://api.example.com/'],
    ['https://api.example.com', '/a%20b/caf%C3%A9', '', 'https://api.example.com/a%20b/caf%C3%A9'],
    ['https://api.example.com/v2', '/file%2etxt/.well/..x', '', 'https://api.example.com/v2/file%2etxt/.well/..x'],
    ['https://api.example.com/v2', '/.well-known/x', '', 'https://api.example.com/v2/.well-known/x'],
    ['https://api.example.com/v2', '/a;b=c/100%25', '', 'https://api.example.com/v2/a;b=c/100%25'],
    ['http://127.0.0.1:8080/ns/v2', '/@evil.example', '', 'http://127.0.0.1:8080/ns/v2/@evil.example'],
  ])('builds %s + %s%s by concatenation', (base, tail, query, expected) => {
    expect(buildUpstreamUrl(base, tail, query).href).toBe(expected);
  });

  it('splits the raw request URL without decoding, dropping a fragment', () => {
    expect(splitRelayUrl('http://h/relay/acme-crm/a%2Fb/c?x=%2e%2e#frag')).toEqual({ slug: 'acme-crm', tail: '/a%2Fb/c', query: '?x=%2e%2e' });
    expect(splitRelayUrl('http://h/relay/acme-crm')).toEqual({ slug: 'acme-crm', tail: '', query: '' });
    expect(splitRelayUrl('http://h/relay/Not_A_Slug/x').slug).toBeNull();
    expect(splitRelayUrl('http://h/relay/').slug).toBeNull();
  });

  it('matches allowed path prefixes on segment boundaries only', () => {
    expect(pathHasPrefix('/orders', '/orders')).toBe(true);
    expect(pathHasPrefix('/orders/7', '/orders')).toBe(true);
    expect(pathHasPrefix('/orders/7', '/orders/')).toBe(true);
    expect(pathHasPrefix('/ordersecret', '/orders')).toBe(false);
    expect(pathHasPrefix('/Orders', '/orders')).toBe(false);
    expect(pathHasPrefix('', '/orders')).toBe(false);
    expect(pathHasPrefix('/anything', '/')).toBe(true);
  });

  it('sets a query credential by replacing same-named parameters and keeping the others byte for byte', () => {
    expect(withQueryParameter('https://a.example/p', 'k', 'v 1')).toBe('https://a.example/p?k=v+1');
    expect(withQueryParameter('https://a.example/p?', 'k', 'v')).toBe('https://a.example/p?k=v');
    expect(withQueryParameter('https://a.example/p?k=old&x=%2F&k&y=a+b', 'k', 'n&=')).toBe('https://a.example/p?x=%2F&y=a+b&k=n%26%3D');
  });
});
