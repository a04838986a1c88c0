// The connection list, the editor's version check, the test request and the activity in a real
// Chromium against the running app: filter by slug prefix, a save refused after someone else's,
// a test request through the relay that then shows in the call log with its details.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_TOKEN, BASE_URL, launchBrowser, MOCK_ORIGIN } from './browser.ts';

const ADMIN = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
const ns = `act${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const SLUG = `${ns}-orders`;
const ACCESS_TOKEN = `at-${randomUUID()}`;
/** Set to a folder to keep screenshots of what these tests see (light, dark, 390 px). */
const SHOTS = process.env.E2E_SCREENSHOTS;
let browser: Browser;

const input = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  slug: SLUG,
  baseUrl: `${MOCK_ORIGIN}/${ns}/api`,
  auth: { method: 'oauth2_client_credentials', clientId: 'c', clientSecret: 's', tokenUrl: `${MOCK_ORIGIN}/${ns}/oauth/token` },
  ...extra,
});

before(async () => {
  browser = await launchBrowser();
  const program = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, {
    method: 'PUT',
    body: JSON.stringify([
      { method: 'POST', path: '/oauth/token', responses: [{ json: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 600 } }] },
      { method: 'GET', path: '/api/orders', responses: [{ json: { orders: [{ id: 1, status: 'open' }] } }] },
    ]),
  });
  assert.equal(program.status, 204);
  for (const [slug, name] of [[SLUG, 'Orders API'], [`${ns}-billing`, 'Billing API']] as const) {
    const res = await fetch(`${BASE_URL}/api/connections`, { method: 'POST', headers: ADMIN, body: JSON.stringify({ ...input(name), slug }) });
    assert.equal(res.status, 201, await res.text());
  }
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
});

async function signedIn(options: { width?: number; dark?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 }, colorScheme: options.dark ? 'dark' : 'light' });
  const page = await context.newPage();
  await page.goto(BASE_URL);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Connections', exact: true, level: 1 }).waitFor();
  return { context, page };
}

test('filters the list by slug prefix on the server and shows the activity columns', async () => {
  const { context, page } = await signedIn();
  await page.getByRole('columnheader', { name: 'Calls (24 h)' }).waitFor();
  await page.getByLabel('Filter').fill(`${ns}-b`);
  const rows = page.getByRole('table', { name: 'Connections' }).getByRole('row');
  await page.getByRole('link', { name: 'Billing API' }).waitFor();
  await page.waitForFunction(() => !(globalThis as any).document.body.textContent.includes('Searching'));
  assert.equal(await rows.count(), 2, 'the header and the one match');
  await page.getByLabel('Filter').fill('no-such-slug-prefix');
  await page.getByRole('heading', { name: 'No matching connections' }).waitFor();
  await page.getByRole('button', { name: 'Clear filter' }).click();
  await page.getByRole('link', { name: 'Orders API' }).waitFor();
  await context.close();
});

test('refuses a save made after someone else’s, and Reload shows theirs', async () => {
  const { context, page } = await signedIn();
  await page.goto(`${BASE_URL}/connections/${SLUG}`);
  await page.getByRole('heading', { name: 'Orders API', level: 1 }).waitFor();
  // Someone else saves meanwhile.
  const res = await fetch(`${BASE_URL}/api/connections/${SLUG}`, { method: 'PUT', headers: ADMIN, body: JSON.stringify(input('Orders API (theirs)')) });
  assert.equal(res.status, 200, await res.text());
  await page.getByLabel('Scope').fill('mine');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'Someone saved this connection meanwhile' });
  await alert.waitFor();
  await alert.getByRole('button', { name: 'Reload' }).click();
  await page.waitForFunction(() => (globalThis as any).document.getElementById('f-name')?.value === 'Orders API (theirs)');
  assert.equal(await page.getByLabel('Scope').inputValue(), '');
  assert.equal(await page.evaluate(() => (globalThis as any).document.activeElement?.id), 'f-name');
  await context.close();
});

test('sends a test request through the relay and finds it in the activity with its details, never the token', async () => {
  const { context, page } = await signedIn();
  await page.goto(`${BASE_URL}/connections/${SLUG}`);
  await page.getByRole('heading', { name: 'No calls yet' }).waitFor();
  const panel = page.getByRole('region', { name: 'Send a test request' });
  await panel.getByLabel('Path').fill('/orders');
  await panel.getByRole('button', { name: 'Add parameter' }).click();
  await panel.getByLabel('Parameter 1 name').fill('status');
  await panel.getByLabel('Parameter 1 value').fill('open');
  await panel.getByRole('button', { name: 'Send request' }).click();
  const result = panel.getByRole('region', { name: 'Test request result' });
  await result.getByRole('heading', { name: /^Answered 200 in \d+ ms$/ }).waitFor();
  const text = await result.innerText();
  assert.match(text, /Requested from the Token URL for this call/);
  assert.match(text, /"status": "open"/, 'the JSON body is pretty-printed');
  assert.ok(!(await page.content()).includes(ACCESS_TOKEN), 'no token in the page');

  const activity = page.getByRole('region', { name: 'Activity' });
  const row = activity.getByRole('table', { name: /Recent calls/ }).getByRole('row').filter({ hasText: 'Test' });
  await row.first().waitFor({ timeout: 8000 });
  assert.match(await row.first().innerText(), /GET[\s\S]*\/orders[\s\S]*200[\s\S]*Success/);
  await row.first().getByRole('button', { name: /^Details/ }).click();
  await activity.getByText('Upstream status').waitFor();
  await activity.getByRole('img', { name: /Calls per/ }).waitFor({ timeout: 8000 });

  if (SHOTS) {
    await page.screenshot({ path: `${SHOTS}/connection-light.png`, fullPage: true });
    await activity.screenshot({ path: `${SHOTS}/Activity-light.png` });
    await panel.screenshot({ path: `${SHOTS}/Send-a-test-request-light.png` });
    for (const [name, options] of [['dark', { dark: true }], ['phone', { width: 390 }], ['phone-dark', { width: 390, dark: true }]] as const) {
      const other = await signedIn(options);
      await other.page.screenshot({ path: `${SHOTS}/list-${name}.png`, fullPage: true });
      await other.page.goto(`${BASE_URL}/connections/${SLUG}`);
      await other.page.getByRole('table', { name: /Recent calls/ }).waitFor();
      await other.page.getByRole('img', { name: /Calls per/ }).waitFor();
      await other.page.screenshot({ path: `${SHOTS}/connection-${name}.png`, fullPage: true });
      for (const region of ['Activity', 'Send a test request']) {
        await other.page.getByRole('region', { name: region }).screenshot({ path: `${SHOTS}/${region.replaceAll(' ', '-')}-${name}.png` });
      }
      await other.context.close();
    }
  }
  await context.close();
});
