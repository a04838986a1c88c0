// The feed trigger as `npm start` serves it (the built Worker straight on workerd, scripts/serve.js):
// `/hook/*` is in `run_worker_first`, so a browser navigation posting a form reaches the Worker,
// not the asset server (which would answer 405 to a POST navigation).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { test } from 'node:test';
import type { RecordedRequest } from '../support/mock-types.ts';

const BASE_URL = process.env.E2E_BASE_URL!;
const ADMIN_TOKEN = process.env.E2E_ADMIN_TOKEN!;
const MOCK_ORIGIN = process.env.E2E_MOCK_ORIGIN!;
const SHOP = 'https://shop.example';
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };

/** One request with exactly these headers (a browser's Origin and Sec-Fetch headers included). */
function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(BASE_URL);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

test('a form navigation to /hook/<key> is answered by the Worker: 303 to the thank-you URL, and the upstream got the mapped body', async () => {
  const ns = `feed${randomUUID().replaceAll('-', '')}`;
  await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, { method: 'PUT', body: JSON.stringify([{ method: 'POST', path: '/v1/members', responses: [{ status: 201, json: { id: 'm_7' } }] }]) });
  const slug = `e2e-feed-${randomUUID().slice(0, 8)}`;
  const created = await fetch(`${BASE_URL}/api/connections`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: 'Feed e2e', slug, baseUrl: `${MOCK_ORIGIN}/${ns}/v1`, auth: { method: 'bearer', token: 'e2e-feed-token' } }),
  });
  assert.equal(created.status, 201, await created.text());
  const feedRes = await fetch(`${BASE_URL}/api/feeds`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      name: 'Signup',
      connection: slug,
      trigger: { browser: { enabled: true, allowedOrigins: [SHOP] } },
      request: { method: 'POST', path: '/members', body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }] } },
      response: { redirect: { successUrl: `${SHOP}/thanks?m={{/response/body/id}}` } },
    }),
  });
  assert.equal(feedRes.status, 201, await feedRes.clone().text());
  const feed = (await feedRes.json()) as { publicKey: string; triggerUrl: string };
  assert.equal(feed.triggerUrl, `${BASE_URL}/hook/${feed.publicKey}`);

  const res = await send(
    'POST',
    `/hook/${feed.publicKey}`,
    {
      'Content-Type': 'application/x-www-form-urlencoded',
      Origin: SHOP,
      'Sec-Fetch-Mode': 'navigate',
      'Sec-Fetch-Dest': 'document',
      'Sec-Fetch-Site': 'cross-site',
      Accept: 'text/html,application/xhtml+xml',
    },
    'email=a%40b.example',
  );
  assert.equal(res.status, 303, res.body.slice(0, 300));
  assert.equal(res.headers.location, `${SHOP}/thanks?m=m_7`);
  assert.equal(res.headers['cache-control'], 'no-store');
  const { requests, unexpected } = (await (await fetch(`${MOCK_ORIGIN}/__mock/${ns}/requests`)).json()) as { requests: RecordedRequest[]; unexpected: RecordedRequest[] };
  assert.deepEqual(unexpected, []);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.body, '{"email":"a@b.example"}');

  // A GET navigation is the Worker's 405 too (its page saying the form is not available), not the dashboard.
  const get = await send('GET', `/hook/${feed.publicKey}`, { 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document', Accept: 'text/html' });
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST, OPTIONS');
  assert.equal(get.headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'");
  assert.match(get.body, /This form is not available/);
  // Without Sec-Fetch headers (a script), the same 405 is a problem document.
  const script = await send('GET', `/hook/${feed.publicKey}`, { Accept: 'application/json' });
  assert.equal(script.status, 405);
  assert.match(script.headers['content-type'] ?? '', /^application\/problem\+json/);
});
