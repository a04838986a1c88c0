// The attack corpus cases that need a real HTTP connection (the built Worker under `wrangler dev`,
// as test/e2e/run.js starts it): bodies answered unread keep the connection usable, `Connection`
// is consumed by the runtime (what that means for the headers it names), and request targets the
// runtime itself refuses (absolute form, CONNECT) reach neither the Worker nor an upstream.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, test } from 'node:test';
import type { RecordedRequest } from '../support/mock-types.ts';

const BASE_URL = process.env.E2E_BASE_URL!;
const ADMIN_TOKEN = process.env.E2E_ADMIN_TOKEN!;
const MOCK_ORIGIN = process.env.E2E_MOCK_ORIGIN!;
const { hostname, port } = new URL(BASE_URL);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
after(() => agent.destroy());

interface Answer {
  status: number;
  body: string;
  reusedSocket: boolean;
}

/** One request on the shared keep-alive connection (one socket at most). */
function send(method: string, path: string, headers: Record<string, string | number> = {}, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers, agent }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function mockRequests(ns: string): Promise<{ requests: RecordedRequest[]; unexpected: RecordedRequest[] }> {
  return (await fetch(`${MOCK_ORIGIN}/__mock/${ns}/requests`)).json() as Promise<{ requests: RecordedRequest[]; unexpected: RecordedRequest[] }>;
}

/** A connection to the mock upstream namespace `ns` and a relay key for it. */
async function relayTo(ns: string, auth: Record<string, unknown>): Promise<{ slug: string; key: string }> {
  const slug = `e2e-edge-${randomUUID().slice(0, 8)}`;
  const created = await fetch(`${BASE_URL}/api/connections`, {
    method: 'POST',
    headers: { ...admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Edges', slug, baseUrl: `${MOCK_ORIGIN}/${ns}/v1`, auth }),
  });
  assert.equal(created.status, 201, await created.text());
  const key = await fetch(`${BASE_URL}/api/connections/${slug}/keys`, { method: 'POST', headers: { ...admin, 'Content-Type': 'application/json' }, body: '{"name":"e2e"}' });
  return { slug, key: ((await key.json()) as { key: string }).key };
}

const BIG = Buffer.alloc(5 * 1024 * 1024, 0x7b);

for (const [label, method, path, headers, body, status] of [
  ['413 (declared length over the cap)', 'POST', '/api/connections', { ...admin, 'Content-Type': 'application/json', 'Content-Length': BIG.length }, BIG, 413],
  ['413 (chunked over the cap)', 'POST', '/api/connections', { ...admin, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, BIG, 413],
  ['415', 'POST', '/api/connections', { ...admin, 'Content-Type': 'text/plain', 'Content-Length': 60_000 }, Buffer.alloc(60_000, 0x61), 415],
  ['401 on /api', 'PUT', '/api/connections/x', { 'Content-Type': 'application/json', 'Content-Length': 60_000 }, Buffer.alloc(60_000, 0x61), 401],
  ['401 on the relay', 'POST', '/relay/no-such-slug/x', { 'Content-Length': BIG.length }, BIG, 401],
] as const) {
  test(`after a ${label} answered without reading the body, the next request on the same connection succeeds`, async () => {
    const first = await send(method, path, headers, body);
    assert.equal(first.status, status, first.body.slice(0, 200));
    assert.match(first.body, /"type":"https:\/\/edge-api-connector\.dev\/problems\//);
    const next = await send('GET', '/api/connections', admin);
    assert.equal(next.status, 200, next.body.slice(0, 200));
    assert.equal(next.reusedSocket, true, 'the second request went on the same connection');
  });
}

test('a header named in Connection does not reach the upstream as the product is served, and the credential is still set', async () => {
  const ns = `edge${randomUUID().replaceAll('-', '')}`;
  await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, { method: 'PUT', body: JSON.stringify([{ method: 'GET', path: '/v1/h', responses: [{ json: {} }] }]) });
  const { slug, key } = await relayTo(ns, { method: 'api_key', name: 'X-Api-Key', value: 'e2e-named-key', in: 'header' });
  const res = await send('GET', `/relay/${slug}/h`, {
    Authorization: `Bearer ${key}`,
    Connection: 'keep-alive, X-Named-Hop, X-Api-Key, Authorization, X-Forwarded-For',
    'X-Named-Hop': 'named',
    'X-Api-Key': 'caller-value',
    'X-Forwarded-For': '203.0.113.9',
  });
  assert.equal(res.status, 200, res.body);
  const { requests, unexpected } = await mockRequests(ns);
  assert.deepEqual(unexpected, []);
  assert.equal(requests.length, 1);
  const got = requests[0]!.headers;
  // Served straight from workerd (as `npm start` does), a header the caller names in `Connection`
  // is hop-by-hop and goes no further (README, "Headers named in Connection").
  assert.equal(got['x-named-hop'], undefined);
  assert.equal(got['x-api-key'], 'e2e-named-key');
  assert.equal(got.authorization, undefined);
  assert.equal(got['x-forwarded-for'], undefined);
  assert.ok(!JSON.stringify(got).includes(key));
});

/** Writes `raw` on a fresh socket and answers the status line the server sent back ('' if none). */
function rawExchange(raw: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(raw));
    let text = '';
    const done = () => resolve(text.split('\r\n', 1)[0] ?? '');
    socket.on('data', (d) => (text += d));
    socket.on('end', done);
    socket.on('error', done);
    setTimeout(() => {
      socket.destroy();
      done();
    }, 5000);
  });
}

test('absolute-form targets and CONNECT are refused before the Worker runs, reach no upstream, and leave the server serving', async () => {
  const ns = `edge${randomUUID().replaceAll('-', '')}`;
  const { slug, key } = await relayTo(ns, { method: 'bearer', token: 'e2e-absolute-token' });
  const upstream = new URL(MOCK_ORIGIN);
  for (const target of [
    `GET http://${upstream.host}/${ns}/v1/x HTTP/1.1`,
    `GET ${BASE_URL}/relay/${slug}/x HTTP/1.1`,
    `GET http://evil.example/relay/${slug}/x HTTP/1.1`,
    `CONNECT ${upstream.host} HTTP/1.1`,
    `CONNECT evil.example:443 HTTP/1.1`,
  ]) {
    const line = await rawExchange(`${target}\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n\r\n`);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(line)?.[1] ?? 0);
    assert.ok(status === 0 || status >= 400, `${target}: ${line}`);
  }
  const { requests, unexpected } = await mockRequests(ns);
  assert.deepEqual([...requests, ...unexpected], []);
  assert.equal((await fetch(`${BASE_URL}/api/health`)).status, 200);
});

/** Writes `raw` on a fresh socket and answers the whole answer as it came on the wire (head and body). */
function rawAnswer(raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(raw));
    let text = '';
    const finish = () => {
      socket.destroy();
      resolve(text);
    };
    socket.on('data', (d) => {
      text += d;
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (length ? text.length - end - 4 >= Number(length[1]) : text.endsWith('0\r\n\r\n')) finish();
    });
    socket.on('end', finish);
    socket.on('error', reject);
  });
}

test('the upstream’s connection headers never reach the caller, whether the answer is relayed as it came or copied', async () => {
  const ns = `edge${randomUUID().replaceAll('-', '')}`;
  await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, {
    method: 'PUT',
    body: JSON.stringify([
      // Only what the runtime owns: relayed as it came.
      { method: 'GET', path: '/v1/plain', responses: [{ json: { n: 1 }, headers: { 'Keep-Alive': 'timeout=123, max=7', ETag: '"p1"' } }] },
      // A header the upstream names in Connection: the answer is copied without it.
      { method: 'GET', path: '/v1/named', responses: [{ json: { n: 2 }, headers: { Connection: 'keep-alive, X-Upstream-Hop', 'X-Upstream-Hop': 'hop', 'Keep-Alive': 'timeout=123', ETag: '"n1"' } }] },
    ]),
  });
  const { slug, key } = await relayTo(ns, { method: 'bearer', token: 'e2e-hop-token' });
  for (const [path, etag, body] of [
    ['/plain', '"p1"', '{"n":1}'],
    ['/named', '"n1"', '{"n":2}'],
  ] as const) {
    const wire = await rawAnswer(`GET /relay/${slug}${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n\r\n`);
    const [head = '', rest = ''] = wire.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 200 /, path);
    const lines = head.toLowerCase().split('\r\n');
    assert.ok(lines.includes(`etag: ${etag}`), `${path}: ${head}`);
    assert.ok(!head.includes('timeout=123'), `${path}: the upstream's Keep-Alive reached the caller:\n${head}`);
    assert.ok(!lines.some((l) => l.startsWith('x-upstream-hop:')), `${path}: ${head}`);
    assert.ok(!lines.some((l) => l.startsWith('connection:') && l.includes('x-upstream-hop')), `${path}: ${head}`);
    assert.ok(rest.includes(body), `${path}: ${rest}`);
  }
});
