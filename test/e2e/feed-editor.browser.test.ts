// The feed editor in a real Chromium against the running app: a feed made from a connection's page
// with the form, the live preview of what a submission would send, the trigger URL it shows, and
// a submission to that URL reaching the upstream with exactly the previewed body.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { RecordedRequest } from '../support/mock-types.ts';
import { ADMIN_TOKEN, BASE_URL, launchBrowser, MOCK_ORIGIN } from './browser.ts';

const ADMIN = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
const ns = `fde${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const SLUG = `${ns}-crm`;
const API_TOKEN = `static-${randomUUID()}`;
const SHOP = 'https://shop.example';
let browser: Browser;

before(async () => {
  browser = await launchBrowser();
  const program = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, {
    method: 'PUT',
    body: JSON.stringify([{ method: 'POST', path: '/v1/members', responses: [{ status: 201, json: { id: 'm_7' } }] }]),
  });
  assert.equal(program.status, 204);
  const res = await fetch(`${BASE_URL}/api/connections`, {
    method: 'POST',
    headers: ADMIN,
    body: JSON.stringify({ name: 'Editor CRM', slug: SLUG, baseUrl: `${MOCK_ORIGIN}/${ns}/v1`, auth: { method: 'bearer', token: API_TOKEN } }),
  });
  assert.equal(res.status, 201, await res.text());
});

after(async () => {
  await browser?.close();
});

async function upstreamRequests(): Promise<RecordedRequest[]> {
  const res = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/requests`);
  return ((await res.json()) as { requests: RecordedRequest[] }).requests;
}

test('a feed made in the editor previews its request, shows its trigger URL, and runs as previewed', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(BASE_URL);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Connections', exact: true, level: 1 }).waitFor();
  await page.goto(`${BASE_URL}/connections/${SLUG}`);
  await page.getByRole('heading', { name: 'Editor CRM', level: 1 }).waitFor();
  // The Feeds section's own link: once the list has loaded empty, its empty state offers a second one.
  await page.getByRole('region', { name: 'Feeds' }).getByRole('link', { name: 'New feed' }).first().click();
  await page.getByRole('heading', { name: 'New feed', level: 1 }).waitFor();
  assert.equal(new URL(page.url()).searchParams.get('connection'), SLUG);

  await page.getByLabel('Name', { exact: true }).fill('Signup from the editor');
  await page.getByLabel('Origin 1', { exact: true }).fill(SHOP);
  await page.getByRole('button', { name: 'Add field' }).click();
  await page.getByLabel('Field 2 name').fill('name');
  await page.getByLabel('Path', { exact: true }).fill('/members');
  await page.getByRole('button', { name: 'Add body field' }).click();
  await page.getByLabel('Body field 2 target').fill('/merge_fields/FNAME');
  await page.getByLabel('Body field 2 template').fill('{{/input/name}}');

  // The preview renders what a submission would send, with the credential masked.
  await page.getByLabel('Sample input (JSON)').fill('{"email": "ann@example.com", "name": "Ann"}');
  const body = page.getByLabel('Request body');
  await page.waitForFunction(
    () => (globalThis as any).document.querySelector('[aria-label="Request body"]')?.textContent?.includes('FNAME'),
    undefined,
    { timeout: 10_000 },
  );
  assert.deepEqual(JSON.parse((await body.textContent()) ?? ''), { email: 'ann@example.com', merge_fields: { FNAME: 'Ann' } });
  assert.ok(!(await page.content()).includes(API_TOKEN), 'the credential is never on the page');

  await page.getByRole('button', { name: 'Create feed' }).click();
  await page.waitForURL(/\/feeds\/fd_[a-z2-7]{16}$/);
  await page.getByRole('heading', { name: 'Signup from the editor', level: 1 }).waitFor();
  const triggerText = (await page.getByRole('region', { name: 'Trigger URL' }).textContent()) ?? '';
  const triggerUrl = /https?:\/\/\S+?\/hook\/fpk_[a-z2-7]{26}/.exec(triggerText)?.[0];
  assert.ok(triggerUrl, `a trigger URL is shown: ${triggerText.slice(0, 200)}`);
  await context.close();

  // What the preview showed is what a submission sends.
  const res = await fetch(triggerUrl, {
    method: 'POST',
    headers: { Origin: SHOP, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: 'email=ann%40example.com&name=Ann',
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(((await res.json()) as { ok: boolean }).ok, true);
  const requests = await upstreamRequests();
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.path, '/v1/members');
  assert.equal(requests[0]!.headers.authorization, `Bearer ${API_TOKEN}`);
  assert.deepEqual(JSON.parse(requests[0]!.body), { email: 'ann@example.com', merge_fields: { FNAME: 'Ann' } });
});
