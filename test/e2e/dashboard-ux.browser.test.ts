// What a person meets in a real Chromium that a DOM without layout cannot show: the console on a
// first visit, where the keyboard focus goes, how long values wrap at desktop and phone widths,
// the brand mark, the stored method in the editor, and the question before leaving unsaved edits.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { ADMIN_TOKEN, BASE_URL, launchBrowser, MOCK_ORIGIN } from './browser.ts';

const ADMIN = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
const LONG_SLUG = `${'a'.repeat(31)}-${'b'.repeat(32)}`;
const LONG_BASE_URL = 'https://api.some-very-long-host-name.example.com/v2/tenants/12345/resources';
const ns = `ux${randomUUID().replaceAll('-', '')}`;
let browser: Browser;

async function createConnection(body: unknown) {
  const res = await fetch(`${BASE_URL}/api/connections`, { method: 'POST', headers: ADMIN, body: JSON.stringify(body) });
  assert.equal(res.status, 201, await res.text());
}

before(async () => {
  browser = await launchBrowser();
  const program = await fetch(`${MOCK_ORIGIN}/__mock/${ns}/routes`, {
    method: 'PUT',
    body: JSON.stringify([{ method: 'POST', path: '/oauth/token', responses: [{ json: { access_token: 'at-ux', token_type: 'Bearer', expires_in: 600 } }] }]),
  });
  assert.equal(program.status, 204);
  await createConnection({
    name: 'Focus API',
    slug: `${ns}-focus`,
    baseUrl: `${MOCK_ORIGIN}/${ns}/api`,
    auth: { method: 'oauth2_client_credentials', clientId: 'c', clientSecret: 's', tokenUrl: `${MOCK_ORIGIN}/${ns}/oauth/token` },
  });
  await createConnection({ name: 'A connection with a very long slug', slug: LONG_SLUG, baseUrl: LONG_BASE_URL, auth: { method: 'bearer', token: 't' } });
});

after(async () => {
  await browser?.close();
});

async function signedIn(options: { width?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(BASE_URL);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Connections', exact: true, level: 1 }).waitFor();
  return { context, page };
}

/** The characters a line of the element's text ends with, but its last line. */
function lineEnds(element: Locator): Promise<string[]> {
  // Runs in the page: typed loosely, as this project's Node types have no DOM.
  return element.evaluate((root: any) => {
    const document = (globalThis as any).document;
    const SHOW_TEXT = 4;
    const ends: string[] = [];
    const walker = document.createTreeWalker(root, SHOW_TEXT);
    let previous: { char: string; top: number } | undefined;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent ?? '';
      for (let i = 0; i < text.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (!rect) continue;
        if (previous && rect.top > previous.top + 2) ends.push(previous.char);
        previous = { char: text[i]!, top: rect.top };
      }
    }
    return ends;
  });
}

const SEPARATORS = new Set(['/', '.', '-', '?', '&', '=', '>']);

test('a first visit logs no error to the console (no failed session check)', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(BASE_URL);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.waitForLoadState('networkidle');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the brand mark draws more than a bar: its figure spans at least half its height', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(BASE_URL);
  const mark = page.locator('.brand-mark').first();
  await mark.waitFor();
  const { figure, box } = await mark.evaluate((el: any) => {
    const box = el.getBoundingClientRect();
    const shapes: { top: number; bottom: number }[] = [...el.querySelectorAll('path, circle, line, polyline')].map((s: any) => s.getBoundingClientRect());
    const top = Math.min(...shapes.map((r) => r.top));
    const bottom = Math.max(...shapes.map((r) => r.bottom));
    return { figure: shapes.length ? bottom - top : 0, box: box.height };
  });
  assert.ok(box > 0);
  assert.ok(figure >= box / 2, `figure ${figure}px high in a ${box}px mark`);
  await context.close();
});

test('Test connection and Purge keep the keyboard focus on the button that was pressed', async () => {
  const { context, page } = await signedIn();
  await page.goto(`${BASE_URL}/connections/${ns}-focus`);
  await page.getByRole('heading', { name: 'Focus API', level: 1 }).waitFor();

  const testButton = page.getByRole('button', { name: 'Test connection', exact: true });
  await testButton.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('region', { name: 'Test connection' }).getByRole('heading', { name: 'Token received' }).waitFor();
  assert.equal(await testButton.evaluate((el) => el === (globalThis as any).document.activeElement), true, 'focus after Test connection');

  const status = page.getByRole('region', { name: 'Token status' });
  const purge = status.getByRole('button', { name: 'Purge cached token' });
  await purge.focus();
  await page.keyboard.press('Enter');
  await status.getByText('Cached token purged', { exact: false }).waitFor();
  assert.equal(await purge.evaluate((el) => el === (globalThis as any).document.activeElement), true, 'focus after Purge');
  await context.close();
});

test('a 64-character slug leaves the list readable: the Base URL wraps only after its separators', async () => {
  const { context, page } = await signedIn();
  const row = page.getByRole('row').filter({ hasText: LONG_SLUG.slice(0, 20) });
  await row.waitFor();
  const url = row.locator('td[data-label="Base URL"]');
  const ends = await lineEnds(url);
  assert.ok(ends.every((c) => SEPARATORS.has(c)), `Base URL lines end with ${JSON.stringify(ends)}`);
  for (const cell of ['th[scope="row"]', 'td[data-label="Base URL"]']) {
    const width = (await row.locator(cell).boundingBox())!.width;
    assert.ok(width >= 140, `${cell} is ${width}px wide`);
  }
  await context.close();
});

test('at 390 px the endpoint box takes the width and wraps only after separators', async () => {
  const { context, page } = await signedIn({ width: 390 });
  await page.goto(`${BASE_URL}/connections/${LONG_SLUG}`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  const usage = page.getByRole('region', { name: 'Usage' });
  const endpoint = usage.locator('.endpoint');
  const ends = await lineEnds(endpoint);
  assert.ok(ends.length <= 3, `${ends.length + 1} lines`);
  assert.ok(ends.every((c) => SEPARATORS.has(c)), `endpoint lines end with ${JSON.stringify(ends)}`);
  const [box, card] = [await endpoint.boundingBox(), await usage.boundingBox()];
  assert.ok(box!.width >= card!.width * 0.7, `endpoint ${box!.width}px in a ${card!.width}px card`);
  await context.close();
});

test('the editor shows the stored method, and asks before leaving unsaved edits', async () => {
  const { context, page } = await signedIn();
  await page.goto(`${BASE_URL}/connections/${LONG_SLUG}`);
  const method = page.getByLabel('Authentication method');
  await method.waitFor();
  assert.equal(await method.evaluate((el: any) => el.selectedOptions[0]?.textContent), 'Bearer token');

  await page.getByLabel('API Name').fill('Renamed without saving');
  let asked = '';
  page.once('dialog', (dialog) => {
    asked = dialog.message();
    void dialog.dismiss();
  });
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Connections' }).click();
  await page.waitForTimeout(200);
  assert.match(asked, /without saving/);
  assert.equal(new URL(page.url()).pathname, `/connections/${LONG_SLUG}`);
  assert.equal(await page.getByLabel('API Name').inputValue(), 'Renamed without saving');
  await context.close();
});
