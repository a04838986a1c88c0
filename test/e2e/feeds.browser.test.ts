// A feed triggered by a real HTML form in Chromium: the form is served from a second local origin
// (a small server started and stopped here), posts to /hook/<key>, lands on the thank-you URL, and
// the upstream mock received exactly the mapped body. The same form from an origin the feed does
// not list is refused by the Worker and nothing reaches the upstream. Both runs then show in the
// feed's runs table in the dashboard.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { RecordedRequest } from '../support/mock-types.ts';
import { ADMIN_TOKEN, BASE_URL, launchBrowser, MOCK_ORIGIN } from './browser.ts';

const ADMIN = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
const ns = `fdb${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let browser: Browser;
let site: http.Server;
let siteOrigin = '';
let otherOrigin = '';
let triggerUrl = '';
let feedId = '';

function escapeAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

before(async () => {
  browser = await launchBrowser();
  // The shop: the form page and the thank-you page.
  site = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/form') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Signup</title>
<form method="post" action="${escapeAttr(triggerUrl)}">
<label>Email <input name="email" type="email"></label>
<label>Name <input name="name"></label>
<label><input type="checkbox" name="interests" value="news"> News</label>
<label><input type="checkbox" name="interests" value="offers"> Offers</label>
<button type="submit">Sign up</button>
</form>`);
    } else if (url.pathname === '/thanks') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Thanks</title><h1>Thanks ${escapeAttr(url.searchParams.get('m') ?? '')}</h1>`);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const { port } = site.address() as AddressInfo;
  siteOrigin = `http://127.0.0.1:${port}`;
  // The same server under another origin, which the feed does not list.
  otherOrigin = `http://localhost:${port}`;

  const program = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, {
    method: 'PUT',
    body: JSON.stringify([{ method: 'POST', path: '/v1/members', responses: [{ status: 201, json: { id: 'm_42' } }] }]),
  });
  assert.equal(program.status, 204);
  const slug = `${ns}-crm`;
  const connection = await fetch(`${BASE_URL}/api/connections`, {
    method: 'POST',
    headers: ADMIN,
    body: JSON.stringify({ name: 'CRM', slug, baseUrl: `${MOCK_ORIGIN}/${ns}/v1`, auth: { method: 'bearer', token: `tok-${randomUUID()}` } }),
  });
  assert.equal(connection.status, 201, await connection.clone().text());
  const feed = await fetch(`${BASE_URL}/api/feeds`, {
    method: 'POST',
    headers: ADMIN,
    body: JSON.stringify({
      name: 'Newsletter',
      connection: slug,
      trigger: { browser: { enabled: true, allowedOrigins: [siteOrigin] } },
      input: { fields: [{ name: 'email', required: true, format: 'email' }, { name: 'name' }, { name: 'interests', multiple: true }] },
      request: {
        method: 'POST',
        path: '/members',
        body: {
          format: 'json',
          fields: [
            { target: '/email_address', value: '{{/input/email}}' },
            { target: '/merge_fields/FNAME', value: '{{/input/name}}' },
            { target: '/interests', value: '{{/input/interests}}' },
            { target: '/tags/-', value: 'web-signup' },
          ],
        },
      },
      response: { redirect: { successUrl: `${siteOrigin}/thanks?m={{/response/body/id}}` } },
    }),
  });
  assert.equal(feed.status, 201, await feed.clone().text());
  ({ triggerUrl, id: feedId } = (await feed.json()) as { triggerUrl: string; id: string });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => site?.close(resolve));
});

async function upstreamRequests(): Promise<RecordedRequest[]> {
  const { requests, unexpected } = (await (await fetch(`${MOCK_ORIGIN}/__mock/${ns}/requests`)).json()) as { requests: RecordedRequest[]; unexpected: RecordedRequest[] };
  assert.deepEqual(unexpected, []);
  return requests;
}

test('a form on a listed origin posts to the feed, lands on the thank-you URL, and the upstream got the mapped body', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${siteOrigin}/form`);
  await page.getByLabel('Email').fill('ann@example.com');
  await page.getByLabel('Name').fill('Ann');
  await page.getByLabel('News').check();
  await page.getByLabel('Offers').check();
  await Promise.all([page.waitForURL(`${siteOrigin}/thanks?m=m_42`), page.getByRole('button', { name: 'Sign up' }).click()]);
  await page.getByRole('heading', { name: 'Thanks m_42' }).waitFor();
  const requests = await upstreamRequests();
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.body, '{"email_address":"ann@example.com","merge_fields":{"FNAME":"Ann"},"interests":["news","offers"],"tags":["web-signup"]}');
  assert.equal(requests[0]!.headers['content-type'], 'application/json');
  await context.close();
});

test('the same form from an origin the feed does not list is refused with the built-in page, and nothing reaches the upstream', async () => {
  const before = (await upstreamRequests()).length;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${otherOrigin}/form`);
  await page.getByLabel('Email').fill('eve@example.com');
  const [response] = await Promise.all([page.waitForResponse((r) => r.url() === triggerUrl), page.getByRole('button', { name: 'Sign up' }).click()]);
  assert.equal(response.status(), 403);
  await page.getByRole('heading', { name: 'We could not send your form' }).waitFor();
  assert.equal(page.url(), triggerUrl);
  assert.ok(!(await page.content()).includes('eve@example.com'));
  assert.equal((await upstreamRequests()).length, before);
  await context.close();
});

test('both runs show in the feed’s runs table in the dashboard, with their details', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(BASE_URL);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Connections', exact: true, level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Feeds', exact: true }).click();
  await page.getByRole('link', { name: 'Newsletter' }).first().click();
  await page.getByRole('heading', { name: 'Newsletter', level: 1 }).waitFor();
  assert.equal(new URL(page.url()).pathname, `/feeds/${feedId}`);
  // Runs reach the log with the isolate's next batch (about a second); the table refreshes while open.
  const table = page.getByRole('table', { name: 'Runs, newest first' });
  const success = table.getByRole('row').filter({ hasText: 'Success' });
  const refused = table.getByRole('row').filter({ hasText: 'Refused' });
  await success.first().waitFor({ timeout: 20_000 });
  await refused.first().waitFor({ timeout: 20_000 });
  assert.equal(await success.count(), 1);
  assert.equal(await refused.count(), 1);
  await success.getByRole('button', { name: /^Details/ }).click();
  await page.getByRole('table', { name: 'Attempts' }).waitFor();
  assert.match((await page.getByRole('table', { name: 'Attempts' }).textContent()) ?? '', /201/);
  await context.close();
});
