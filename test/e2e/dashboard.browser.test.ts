// The dashboard in a real Chromium against the running app: sign in, create, list, edit without
// retyping the secret, reload, relay through a key made in the dashboard, delete.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RecordedRequest } from '../support/mock-types.ts';
import { ADMIN_TOKEN, BASE_URL, launchBrowser, MOCK_ORIGIN } from './browser.ts';

const CLIENT_SECRET = `cs-${randomUUID()}`;
const STATIC_TOKEN = `st-${randomUUID()}`;
const ACCESS_TOKEN = `at-${randomUUID()}`;
let browser: Browser;
let page: Page;
/** Bodies of every /api answer the page received: none may hold a secret. */
const apiBodies: string[] = [];

before(async () => {
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('response', async (res) => {
    if (new URL(res.url()).pathname.startsWith('/api/')) apiBodies.push(await res.text().catch(() => ''));
  });
});

after(async () => {
  await browser?.close();
});

async function signIn(p: Page) {
  await p.goto(BASE_URL);
  await p.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('heading', { name: 'Connections', exact: true }).waitFor();
}

test('refuses a wrong admin token with a clear message', async () => {
  const p = await browser.newPage();
  await p.goto(BASE_URL);
  await p.getByLabel('Admin token').fill('not-the-token');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('alert').filter({ hasText: 'not the admin token' }).waitFor();
  await p.close();
});

test('signs in, creates a connection and finds it in the list', async () => {
  await signIn(page);
  await page.getByRole('link', { name: 'New connection' }).click();
  await page.getByLabel('API Name').fill('Acme CRM');
  assert.equal(await page.getByLabel('Slug').inputValue(), 'acme-crm', 'slug suggested from the name');
  await page.getByLabel('Base URL').fill('https://api.acme.example/v2');
  await page.getByLabel('Authentication method').selectOption('oauth2_client_credentials');
  await page.getByLabel('Client ID').fill('acme-client');
  await page.getByLabel('Client Secret').fill(CLIENT_SECRET);
  await page.getByLabel('Token URL').fill('https://auth.acme.example/oauth/token');
  await page.getByLabel('Scope').fill('read:orders');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('heading', { name: 'Acme CRM', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Connections' }).first().click();
  const row = page.getByRole('row').filter({ hasText: 'acme-crm' });
  await row.waitFor();
  assert.match(await row.innerText(), /Acme CRM[\s\S]*api\.acme\.example/);
});

test('edits the connection without retyping the secret, and a reload shows the change', async () => {
  await page.getByRole('link', { name: 'Acme CRM' }).click();
  const secret = page.getByLabel('Client Secret');
  assert.equal(await secret.inputValue(), '');
  assert.equal(await secret.getAttribute('placeholder'), 'stored — enter a new value to replace');
  assert.equal(await page.getByLabel('Slug').isEditable(), false, 'the slug is permanent');
  await page.getByLabel('Scope').fill('read:orders write:orders');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('status', { name: 'Notifications' }).filter({ hasText: 'Saved changes to “Acme CRM”' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Acme CRM', level: 1 }).waitFor();
  assert.equal(await page.getByLabel('Scope').inputValue(), 'read:orders write:orders');
  assert.equal(await page.getByLabel('Client ID').inputValue(), 'acme-client');
  const res = await fetch(`${BASE_URL}/api/connections/acme-crm`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const view = (await res.json()) as { auth: { clientSecretSet: boolean } };
  assert.equal(view.auth.clientSecretSet, true, 'the stored secret was kept');
});

test('creates a relay key in the dashboard and calls the API through the relay', async () => {
  const ns = `e2e${randomUUID().replaceAll('-', '')}`;
  const program = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, {
    method: 'PUT',
    body: JSON.stringify([{ method: 'GET', path: '/v1/orders', responses: [{ json: { orders: [1, 2] }, headers: { 'X-Upstream': 'yes' } }] }]),
  });
  assert.equal(program.status, 204);

  await page.getByRole('link', { name: 'Connections' }).first().click();
  await page.getByRole('link', { name: 'New connection' }).click();
  await page.getByLabel('API Name').fill('Orders API');
  await page.getByLabel('Base URL').fill(`${MOCK_ORIGIN}/${ns}/v1`);
  await page.getByLabel('Authentication method').selectOption('bearer');
  await page.getByLabel('Token', { exact: true }).fill(STATIC_TOKEN);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('heading', { name: 'Orders API', level: 1 }).waitFor();

  await page.getByLabel('Key name').fill('website');
  await page.getByRole('button', { name: 'Create key', exact: true }).click();
  const keyField = page.getByLabel('New relay key');
  await keyField.waitFor();
  const key = await keyField.inputValue();
  assert.match(key, /^rk_[A-Za-z0-9_-]{43,}$/);

  const relayed = await fetch(`${BASE_URL}/relay/orders-api/orders?status=open`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(relayed.status, 200);
  assert.deepEqual(await relayed.json(), { orders: [1, 2] });
  assert.equal(relayed.headers.get('X-Upstream'), 'yes');
  const received = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/requests`);
  const { requests, unexpected } = (await received.json()) as { requests: RecordedRequest[]; unexpected: RecordedRequest[] };
  assert.equal(unexpected.length, 0);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.rawUrl, '/v1/orders?status=open');
  assert.equal(requests[0]?.headers.authorization, `Bearer ${STATIC_TOKEN}`);

  await page.getByRole('button', { name: 'Done', exact: true }).click();
  const wrongKey = await fetch(`${BASE_URL}/relay/orders-api/orders`, { headers: { Authorization: 'Bearer rk_wrong' } });
  assert.equal(wrongKey.status, 401);
});

test('tests an OAuth connection from the dashboard, shows the token status and purges it', async () => {
  const ns = `e2e${randomUUID().replaceAll('-', '')}`;
  const program = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, {
    method: 'PUT',
    body: JSON.stringify([
      { method: 'POST', path: '/oauth/token', responses: [{ json: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 1800, scope: 'read' } }] },
    ]),
  });
  assert.equal(program.status, 204);
  await page.goto(`${BASE_URL}/new`);
  await page.getByLabel('API Name').fill('Token API');
  await page.getByLabel('Base URL').fill(`${MOCK_ORIGIN}/${ns}/api`);
  await page.getByLabel('Client ID').fill('e2e-client');
  await page.getByLabel('Client Secret').fill(CLIENT_SECRET);
  await page.getByLabel('Token URL').fill(`${MOCK_ORIGIN}/${ns}/oauth/token`);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('heading', { name: 'Token API', level: 1 }).waitFor();

  await page.getByRole('button', { name: 'Test connection', exact: true }).click();
  const result = page.getByRole('region', { name: 'Test connection' });
  await result.getByRole('heading', { name: 'Token received' }).waitFor();
  const text = await result.innerText();
  assert.match(text, /bearer/i);
  assert.match(text, /read/);
  assert.ok(!text.includes(ACCESS_TOKEN), 'the token is never shown');

  const status = page.getByRole('region', { name: 'Token status' });
  await status.getByRole('button', { name: 'Refresh' }).click();
  await status.getByText('Yes', { exact: true }).waitFor();
  await status.getByRole('button', { name: 'Purge cached token' }).click();
  await status.getByText('Cached token purged', { exact: false }).waitFor();
  await status.getByText('No', { exact: true }).waitFor();

  const received = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/requests`);
  const { requests, unexpected } = (await received.json()) as { requests: RecordedRequest[]; unexpected: RecordedRequest[] };
  assert.equal(unexpected.length, 0);
  assert.equal(requests.length, 1, 'one token request for the test');
  assert.match(requests[0]?.body ?? '', /grant_type=client_credentials/);
  assert.ok(!(await page.content()).includes(ACCESS_TOKEN));
});

test('deletes a connection after confirmation', async () => {
  await page.goto(`${BASE_URL}/connections/acme-crm`);
  await page.getByRole('heading', { name: 'Acme CRM', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Delete connection' }).click();
  await page.getByRole('button', { name: 'Yes, delete', exact: true }).click();
  await page.getByRole('heading', { name: 'Connections', exact: true }).waitFor();
  await page.getByRole('row').filter({ hasText: 'orders-api' }).waitFor();
  assert.equal(await page.getByRole('row').filter({ hasText: 'acme-crm' }).count(), 0);
  const res = await fetch(`${BASE_URL}/api/connections/acme-crm`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 404);
});

test('no API answer the page received holds a secret', () => {
  assert.ok(apiBodies.length > 5);
  for (const body of apiBodies) {
    assert.ok(!body.includes(CLIENT_SECRET), 'client secret in an API answer');
    assert.ok(!body.includes(STATIC_TOKEN), 'static token in an API answer');
    assert.ok(!body.includes(ACCESS_TOKEN), 'access token in an API answer');
  }
});
