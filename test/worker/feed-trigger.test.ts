/**
 * The feed trigger end to end (FEEDS.md §3.3 to §3.6, §3.11): real KV and homes, the recording
 * mock upstream, what the caller gets and what the upstream received (or that it was not called).
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { FeedInputSchema } from '../../contract/feed';
import { readsResponse } from '../../worker/feeds/run';
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
  feedSetup,
  formPost,
  hook,
  jsonPost,
  runsOf,
} from '../support/worker-feeds';

const setup = feedSetup;

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

  it('answers a feed that maps nothing of the answer without reading the upstream body, and one that logs values with it', async () => {
    const { mock, key, feed } = await setup();
    expect(readsResponse(v.parse(FeedInputSchema, feedOf('x')))).toBe(false);
    await mock.on('POST', '/api/members', { status: 201, json: { id: 'm_2' } });
    const res = await jsonPost(key, { email: 'a@b.example', name: 'Ann' });
    expect(await res.json()).toEqual({ ok: true, runId: expect.stringMatching(/^run_/), data: {} });
    const [run] = await runsOf(feed.id);
    expect(run).toMatchObject({ outcome: 'success', status: 200, upstreamStatus: 201 });
    for (const reading of [
      { response: { json: { data: [{ target: '/id', source: '/response/body/id' }] } } },
      { response: { json: { errorDetail: '/response/body/detail' } } },
      { response: { redirect: { successUrl: `${SHOP}/thanks?m={{/response/body/id}}` } } },
      { log: { level: 'values' } },
    ]) {
      expect(readsResponse(v.parse(FeedInputSchema, feedOf('x', reading))), JSON.stringify(reading)).toBe(true);
    }
  });

  it('fills /meta for the templates: the run id, the caller’s origin and the country the runtime puts in request.cf', async () => {
    const fields = [
      { target: '/email', value: '{{/input/email}}' },
      { target: '/run', value: '{{/meta/runId}}' },
      { target: '/origin', value: '{{/meta/origin}}' },
      { target: '/country', value: '{{/meta/country}}', ifMissing: 'null' },
    ];
    const { mock, key } = await setup({ request: { method: 'POST', path: '/members', body: { format: 'json', fields } } });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const init = { headers: { 'Content-Type': 'application/json', Origin: SHOP }, body: JSON.stringify({ email: 'a@b.example' }) };
    const withCountry = await hook(key, { ...init, cf: { country: 'NL' } } as RequestInit);
    const { runId } = (await withCountry.json()) as { runId: string };
    expect(withCountry.status).toBe(200);
    const without = await hook(key, init);
    expect(without.status).toBe(200);
    const [first, second] = await mock.requestsTo('/api/members');
    expect(JSON.parse(first!.body)).toEqual({ email: 'a@b.example', run: runId, origin: SHOP, country: 'NL' });
    // No country known (no `request.cf.country`): the row's ifMissing applies.
    expect(JSON.parse(second!.body)).toMatchObject({ email: 'a@b.example', origin: SHOP, country: null });

    // The whole of /meta, as one value: the country is in it too.
    const whole = await setup({ request: { method: 'POST', path: '/members', body: { format: 'json', fields: [{ target: '/meta', value: '{{/meta}}' }] } } });
    await whole.mock.on('POST', '/api/members', { status: 201, json: {} });
    expect((await hook(whole.key, { ...init, cf: { country: 'DE' } } as RequestInit)).status).toBe(200);
    const [sent] = await whole.mock.requestsTo('/api/members');
    expect(JSON.parse(sent!.body).meta).toMatchObject({ origin: SHOP, country: 'DE', runId: expect.stringMatching(/^run_/) });
  });
});

const unknownKey = `fpk_${'a'.repeat(26)}`;

function multipart(parts: { name?: string; filename?: string; type?: string; value: string }[]): { body: string; type: string } {
  const boundary = 'feedboundary7MA4YWxkTrZu0gW';
  let body = '';
  for (const part of parts) {
    const disposition = ['form-data', ...(part.name !== undefined ? [`name="${part.name}"`] : []), ...(part.filename !== undefined ? [`filename="${part.filename}"`] : [])].join('; ');
    body += `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n${part.value}\r\n`;
  }
  body += `--${boundary}--\r\n`;
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

function multipartPost(key: string, parts: Parameters<typeof multipart>[0], headers: Record<string, string> = {}): Promise<Response> {
  const { body, type } = multipart(parts);
  return hook(key, { headers: { 'Content-Type': type, Origin: SHOP, ...headers }, body });
}

describe('bad input (FEEDS.md §3.11)', () => {
  it('row 1: answers an unknown and a disabled public key with the same 404', async () => {
    const { mock, key, feed } = await setup({ enabled: false });
    const unknown = await jsonPost(unknownKey, { email: 'a@b.example' });
    const disabled = await jsonPost(key, { email: 'a@b.example' });
    const a = await expectProblem(unknown, 404, 'feed-not-found');
    const b = await expectProblem(disabled, 404, 'feed-not-found');
    expect(a).toEqual(b);
    await expectProblem(await jsonPost('not-a-key', {}), 404, 'feed-not-found');
    await expectNoUpstream(mock);
    // Nothing is logged for a key that opens no running feed (so no home is woken for it).
    expect(await runsOf(feed.id)).toEqual([]);
  });

  it('row 2: answers GET and other methods with 405 and Allow: POST, OPTIONS', async () => {
    const { mock, key } = await setup();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await call(`/hook/${key}`, { method, headers: { Origin: SHOP } });
      await expectProblem(res, 405, 'method-not-allowed');
      expect(res.headers.get('Allow')).toBe('POST, OPTIONS');
    }
    await expectNoUpstream(mock);
  });

  it('rows 1 and 2 for a person: a form posted to a gone or disabled feed, and the trigger URL opened, get a page with the same status', async () => {
    const { mock, key } = await setup({ enabled: false });
    const pages: string[] = [];
    for (const res of [await formPost(unknownKey, 'email=a%40b.example', NAVIGATE), await formPost(key, 'email=a%40b.example', NAVIGATE)]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('Content-Security-Policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      pages.push(await res.text());
    }
    expect(pages[0]).toBe(pages[1]);
    expect(pages[0]).toContain('This form is not available');
    expect(pages[0]).not.toContain('a@b.example');
    const { key: live } = await setup();
    const opened = await call(`/hook/${live}`, { method: 'GET', headers: NAVIGATE });
    expect(opened.status).toBe(405);
    expect(opened.headers.get('Allow')).toBe('POST, OPTIONS');
    expect(await opened.text()).toContain('This form is not available');
    await expectNoUpstream(mock);
  });

  it('row 3: refuses an unlisted Origin and Origin: null with 403, and a navigation gets the built-in page even with an errorUrl', async () => {
    const { mock, key } = await setup({ response: { redirect: { errorUrl: `${SHOP}/signup?error={{/meta/errorCode}}` } } });
    await expectProblem(await jsonPost(key, { email: 'a@b.example' }, {}, 'https://evil.example'), 403, 'origin-not-allowed');
    await expectProblem(await jsonPost(key, { email: 'a@b.example' }, {}, 'null'), 403, 'origin-not-allowed');
    await expectProblem(await jsonPost(key, { email: 'a@b.example' }, {}, 'https://shop.example:444'), 403, 'origin-not-allowed');
    // A "simple" form post from an unlisted origin is refused server-side too.
    const page = await formPost(key, 'email=a%40b.example', NAVIGATE, 'https://evil.example');
    expect(page.status).toBe(403);
    expect(page.headers.get('Location')).toBeNull();
    expect(page.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('Content-Security-Policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(page.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(await page.text()).toContain('We could not send your form');
    await expectNoUpstream(mock);
  });

  it('row 4: refuses a browser-mode post without Origin with 403 origin-required', async () => {
    const { mock, key } = await setup();
    await expectProblem(await jsonPost(key, { email: 'a@b.example' }, {}, null), 403, 'origin-required');
    await expectNoUpstream(mock);
  });

  it('row 5: refuses a missing, wrong or revoked trigger key, and any Authorization when server mode is off', async () => {
    const { mock, key, feed } = await setup({ trigger: { server: { enabled: true } } });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const created = await admin(`/api/feeds/${feed.id}/keys`, { method: 'POST', json: { name: 'crm' } });
    const { key: triggerKey, id: keyId } = (await created.json()) as { key: string; id: string };
    const server = (auth: string | null) => hook(key, { headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) }, body: '{"email":"a@b.example"}' });
    for (const auth of [null, 'Bearer ftk_wrong', `Bearer ${triggerKey}x`, `Basic ${btoa('a:b')}`, `Bearer ${unknownKey}`]) {
      const res = await server(auth);
      await expectProblem(res, 401, 'trigger-key-invalid');
      expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="feed"');
    }
    expect((await server(`Bearer ${triggerKey}`)).status).toBe(200);
    expect(await mock.requestsTo('/api/members')).toHaveLength(1);
    expect((await admin(`/api/feeds/${feed.id}/keys/${keyId}`, { method: 'DELETE' })).status).toBe(204);
    await expectProblem(await server(`Bearer ${triggerKey}`), 401, 'trigger-key-invalid');
    expect(await mock.requestsTo('/api/members')).toHaveLength(1);

    const browserOnly = await setup();
    await expectProblem(await jsonPost(browserOnly.key, { email: 'a@b.example' }, { Authorization: `Bearer ${triggerKey}` }), 401, 'trigger-key-invalid');
    await expectNoUpstream(browserOnly.mock);
  });

  it('row 6: answers 415 with Accept-Post for a missing, text/plain, XML or non-UTF-8 body', async () => {
    const { mock, key } = await setup();
    for (const type of [null, 'text/plain', 'application/xml', 'application/x-www-form-urlencoded; charset=iso-8859-1']) {
      const res = await hook(key, { headers: { Origin: SHOP, ...(type ? { 'Content-Type': type } : {}) }, body: 'email=a%40b.example' });
      await expectProblem(res, 415, 'unsupported-content-type');
      expect(res.headers.get('Accept-Post')).toBe('application/x-www-form-urlencoded, multipart/form-data, application/json');
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe(SHOP);
    }
    await expectNoUpstream(mock);
  });

  it('row 7: answers 415 for a content type the feed does not accept', async () => {
    const { mock, key } = await setup({ trigger: { browser: { enabled: true, allowedOrigins: [SHOP] }, contentTypes: ['json'] } });
    const res = await formPost(key, 'email=a%40b.example');
    await expectProblem(res, 415, 'unsupported-content-type');
    expect(res.headers.get('Accept-Post')).toBe('application/json');
    await expectNoUpstream(mock);
  });

  it('rows 8 and 9: refuses a form body sent as JSON, malformed JSON, an array, a scalar and JSON too deep', async () => {
    const { mock, key } = await setup({ trigger: { browser: { enabled: true, allowedOrigins: [SHOP] }, limits: { maxJsonDepth: 3 } } });
    for (const body of ['email=a%40b.example', '{"email":', '["a"]', '"a"', '{"a":{"b":{"c":{"d":1}}}}']) {
      await expectProblem(await hook(key, { headers: { 'Content-Type': 'application/json', Origin: SHOP }, body }), 400, 'malformed-body');
    }
    await expectNoUpstream(mock);
  });

  it('row 10: sends a JSON files object as ordinary data, never as a file', async () => {
    const { mock, key } = await setup({
      input: { fields: [] },
      request: { method: 'POST', path: '/members', body: { format: 'json', fields: [{ target: '/files', value: '{{/input/files}}' }] } },
    });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const files = { cv: { filename: 'cv.pdf', type: 'application/pdf', size: 3 } };
    expect((await jsonPost(key, { files })).status).toBe(200);
    const [sent] = await mock.requestsTo('/api/members');
    expect(JSON.parse(sent!.body)).toEqual({ files });
  });

  it('row 11: answers 413 for a body over maxBodyBytes', async () => {
    const { mock, key } = await setup({ trigger: { browser: { enabled: true, allowedOrigins: [SHOP] }, limits: { maxBodyBytes: 64 } } });
    await expectProblem(await formPost(key, `email=a%40b.example&name=${'x'.repeat(100)}`), 413, 'body-too-large');
    await expectNoUpstream(mock);
  });

  it('row 12: refuses too many fields and a value too long', async () => {
    const { mock, key } = await setup({ trigger: { browser: { enabled: true, allowedOrigins: [SHOP] }, limits: { maxFields: 2, maxValueBytes: 8 } } });
    await expectProblem(await formPost(key, 'email=a&name=b&x=c'), 400, 'too-many-fields');
    await expectProblem(await formPost(key, 'email=a%40b.example'), 400, 'field-too-long');
    await expectNoUpstream(mock);
  });

  it('row 13: refuses __proto__ and nesting too deep with expandBrackets', async () => {
    const { mock, key } = await setup({ trigger: { browser: { enabled: true, allowedOrigins: [SHOP] }, expandBrackets: true } });
    await expectProblem(await formPost(key, 'email=a%40b.example&a[__proto__]=x'), 400, 'malformed-body');
    await expectProblem(await formPost(key, 'email=a%40b.example&a[b][c][d][e][f][g]=x'), 400, 'malformed-body');
    await expectNoUpstream(mock);
  });

  it('row 14: refuses a multipart part without a name', async () => {
    const { mock, key } = await setup();
    await expectProblem(await multipartPost(key, [{ name: 'email', value: 'a@b.example' }, { value: 'orphan' }]), 400, 'malformed-body');
    await expectNoUpstream(mock);
  });

  it('row 15: refuses a file over its maxBytes with 413 and a type not allowed with 415', async () => {
    const { mock, key } = await setup({
      input: { fields: [{ name: 'email' }, { name: 'cv', file: { maxBytes: 10, types: ['application/pdf'] } }] },
    });
    await expectProblem(await multipartPost(key, [{ name: 'email', value: 'a@b.example' }, { name: 'cv', filename: 'cv.pdf', type: 'application/pdf', value: 'x'.repeat(11) }]), 413, 'file-too-large');
    await expectProblem(await multipartPost(key, [{ name: 'email', value: 'a@b.example' }, { name: 'cv', filename: 'cv.exe', type: 'application/x-msdownload', value: 'MZ' }]), 415, 'file-type-not-allowed');
    await expectNoUpstream(mock);
  });

  it('row 16: drops a file no mapping uses, names it in the run, and still calls the upstream', async () => {
    const { mock, key, feed } = await setup({ input: { fields: [] } });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const res = await multipartPost(key, [{ name: 'email', value: 'a@b.example' }, { name: 'avatar', filename: 'me.png', type: 'image/png', value: 'PNGDATA' }]);
    const { runId } = (await res.json()) as { runId: string };
    expect(res.status).toBe(200);
    const [sent] = await mock.requestsTo('/api/members');
    expect(sent!.body).toBe('{"email":"a@b.example"}');
    const run = await (await import('../support/worker-feeds')).runOf(feed.id, runId);
    expect(run.detail.droppedFiles).toEqual(['avatar']);
    expect(run.detail.fieldNames).toEqual(['email', 'avatar']);
  });

  it('row 19: refuses a missing required field or a bad email with errors by pointer; a navigation goes to the errorUrl', async () => {
    const { mock, key } = await setup({ response: { redirect: { errorUrl: `${SHOP}/signup?error={{/meta/errorCode}}&ref={{/meta/runId}}` } } });
    const missing = await expectProblem(await jsonPost(key, { name: 'Ann' }), 400, 'invalid-submission');
    expect(missing.errors).toEqual({ '/input/email': ['required'] });
    const bad = await expectProblem(await jsonPost(key, { email: 'not-an-email' }), 400, 'invalid-submission');
    expect(bad.errors).toEqual({ '/input/email': ['email'] });
    const nav = await formPost(key, 'name=Ann', NAVIGATE);
    expect(nav.status).toBe(303);
    expect(nav.headers.get('Location')).toMatch(new RegExp(`^${SHOP}/signup\\?error=invalid-submission&ref=run_[A-Za-z0-9_-]+$`));
    await expectNoUpstream(mock);
  });

  it('row 20: refuses an unknown field with unknownFields: reject', async () => {
    const { mock, key } = await setup({ input: { fields: [{ name: 'email' }], unknownFields: 'reject' } });
    const body = await expectProblem(await jsonPost(key, { email: 'a@b.example', utm_source: 'x' }), 400, 'invalid-submission');
    expect(body.errors).toEqual({ '/input/utm_source': ['unknown'] });
    await expectNoUpstream(mock);
  });

  it('row 21: answers a false condition with the success answer and skipped: true, without calling the upstream', async () => {
    const { mock, key, feed } = await setup({ condition: { logic: 'all', rules: [{ source: '/input/consent', op: 'is', value: 'yes' }] } });
    const res = await jsonPost(key, { email: 'a@b.example', consent: 'no' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ ok: true, runId: expect.stringMatching(/^run_/), skipped: true });
    await expectNoUpstream(mock);
    const [run] = await runsOf(feed.id);
    expect(run).toMatchObject({ outcome: 'skipped', status: 200, upstreamStatus: null });
  });

  it('row 30: refuses a path placeholder that renders a dot segment or an encoded slash, and nothing reaches the upstream', async () => {
    const { mock, key } = await setup({
      input: { fields: [] },
      request: { method: 'POST', path: '/members/{{/input/id}}', body: { format: 'json', fields: [] } },
    });
    for (const id of ['..', '.', 'a/b', '%2e%2e', '..\\x', 'a\\b']) {
      await expectProblem(await jsonPost(key, { id }), 400, 'unsafe-path');
    }
    await expectNoUpstream(mock);
  });

  it('row 31: refuses a header value that renders CR, LF or NUL', async () => {
    const { mock, key } = await setup({
      request: { method: 'POST', path: '/members', headers: [{ name: 'X-Name', value: 'n={{/input/name}}' }], body: { format: 'json', fields: [] } },
    });
    for (const name of ['a\r\nX-Evil: 1', 'a\nb', 'a\u0000b']) {
      await expectProblem(await jsonPost(key, { email: 'a@b.example', name }), 400, 'unsafe-header-value');
    }
    await expectNoUpstream(mock);
  });

  it('row 32: refuses a value that fails its as: number, boolean or json coercion, naming the pointer', async () => {
    const { mock, key } = await setup({
      input: { fields: [] },
      request: {
        method: 'POST',
        path: '/members',
        body: {
          format: 'json',
          fields: [
            { target: '/n', value: '{{/input/n}}', as: 'number' },
            { target: '/b', value: '{{/input/b}}', as: 'boolean' },
            { target: '/j', value: '{{/input/j}}', as: 'json' },
          ],
        },
      },
    });
    for (const [input, pointer] of [
      [{ n: '12abc', b: 'yes', j: '{}' }, '/input/n'],
      [{ n: '1', b: 'maybe', j: '{}' }, '/input/b'],
      [{ n: '1', b: 'yes', j: '{nope' }, '/input/j'],
    ] as const) {
      const body = await expectProblem(await jsonPost(key, input), 400, 'invalid-field');
      expect(body.pointer).toBe(pointer);
    }
    await expectNoUpstream(mock);
  });

  it('row 33: refuses a run when a row with ifMissing: error finds no value', async () => {
    const { mock, key } = await setup({
      request: { method: 'POST', path: '/members', body: { format: 'json', fields: [{ target: '/phone', value: '{{/input/phone}}', ifMissing: 'error' }] } },
    });
    const body = await expectProblem(await jsonPost(key, { email: 'a@b.example' }), 400, 'missing-field');
    expect(body.pointer).toBe('/input/phone');
    await expectNoUpstream(mock);
  });

  it('row 34: refuses an array index past the end built at run time', async () => {
    const { mock, key } = await setup({
      input: { fields: [] },
      request: { method: 'POST', path: '/members', body: { format: 'json', fields: [{ target: '/items/{{/input/i}}', value: '{{/input/v}}' }] } },
    });
    await expectProblem(await jsonPost(key, { i: '3', v: 'x' }), 400, 'mapping-index-gap');
    await expectNoUpstream(mock);
  });

  it('row 35: answers 502 feed-misconfigured when the connection is gone from the read path', async () => {
    const { mock, key, slug } = await setup();
    const { env } = await import('cloudflare:workers');
    const { readPathFor } = await import('../../worker/connections/read-path');
    await env.CONNECTIONS.delete(`conn:${slug}`);
    readPathFor(env).forget(slug);
    const body = await expectProblem(await jsonPost(key, { email: 'a@b.example' }), 502, 'feed-misconfigured');
    expect(JSON.stringify(body)).not.toContain(slug);
    await expectNoUpstream(mock);
  });

  it('row 36: refuses a run the connection policy no longer allows: 403 path-not-allowed and 405', async () => {
    const mock = new Mock();
    const slug = await feedConnection(mock.url('/api'));
    const feed = await createFeed(feedOf(slug));
    const put = (relay: Record<string, unknown>) =>
      admin(`/api/connections/${slug}`, { method: 'PUT', json: { name: 'Feed upstream', slug, baseUrl: mock.url('/api'), auth: { method: 'bearer' }, relay } });
    expect((await put({ allowedPaths: ['/orders'] })).status).toBe(200);
    await expectProblem(await jsonPost(feed.publicKey, { email: 'a@b.example' }), 403, 'path-not-allowed');
    expect((await put({ allowedMethods: ['GET'] })).status).toBe(200);
    await expectProblem(await jsonPost(feed.publicKey, { email: 'a@b.example' }), 405, 'method-not-allowed');
    await expectNoUpstream(mock);
  });

  it('row 37: answers 502 token-endpoint-error when the token endpoint fails, without calling the API', async () => {
    const mock = new Mock();
    await mock.on('POST', '/oauth/token', { status: 500, json: { error: 'server_error' } });
    const slug = await feedConnection(mock.url('/api'), {
      auth: { method: 'oauth2_client_credentials', clientId: 'c', clientSecret: 'feed-Client-Secret-77', tokenUrl: mock.url('/oauth/token') },
    });
    const feed = await createFeed(feedOf(slug));
    const body = await expectProblem(await jsonPost(feed.publicKey, { email: 'a@b.example' }), 502, 'token-endpoint-error');
    expect(JSON.stringify(body)).not.toContain('feed-Client-Secret-77');
    expect(await mock.requestsTo('/api/members')).toEqual([]);
    expect((await mock.received()).unexpected).toEqual([]);
  });

  it('row 37: gives a public caller none of the token endpoint’s own words (its error, description or status)', async () => {
    const mock = new Mock();
    await mock.on('POST', '/oauth/token', { status: 401, json: { error: 'invalid_client', error_description: 'Client sekrit-Hint-42 was revoked' } });
    const slug = await feedConnection(mock.url('/api'), {
      auth: { method: 'oauth2_client_credentials', clientId: 'c', clientSecret: 'feed-Client-Secret-78', tokenUrl: mock.url('/oauth/token') },
    });
    const feed = await createFeed(feedOf(slug));
    const body = await expectProblem(await jsonPost(feed.publicKey, { email: 'a@b.example' }), 502, 'token-endpoint-error');
    const text = JSON.stringify(body);
    for (const word of ['invalid_client', 'sekrit-Hint-42', 'revoked', '401', 'feed-Client-Secret-78']) expect(text).not.toContain(word);
    expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
    expect(await mock.requestsTo('/api/members')).toEqual([]);
  });

  it('sends a lone surrogate in a path placeholder as U+FFFD, never a 500, and logs the run', async () => {
    const { mock, key, feed } = await setup({ request: { method: 'POST', path: '/lists/{{/input/list}}/members', body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }] } } });
    await mock.on('POST', '/api/lists/%EF%BF%BD/members', { status: 201, json: {} });
    const res = await hook(key, { headers: { 'Content-Type': 'application/json', Origin: SHOP }, body: '{"email":"a@b.example","list":"\\ud800"}' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await mock.requestsTo('/api/lists/%EF%BF%BD/members')).toHaveLength(1);
    expect((await runsOf(feed.id))[0]).toMatchObject({ outcome: 'success' });
  });

  it('answers 502 feed-misconfigured (outcome server-error), not a 400, when the answer mapping fails after the API accepted', async () => {
    const { mock, key, feed } = await setup({ response: { json: { data: [{ target: '/id', source: '/response/body/id', as: 'number' }] } } });
    await mock.on('POST', '/api/members', { status: 201, json: { id: 'not-a-number' } });
    const body = await expectProblem(await jsonPost(key, { email: 'a@b.example' }), 502, 'feed-misconfigured');
    expect(JSON.stringify(body)).not.toContain('not-a-number');
    expect(await mock.requestsTo('/api/members')).toHaveLength(1);
    expect((await runsOf(feed.id))[0]).toMatchObject({ outcome: 'server-error', upstreamStatus: 201, errorCode: 'feed-misconfigured' });
  });

  it('sends no CORS headers to a server-mode caller, even with a listed Origin', async () => {
    const { mock, key, feed } = await setup({ trigger: { browser: { enabled: true, allowedOrigins: [SHOP] }, server: { enabled: true } } });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const { key: triggerKey } = (await (await admin(`/api/feeds/${feed.id}/keys`, { method: 'POST', json: { name: 'crm' } })).json()) as { key: string };
    const server = await hook(key, { headers: { 'Content-Type': 'application/json', Origin: SHOP, Authorization: `Bearer ${triggerKey}` }, body: '{"email":"a@b.example"}' });
    expect(server.status).toBe(200);
    expect(server.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const browser = await jsonPost(key, { email: 'a@b.example' });
    expect(browser.headers.get('Access-Control-Allow-Origin')).toBe(SHOP);
  });

  it('row 29: refuses an idempotency key that is not 1 to 255 visible ASCII characters, from the header or the form field', async () => {
    const { mock, key } = await setup();
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    await expectProblem(await jsonPost(key, { email: 'a@b.example' }, { 'Idempotency-Key': 'x'.repeat(256) }), 400, 'idempotency-key-invalid');
    await expectProblem(await formPost(key, 'email=a%40b.example&_idempotency_key=has+space'), 400, 'idempotency-key-invalid');
    expect(await mock.requestsTo('/api/members')).toEqual([]);
    expect((await jsonPost(key, { email: 'a@b.example' }, { 'Idempotency-Key': 'order-42' })).status).toBe(200);
  });

  it('row 38: answers an upstream 4xx with 502 upstream-rejected and upstreamStatus, never its body unless errorDetail maps it', async () => {
    const { mock, key, feed } = await setup();
    await mock.on('POST', '/api/members', { status: 422, json: { detail: 'Member exists', internal: 'db-row-77' } });
    const body = await expectProblem(await jsonPost(key, { email: 'a@b.example' }), 502, 'upstream-rejected');
    expect(body.upstreamStatus).toBe(422);
    expect(JSON.stringify(body)).not.toContain('db-row-77');
    expect(JSON.stringify(body)).not.toContain('Member exists');
    const mapped = await setup({ response: { json: { errorDetail: '/response/body/detail' } } });
    await mapped.mock.on('POST', '/api/members', { status: 422, json: { detail: 'Member exists', internal: 'db-row-77' } });
    const withDetail = await expectProblem(await jsonPost(mapped.key, { email: 'a@b.example' }), 502, 'upstream-rejected');
    expect(withDetail.detail).toBe('Member exists');
    expect(JSON.stringify(withDetail)).not.toContain('db-row-77');
    expect(await mock.requestsTo('/api/members')).toHaveLength(1);
    const [run] = await runsOf(feed.id);
    expect(run).toMatchObject({ outcome: 'client-error', status: 502, upstreamStatus: 422, errorCode: 'upstream-rejected' });
  });

  it('row 39: answers an upstream 5xx with 502 upstream-error and a slow upstream with 504 upstream-timeout', async () => {
    const { mock, key, feed } = await setup({ request: { method: 'POST', path: '/members', timeoutMs: 1000, body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }] } } });
    await mock.on('POST', '/api/members', { status: 503, body: 'down for maintenance: trace 991' }, { status: 200, delayMs: 1500, json: {} });
    const failed = await expectProblem(await jsonPost(key, { email: 'a@b.example' }), 502, 'upstream-error');
    expect(failed.upstreamStatus).toBe(503);
    expect(JSON.stringify(failed)).not.toContain('trace 991');
    await expectProblem(await jsonPost(key, { email: 'a@b.example' }), 504, 'upstream-timeout');
    expect(await mock.requestsTo('/api/members')).toHaveLength(2);
    const runs = await runsOf(feed.id);
    expect(runs.map((r) => r.outcome)).toEqual(['network-error', 'server-error']);
  });

  it('row 39: stops reading an upstream answer whose body outlasts the timeout, and maps what arrived', async () => {
    const { mock, key } = await setup({
      request: { method: 'POST', path: '/members', timeoutMs: 1000, body: { format: 'json', fields: [] } },
      response: { json: { data: [{ target: '/status', source: '/response/status' }, { target: '/id', source: '/response/body/id' }] } },
    });
    await mock.on('POST', '/api/members', { status: 201, headers: { 'Content-Type': 'application/json' }, body: '{"id":"m_slow","pad":"' + 'x'.repeat(100) + '"}', bodyDelayMs: 3000 });
    const started = Date.now();
    const res = await jsonPost(key, { email: 'a@b.example' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown }).data).toEqual({ status: 201 });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('row 40: never follows an upstream 3xx: server-error, unless successStatuses lists it', async () => {
    const { mock, key } = await setup();
    await mock.on('POST', '/api/members', { status: 302, headers: { Location: '/api/elsewhere' } });
    await expectProblem(await jsonPost(key, { email: 'a@b.example' }), 502, 'upstream-error');
    const listed = await setup({ response: { successStatuses: [302] } });
    await listed.mock.on('POST', '/api/members', { status: 302, headers: { Location: '/api/elsewhere' } });
    expect((await jsonPost(listed.key, { email: 'a@b.example' })).status).toBe(200);
    for (const m of [mock, listed.mock]) {
      const { requests, unexpected } = await m.received();
      expect(requests.map((r) => r.path)).toEqual(['/api/members']);
      expect(unexpected).toEqual([]);
    }
  });

  it('row 41: maps a non-JSON upstream answer with the /response/body rows missing (omitted)', async () => {
    const { mock, key } = await setup({ response: { json: { data: [{ target: '/id', source: '/response/body/id' }, { target: '/status', source: '/response/status' }] } } });
    await mock.on('POST', '/api/members', { status: 201, body: '<ok id="1"/>', headers: { 'Content-Type': 'text/xml' } });
    const res = await jsonPost(key, { email: 'a@b.example' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown }).data).toEqual({ status: 201 });
  });
});

describe('round trips: what the upstream receives', () => {
  it('turns urlencoded repeated keys and [] names into arrays, sent as a JSON body', async () => {
    const { mock, key } = await setup({
      input: { fields: [] },
      request: {
        method: 'POST',
        path: '/members',
        body: {
          format: 'json',
          fields: [
            { target: '/email', value: '{{/input/email}}' },
            { target: '/tags', value: '{{/input/tags}}' },
            { target: '/colors', source: '/input/colors[]' },
            { target: '/summary', value: 'tags: {{/input/tags}}' },
            { target: '/list/-', value: 'web' },
          ],
        },
      },
    });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const res = await formPost(key, 'email=a%40b.example&tags=x&tags=y&colors%5B%5D=red&colors%5B%5D=green');
    expect(res.status, await res.clone().text()).toBe(200);
    const [sent] = await mock.requestsTo('/api/members');
    expect(sent!.body).toBe('{"email":"a@b.example","tags":["x","y"],"colors":["red","green"],"summary":"tags: x, y","list":["web"]}');
  });

  it('sends a form body with arrays in the chosen query array format, and query rows on the URL', async () => {
    const { mock, key } = await setup({
      input: { fields: [] },
      request: {
        method: 'POST',
        path: '/lists/{{/input/list}}/members',
        query: [{ name: 'double_optin', value: 'true' }, { name: 'src', value: '{{/input/src}}' }],
        headers: [{ name: 'X-Source', value: 'edge-feed {{/meta/feedId}}' }],
        body: { format: 'form', queryArrayFormat: 'brackets', fields: [{ target: '/email', value: '{{/input/email}}' }, { target: '/tags', value: '{{/input/tags}}' }] },
      },
    });
    await mock.on('POST', '/api/lists/a%20b/members', { status: 201, json: {} });
    const res = await jsonPost(key, { list: 'a b', src: 'x&y=z', email: 'a+1@b.example', tags: ['t1', 't2'] });
    expect(res.status, await res.clone().text()).toBe(200);
    const { requests } = await mock.received();
    expect(requests).toHaveLength(1);
    const sent = requests[0]!;
    expect(sent.rawUrl).toBe('/api/lists/a%20b/members?double_optin=true&src=x%26y%3Dz');
    expect(sent.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(sent.body).toBe('email=a%2B1%40b.example&tags%5B%5D=t1&tags%5B%5D=t2');
    expect(sent.headers['x-source']).toMatch(/^edge-feed fd_[a-z2-7]{16}$/);
  });

  it('streams an uploaded file to a multipart body with as: "file", beside the text fields', async () => {
    const { mock, key, feed } = await setup({
      input: { fields: [{ name: 'email', required: true }, { name: 'cv', file: { maxBytes: 1000, types: ['text/plain'] } }] },
      request: {
        method: 'POST',
        path: '/members',
        body: { format: 'multipart', fields: [{ target: '/email', value: '{{/input/email}}' }, { target: '/resume', source: '/input/cv', as: 'file' }] },
      },
    });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const res = await multipartPost(key, [
      { name: 'email', value: 'a@b.example' },
      { name: 'cv', filename: 'my-cv.txt', type: 'text/plain', value: 'Curriculum vitae text' },
    ]);
    const { runId } = (await res.json()) as { runId: string };
    expect(res.status).toBe(200);
    const [sent] = await mock.requestsTo('/api/members');
    expect(sent!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const boundary = /boundary=(.+)$/.exec(sent!.headers['content-type'] as string)![1]!;
    const parts = sent!.body.split(`--${boundary}`).slice(1, -1).map((p) => p.trim());
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe('Content-Disposition: form-data; name="email"\r\n\r\na@b.example');
    expect(parts[1]).toMatch(/^Content-Disposition: form-data; name="resume"; filename="my-cv.txt"\r\nContent-Type: text\/plain\r\n\r\nCurriculum vitae text$/);
    const { runOf } = await import('../support/worker-feeds');
    expect((await runOf(feed.id, runId)).detail.droppedFiles).toEqual([]);
  });

  it('sends a raw body: values inserted verbatim for XML and JSON-escaped for a JSON type', async () => {
    const xml = await setup({
      input: { fields: [] },
      request: { method: 'POST', path: '/members', body: { format: 'raw', raw: { contentType: 'text/xml', template: '<m><e>{{/input/email}}</e></m>' } } },
    });
    await xml.mock.on('POST', '/api/members', { status: 201, json: {} });
    expect((await jsonPost(xml.key, { email: 'a@b.example' })).status).toBe(200);
    const [sentXml] = await xml.mock.requestsTo('/api/members');
    expect(sentXml!.body).toBe('<m><e>a@b.example</e></m>');
    expect(sentXml!.headers['content-type']).toBe('text/xml');

    const json = await setup({
      input: { fields: [] },
      request: { method: 'PUT', path: '/members', body: { format: 'raw', raw: { contentType: 'application/vnd.api+json', template: '{"note": "{{/input/note}}"}' } } },
    });
    await json.mock.on('PUT', '/api/members', { status: 200, json: {} });
    expect((await formPost(json.key, 'note=say+%22hi%22%0Abye')).status).toBe(200);
    const [sentJson] = await json.mock.requestsTo('/api/members');
    expect(sentJson!.body).toBe('{"note": "say \\"hi\\"\\nbye"}');
    expect(JSON.parse(sentJson!.body)).toEqual({ note: 'say "hi"\nbye' });
  });
});

describe('through the relay core', () => {
  it('gets a token for an OAuth connection and retries once with a fresh one after a 401, resending the same body', async () => {
    const mock = new Mock();
    await mock.on('POST', '/oauth/token', { json: { access_token: 'tok-first', token_type: 'Bearer', expires_in: 3600 } }, { json: { access_token: 'tok-second', token_type: 'Bearer', expires_in: 3600 } });
    await mock.on('POST', '/api/members', { status: 401, json: {} }, { status: 201, json: { id: 'm1' } });
    const slug = await feedConnection(mock.url('/api'), { auth: { method: 'oauth2_client_credentials', clientId: 'c', clientSecret: 'cs-value', tokenUrl: mock.url('/oauth/token') } });
    const feed = await createFeed(feedOf(slug));
    const res = await jsonPost(feed.publicKey, { email: 'a@b.example' });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).not.toContain('tok-');
    const sent = await mock.requestsTo('/api/members');
    expect(sent.map((r) => r.headers.authorization)).toEqual(['Bearer tok-first', 'Bearer tok-second']);
    expect(sent.map((r) => r.body)).toEqual(['{"email":"a@b.example"}', '{"email":"a@b.example"}']);
    const [run] = await runsOf(feed.id);
    expect(run).toMatchObject({ outcome: 'success', retried: true, tokenFetched: true, upstreamStatus: 201 });
    const { runOf } = await import('../support/worker-feeds');
    expect((await runOf(feed.id, run.runId)).detail.attempts.map((a: { status: number }) => a.status)).toEqual([401, 201]);
  });
});

describe('CORS', () => {
  it('answers a preflight from each listed origin with its exact headers, and none otherwise', async () => {
    const other = 'https://www.shop.example';
    const { mock, key } = await setup({ trigger: { browser: { enabled: true, allowedOrigins: [SHOP, other] } } });
    for (const origin of [SHOP, other]) {
      const res = await call(`/hook/${key}`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
      expect(res.status).toBe(204);
      expect(Object.fromEntries([...res.headers].filter(([n]) => n.startsWith('access-control-') || n === 'vary'))).toEqual({
        'access-control-allow-origin': origin,
        vary: 'Origin',
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'Content-Type, Idempotency-Key, CF-Turnstile-Response',
        'access-control-max-age': '600',
      });
      expect(res.headers.get('Cache-Control')).toBe('no-store');
    }
    for (const [k, origin] of [[key, 'https://evil.example'], [key, 'null'], [unknownKey, SHOP]] as const) {
      const res = await call(`/hook/${k}`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
      expect(res.status).toBe(204);
      expect([...res.headers.keys()].filter((n) => n.startsWith('access-control-'))).toEqual([]);
    }
    await expectNoUpstream(mock);
  });

  it('echoes the listed origin on answers and problems, exposes its headers, and never allows credentials', async () => {
    const other = 'https://www.shop.example';
    const { mock, key } = await setup({ trigger: { browser: { enabled: true, allowedOrigins: [SHOP, other] } } });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    // Each origin twice, in turn: the answers' kept header sets never mix origins or content types.
    for (const origin of [SHOP, other, SHOP, other]) {
      const ok = await jsonPost(key, { email: 'a@b.example' }, {}, origin);
      expect(ok.headers.get('Access-Control-Allow-Origin')).toBe(origin);
      expect(ok.headers.get('Content-Type')).toBe('application/json');
      expect(ok.headers.get('Cache-Control')).toBe('no-store');
      expect(ok.headers.get('Vary')).toBe('Origin');
      expect(ok.headers.get('Access-Control-Expose-Headers')).toBe('Retry-After, Idempotent-Replayed');
      expect(ok.headers.get('Access-Control-Allow-Credentials')).toBeNull();
      const bad = await jsonPost(key, { name: 'no email' }, {}, origin);
      expect(bad.status).toBe(400);
      expect(bad.headers.get('Access-Control-Allow-Origin')).toBe(origin);
      expect(bad.headers.get('Content-Type')).toBe('application/problem+json');
      expect(bad.headers.get('X-Content-Type-Options')).toBe('nosniff');
    }
    const refused = await jsonPost(key, { email: 'a@b.example' }, {}, 'https://evil.example');
    expect(refused.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('navigations', () => {
  const redirects = { successUrl: `${SHOP}/thanks?m={{/response/body/id}}`, errorUrl: `${SHOP}/signup?error={{/meta/errorCode}}&ref={{/meta/runId}}` };

  it('redirects a successful form post with 303 to the rendered successUrl', async () => {
    const { mock, key } = await setup({ response: { redirect: redirects } });
    await mock.on('POST', '/api/members', { status: 201, json: { id: 'm 1/2' } });
    const res = await formPost(key, 'email=a%40b.example', NAVIGATE);
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe(`${SHOP}/thanks?m=m%201%2F2`);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('takes a form post whose Accept lists HTML first as a navigation when no Sec-Fetch header is sent', async () => {
    const { mock, key } = await setup({ response: { redirect: redirects } });
    await mock.on('POST', '/api/members', { status: 201, json: { id: 'm1' } });
    const res = await formPost(key, 'email=a%40b.example', { Accept: 'text/html,application/json;q=0.9' });
    expect(res.status).toBe(303);
    const json = await formPost(key, 'email=a%40b.example', { Accept: 'application/json, text/html' });
    expect(json.status).toBe(200);
    expect(json.headers.get('Content-Type')).toBe('application/json');
  });

  it('redirects an upstream failure and an early 415 to the errorUrl with the error code and run id', async () => {
    const { mock, key } = await setup({ response: { redirect: redirects } });
    await mock.on('POST', '/api/members', { status: 500, json: {} });
    const failed = await formPost(key, 'email=a%40b.example', NAVIGATE);
    expect(failed.status).toBe(303);
    expect(failed.headers.get('Location')).toMatch(new RegExp(`^${SHOP}/signup\\?error=upstream-error&ref=run_`));
    const early = await hook(key, { headers: { 'Content-Type': 'text/plain', Origin: SHOP, ...NAVIGATE }, body: 'x' });
    expect(early.status).toBe(303);
    expect(early.headers.get('Location')).toMatch(/error=unsupported-content-type&ref=run_/);
  });

  it('shows the built-in pages without a configured URL, reflecting no submitted value', async () => {
    const { mock, key } = await setup();
    await mock.on('POST', '/api/members', { status: 201, json: {} }, { status: 500, json: {} });
    const payload = 'email=a%40b.example&name=%3Cscript%3Ealert(1)%3C%2Fscript%3E';
    const thanks = await formPost(key, payload, NAVIGATE);
    expect(thanks.status).toBe(200);
    expect(thanks.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
    expect(thanks.headers.get('Content-Security-Policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    const thanksText = await thanks.text();
    expect(thanksText).toContain('Thank you');
    expect(thanksText).not.toContain('script');
    expect(thanksText).not.toContain('a@b.example');
    const error = await formPost(key, payload, NAVIGATE);
    expect(error.status).toBe(502);
    const errorText = await error.text();
    expect(errorText).toMatch(/We could not send your form[\s\S]*Reference: <code>run_[A-Za-z0-9_-]+<\/code>/);
    expect(errorText).not.toContain('script>');
    expect(errorText).not.toContain('a@b.example');
  });
});

describe('the honeypot', () => {
  it('answers exactly like a success without calling the upstream, logged as spam-honeypot', async () => {
    const { mock, key, feed } = await setup({
      trigger: { browser: { enabled: true, allowedOrigins: [SHOP], honeypotField: 'company_website' } },
      response: { redirect: { successUrl: `${SHOP}/thanks` } },
    });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const real = await jsonPost(key, { email: 'a@b.example', company_website: '' });
    const spam = await jsonPost(key, { email: 'a@b.example', company_website: 'http://spam.example' });
    expect(spam.status).toBe(real.status);
    expect([...spam.headers].filter(([n]) => n !== 'content-length')).toEqual([...real.headers].filter(([n]) => n !== 'content-length'));
    const realBody = (await real.json()) as Record<string, unknown>;
    const spamBody = (await spam.json()) as Record<string, unknown>;
    expect({ ...spamBody, runId: 'x' }).toEqual({ ...realBody, runId: 'x' });
    const nav = await formPost(key, 'email=a%40b.example&company_website=spam', NAVIGATE);
    expect(nav.status).toBe(303);
    expect(nav.headers.get('Location')).toBe(`${SHOP}/thanks`);
    expect(await mock.requestsTo('/api/members')).toHaveLength(1);
    const runs = await runsOf(feed.id);
    expect(runs.map((r) => r.outcome)).toEqual(['spam-honeypot', 'spam-honeypot', 'success']);
  });
});

describe('server mode', () => {
  it('runs a JSON webhook with a trigger key, without Origin or CORS, logged with the key name', async () => {
    const { mock, key, feed } = await setup({ trigger: { browser: { enabled: false }, server: { enabled: true } } });
    await mock.on('POST', '/api/members', { status: 201, json: {} });
    const created = await admin(`/api/feeds/${feed.id}/keys`, { method: 'POST', json: { name: 'erp' } });
    const { key: triggerKey } = (await created.json()) as { key: string };
    const res = await hook(key, { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${triggerKey}` }, body: '{"email":"a@b.example"}' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect([...res.headers.keys()].filter((n) => n.startsWith('access-control-'))).toEqual([]);
    const [sent] = await mock.requestsTo('/api/members');
    expect(sent!.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
    expect(JSON.stringify(sent)).not.toContain(triggerKey);
    const [run] = await runsOf(feed.id);
    expect(run).toMatchObject({ trigger: 'server', keyName: 'erp', outcome: 'success' });
  });
});

describe('the run log', () => {
  it('keeps input and bodies at level values with sensitive fields masked, and the first 2 KiB of the answer', async () => {
    const { mock, key, feed } = await setup({
      input: { fields: [{ name: 'email' }, { name: 'phone', sensitive: true }] },
      log: { level: 'values' },
      request: {
        method: 'POST',
        path: '/members',
        body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }, { target: '/contact', value: 'tel {{/input/phone}}' }] },
      },
    });
    await mock.on('POST', '/api/members', { status: 201, json: { id: 'm1', pad: 'p'.repeat(3000) } });
    const res = await jsonPost(key, { email: 'a@b.example', phone: '+41 79 555 01 02' });
    const { runId } = (await res.json()) as { runId: string };
    const { runOf } = await import('../support/worker-feeds');
    const run = await runOf(feed.id, runId);
    expect(run.detail.input).toEqual({ email: 'a@b.example', phone: '***' });
    expect(run.detail.requestBody).toEqual({ email: 'a@b.example', contact: 'tel ***' });
    expect(run.detail.responseBody.length).toBe(2048);
    expect(run.detail.responseBody.startsWith('{"id":"m1"')).toBe(true);
    expect(JSON.stringify(run)).not.toContain('555 01 02');
    expect(run.detail.attempts).toEqual([
      { n: 1, at: expect.any(String), method: 'POST', url: mock.url('/api/members'), status: 201, durationMs: expect.any(Number), errorCode: null },
    ]);
    expect(run.detail).toMatchObject({ contentType: 'json', fieldNames: ['email', 'phone'], condition: { result: true }, answer: { status: 200 } });
  });

  it('keeps no values at level metadata', async () => {
    const { mock, key, feed } = await setup();
    await mock.on('POST', '/api/members', { status: 201, json: { id: 'm1' } });
    const { runId } = (await (await jsonPost(key, { email: 'a@b.example', name: 'Ann Example' })).json()) as { runId: string };
    const { runOf } = await import('../support/worker-feeds');
    const run = await runOf(feed.id, runId);
    expect(run.detail.input).toBeUndefined();
    expect(run.detail.requestBody).toBeUndefined();
    expect(run.detail.responseBody).toBeUndefined();
    expect(JSON.stringify(run)).not.toContain('Ann Example');
    expect(run.detail.fieldNames).toEqual(['email', 'name']);
  });

  it('leaves successes out with logSuccess: false, and still logs failures', async () => {
    const { mock, key, feed } = await setup({ log: { logSuccess: false } });
    await mock.on('POST', '/api/members', { status: 201, json: {} }, { status: 500, json: {} });
    expect((await jsonPost(key, { email: 'a@b.example' })).status).toBe(200);
    expect((await jsonPost(key, { email: 'a@b.example' })).status).toBe(502);
    const runs = await runsOf(feed.id);
    expect(runs.map((r) => r.outcome)).toEqual(['server-error']);
  });

  it('logs two simultaneous triggers as two runs with distinct run ids', async () => {
    const { mock, key, feed } = await setup();
    await mock.on('POST', '/api/members', { status: 201, delayMs: 50, json: {} });
    const answers = await Promise.all([jsonPost(key, { email: 'a@b.example' }), jsonPost(key, { email: 'c@d.example' })]);
    const ids = await Promise.all(answers.map(async (r) => ((await r.json()) as { runId: string }).runId));
    expect(new Set(ids).size).toBe(2);
    const runs = await runsOf(feed.id);
    expect(runs.map((r) => r.runId).sort()).toEqual([...ids].sort());
    expect(await mock.requestsTo('/api/members')).toHaveLength(2);
  });
});
