/**
 * The feed contract: schema defaults, the View, the GravityWP path migration aid, and every
 * save-time check that needs no storage, each asserting the exact pointer key of its error.
 */
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { FeedInputSchema, feedView, FORBIDDEN_FEED_HEADERS, validateFeedInput, type FeedInput, type FeedIssueCode } from '../../contract/feed';
import { parseTargetTemplate, parseTemplate } from '../../contract/feed-template';
import { gravityPathToPointer, pointerProblem } from '../../contract/pointer';

/** A valid feed: a JSON POST with a few rows. */
function base(): FeedInput & { request: NonNullable<FeedInput['request']> } {
  return {
    name: 'Newsletter signup',
    connection: 'acme-crm',
    trigger: { browser: { enabled: true, allowedOrigins: ['https://shop.example'] } },
    request: {
      method: 'POST',
      path: '/lists/{{/input/list_id}}/members',
      query: [{ name: 'double_optin', value: 'true' }],
      headers: [{ name: 'X-Source', value: 'edge-feed {{/meta/feedId}}' }],
      body: {
        format: 'json',
        fields: [
          { target: '/email_address', value: '{{/input/email}}' },
          { target: '/tags/-', value: 'web-signup' },
        ],
      },
    },
    response: { redirect: { successUrl: 'https://shop.example/thanks?m={{/response/body/id}}' } },
  };
}

/** The errors of a feed changed by `change`; fails the test when the feed is valid. */
function errorsOf(change: (feed: ReturnType<typeof base>) => void, options = {}): Record<string, string[]> {
  const feed = base();
  change(feed);
  const result = validateFeedInput(feed, options);
  if (result.success) throw new Error('expected the feed to be refused');
  return result.errors;
}

function codesOf(change: (feed: ReturnType<typeof base>) => void): Record<string, FeedIssueCode[]> {
  const feed = base();
  change(feed);
  const result = validateFeedInput(feed);
  if (result.success) throw new Error('expected the feed to be refused');
  const codes: Record<string, FeedIssueCode[]> = {};
  for (const issue of result.issues) (codes[issue.pointer] ??= []).push(issue.code);
  return codes;
}

const rows = (feed: ReturnType<typeof base>) => feed.request.body!.fields!;

describe('feed schema', () => {
  it('accepts the base feed and fills the documented defaults', () => {
    const result = validateFeedInput(base());
    if (!result.success) throw new Error(JSON.stringify(result.errors));
    const feed = result.output;
    expect(feed.trigger.browser.turnstile.mode).toBe('off');
    expect(feed.idempotency).toEqual({ enabled: false, windowSeconds: 600 });
    expect(feed.response.mode).toBe('sync');
    expect(feed.request.timeoutMs).toBe(10_000);
    expect(feed.request.body.queryArrayFormat).toBe('repeat');
    expect(feed.request.body.fields[0]).toEqual({ target: '/email_address', value: '{{/input/email}}', as: 'auto', ifMissing: 'omit' });
    expect(feed.trigger.contentTypes).toEqual(['form', 'multipart', 'json']);
    expect(feed.trigger.server.enabled).toBe(false);
    expect(feed.log).toEqual({ level: 'metadata', retainDays: 7, logSuccess: true });
  });

  it('accepts only the sync response mode for now', () => {
    expect(errorsOf((f) => (f.response = { mode: 'async' as 'sync' }))).toHaveProperty(['/response/mode']);
  });

  it('refuses a timeout outside 1000 to 30000 ms at /request/timeoutMs', () => {
    for (const timeoutMs of [999, 30_001, 1.5]) {
      expect(Object.keys(errorsOf((f) => (f.request.timeoutMs = timeoutMs)))).toEqual(['/request/timeoutMs']);
    }
  });

  it('keys schema errors by JSON Pointer', () => {
    const errors = errorsOf((f) => (rows(f)[1] = { target: '/x', value: 'y', as: 'float' as 'auto' }));
    expect(Object.keys(errors)).toEqual(['/request/body/fields/1/as']);
  });
});

describe('feed View', () => {
  it('shows whether a Turnstile secret is stored, never the secret', () => {
    const input = base();
    input.trigger!.browser!.turnstile = { mode: 'required', siteKey: '0x4AAA', secretKey: 'turnstile-secret-value' };
    const output = v.parse(FeedInputSchema, input);
    const view = feedView(output, { id: 'fd_1', version: 1, publicKey: 'fpk_1', createdAt: 'now', updatedAt: 'now' });
    expect(view.trigger.browser.turnstile.secretKeySet).toBe(true);
    expect(JSON.stringify(view)).not.toContain('turnstile-secret-value');
    expect(view.trigger.browser.turnstile).not.toHaveProperty('secretKey');
  });
});

describe('GravityWP path migration', () => {
  it('converts dot and bracket paths to pointers', () => {
    expect(gravityPathToPointer('customer.name')).toBe('/customer/name');
    expect(gravityPathToPointer('items[0].sku')).toBe('/items/0/sku');
    expect(gravityPathToPointer('values[0][0]')).toBe('/values/0/0');
    expect(gravityPathToPointer('email')).toBe('/email');
    expect(gravityPathToPointer('/already/a/pointer')).toBe('/already/a/pointer');
  });

  it('refuses paths it cannot convert, so that such keys are entered as pointers', () => {
    expect(gravityPathToPointer('a..b')).toBeNull();
    expect(gravityPathToPointer('a[x]')).toBeNull();
    expect(gravityPathToPointer('a~b')).toBeNull();
    expect(gravityPathToPointer('')).toBeNull();
  });
});

describe('template syntax', () => {
  it('reads placeholders, \\{ and \\\\ escapes', () => {
    expect(parseTemplate('a \\{{/input/x}} \\\\{{/input/y}}')).toEqual([
      { kind: 'text', text: 'a {{/input/x}} \\' },
      { kind: 'placeholder', pointer: '/input/y', tokens: ['input', 'y'] },
    ]);
  });

  it('takes the pointer up to the next }}', () => {
    expect(parseTemplate('{{/input/a}b}}')).toEqual([{ kind: 'placeholder', pointer: '/input/a}b', tokens: ['input', 'a}b'] }]);
  });

  it('splits a target into literal and placeholder tokens', () => {
    expect(parseTargetTemplate('/items/{{/input/i}}/a~1b')).toEqual([
      { kind: 'literal', token: 'items' },
      { kind: 'dynamic', parts: [{ kind: 'placeholder', pointer: '/input/i', tokens: ['input', 'i'] }] },
      { kind: 'literal', token: 'a/b' },
    ]);
    expect(parseTargetTemplate('')).toEqual([]);
    expect(parseTargetTemplate('/')).toEqual([{ kind: 'literal', token: '' }]);
  });

  it('names the problem of a bad pointer', () => {
    expect(pointerProblem('/a~2')).toMatch(/~0/);
    expect(pointerProblem('a')).toMatch(/starts with "\/"/);
    expect(pointerProblem('/items/01')).toMatch(/leading zeros/);
    expect(pointerProblem('/input/__proto__')).toMatch(/cannot be used/);
    expect(pointerProblem('/items/0')).toBeUndefined();
  });
});

describe('save-time validation', () => {
  it('refuses ~2 in a source, at the row source', () => {
    expect(Object.keys(errorsOf((f) => (rows(f)[0] = { target: '/email', source: '/input/a~2b' })))).toEqual(['/request/body/fields/0/source']);
  });

  it('refuses a target without its leading slash', () => {
    expect(Object.keys(errorsOf((f) => (rows(f)[1]!.target = 'tags')))).toEqual(['/request/body/fields/1/target']);
  });

  it('refuses a leading-zero index in a target, a source and a placeholder', () => {
    expect(Object.keys(errorsOf((f) => (rows(f)[1]!.target = '/tags/01')))).toEqual(['/request/body/fields/1/target']);
    expect(Object.keys(errorsOf((f) => (rows(f)[0] = { target: '/e', source: '/input/items/00' })))).toEqual(['/request/body/fields/0/source']);
    expect(Object.keys(errorsOf((f) => (rows(f)[0]!.value = '{{/input/items/007}}')))).toEqual(['/request/body/fields/0/value']);
  });

  it('refuses a malformed or unclosed placeholder where it is written', () => {
    expect(Object.keys(errorsOf((f) => (f.request.headers![0]!.value = 'x {{/meta/feedId')))).toEqual(['/request/headers/0/value']);
    expect(Object.keys(errorsOf((f) => (f.request.path = '/lists/{{input/list_id}}')))).toEqual(['/request/path']);
    expect(Object.keys(errorsOf((f) => (f.request.query![0]!.value = '{{/secrets/token}}')))).toEqual(['/request/query/0/value']);
  });

  it('refuses __proto__, constructor and prototype anywhere', () => {
    expect(Object.keys(errorsOf((f) => (rows(f)[0]!.target = '/__proto__/polluted')))).toEqual(['/request/body/fields/0/target']);
    expect(Object.keys(errorsOf((f) => (rows(f)[0]!.value = '{{/input/constructor}}')))).toEqual(['/request/body/fields/0/value']);
    expect(Object.keys(errorsOf((f) => (f.request.headers![0]!.value = '{{/input/a/prototype}}')))).toEqual(['/request/headers/0/value']);
    expect(Object.keys(errorsOf((f) => (f.condition = { rules: [{ source: '/input/__proto__', op: 'is', value: 'x' }] })))).toEqual(['/condition/rules/0/source']);
    expect(Object.keys(errorsOf((f) => (f.input = { fields: [{ name: 'prototype' }] })))).toEqual(['/input/fields/0/name']);
    expect(Object.keys(errorsOf((f) => (f.response = { json: { data: [{ target: '/constructor', source: '/response/body/id' }] } })))).toEqual(['/response/json/data/0/target']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a target written twice as mapping-conflict, at the second row', () => {
    const codes = codesOf((f) => rows(f).push({ target: '/email_address', value: 'again' }));
    expect(codes).toEqual({ '/request/body/fields/2/target': ['mapping-conflict'] });
  });

  it('refuses a target under another row’s value, and a name on an array, as mapping-conflict', () => {
    expect(codesOf((f) => rows(f).push({ target: '/email_address/local', value: 'x' }))).toEqual({ '/request/body/fields/2/target': ['mapping-conflict'] });
    expect(codesOf((f) => rows(f).push({ target: '/tags/first', value: 'x' }))).toEqual({ '/request/body/fields/2/target': ['mapping-conflict'] });
    expect(codesOf((f) => rows(f).unshift({ target: '/merge/NAME', value: 'x' }, { target: '/merge', value: 'y' }))).toEqual({
      '/request/body/fields/1/target': ['mapping-conflict'],
    });
  });

  it('refuses a top-level array mixed with names', () => {
    expect(codesOf((f) => (f.request.body!.fields = [{ target: '/-', value: 'a' }, { target: '/name', value: 'b' }]))).toEqual({
      '/request/body/fields/1/target': ['mapping-conflict'],
    });
  });

  it('refuses a literal index past the end as mapping-index-gap, and accepts consecutive ones', () => {
    expect(codesOf((f) => rows(f).push({ target: '/items/1/sku', value: 'x' }))).toEqual({ '/request/body/fields/2/target': ['mapping-index-gap'] });
    expect(codesOf((f) => rows(f).push({ target: '/tags/2', value: 'x' }))).toEqual({ '/request/body/fields/2/target': ['mapping-index-gap'] });
    const ok = base();
    rows(ok).push({ target: '/items/0/sku', value: 'a' }, { target: '/items/0/qty', value: '1' }, { target: '/items/1/sku', value: 'b' }, { target: '/tags/1', value: 'c' });
    expect(validateFeedInput(ok).success).toBe(true);
  });

  it('leaves an index after a placeholder-built one to the run', () => {
    const ok = base();
    rows(ok).push({ target: '/items/{{/input/i}}', value: 'a' }, { target: '/items/5', value: 'b' });
    expect(validateFeedInput(ok).success).toBe(true);
  });

  it('refuses nested targets in form and multipart bodies', () => {
    for (const format of ['form', 'multipart'] as const) {
      const codes = codesOf((f) => {
        f.request.body!.format = format;
        f.request.body!.fields = [{ target: '/email', value: '{{/input/email}}' }, { target: '/address/city', value: 'x' }];
      });
      expect(codes, format).toEqual({ '/request/body/fields/1/target': ['nested-target'] });
    }
  });

  it('takes form field names as names: "0" beside "email" is fine, a name written twice is a conflict', () => {
    const form = (f: ReturnType<typeof base>, fields: { target: string; value: string }[]) => (f.request.body = { format: 'form', fields });
    const ok = base();
    form(ok, [{ target: '/0', value: 'a' }, { target: '/email', value: 'b' }, { target: '/-', value: 'c' }]);
    expect(validateFeedInput(ok).success).toBe(true);
    expect(codesOf((f) => form(f, [{ target: '/email', value: 'a' }, { target: '/email', value: 'b' }]))).toEqual({ '/request/body/fields/1/target': ['mapping-conflict'] });
  });

  it('refuses body rows in a body of format none, and nested targets there too', () => {
    expect(codesOf((f) => (f.request.body = { format: 'none', fields: [{ target: '/email', value: 'x' }] }))).toEqual({ '/request/body/fields': ['body-not-allowed'] });
    expect(codesOf((f) => (f.request.body!.format = 'none'))).toEqual({
      '/request/body/fields': ['body-not-allowed'],
      '/request/body/fields/1/target': ['nested-target'],
    });
  });

  it('refuses a body on GET and DELETE', () => {
    for (const method of ['GET', 'DELETE'] as const) {
      expect(codesOf((f) => (f.request.method = method)), method).toEqual({
        '/request/body/format': ['body-not-allowed'],
        '/request/body/fields': ['body-not-allowed'],
      });
      expect(codesOf((f) => ((f.request.method = method), (f.request.body = { format: 'none', fields: [{ target: '/a', value: 'b' }] }))), method).toEqual({
        '/request/body/fields': ['body-not-allowed'],
      });
      expect(codesOf((f) => ((f.request.method = method), (f.request.body = { format: 'form' }))), method).toEqual({
        '/request/body/format': ['body-not-allowed'],
      });
    }
    const get = base();
    get.request.method = 'GET';
    get.request.body = { format: 'none' };
    expect(validateFeedInput(get).success).toBe(true);
  });

  it('refuses every forbidden header name', () => {
    const names = [...FORBIDDEN_FEED_HEADERS, 'Authorization', 'Proxy-Foo', 'CF-Connecting-IP', 'cf-ray', 'X-Forwarded-For', 'x-forwarded-host', 'Forwarded', 'Keep-Alive'];
    for (const name of names) {
      expect(codesOf((f) => (f.request.headers = [{ name: 'X-Ok', value: '1' }, { name, value: 'x' }])), name).toEqual({
        '/request/headers/1/name': ['header-not-allowed'],
      });
    }
    expect(codesOf((f) => (f.request.headers = [{ name: 'Bad Name', value: 'x' }]))).toEqual({ '/request/headers/0/name': ['header-not-allowed'] });
  });

  it('refuses placeholders in a redirect URL’s scheme or authority', () => {
    for (const url of ['https://{{/input/host}}/thanks', '{{/input/next}}', 'https://shop.example{{/input/x}}/t', '{{/input/scheme}}://shop.example/', 'https://shop.example:{{/input/port}}/', 'https://{{/input/user}}@shop.example/']) {
      expect(codesOf((f) => (f.response = { redirect: { successUrl: url } })), url).toEqual({ '/response/redirect/successUrl': ['redirect-not-allowed'] });
    }
  });

  it('refuses a redirect to an origin that is neither an allowed origin nor a redirect origin', () => {
    expect(codesOf((f) => (f.response = { redirect: { errorUrl: 'https://evil.example/x?e={{/meta/errorCode}}' } }))).toEqual({
      '/response/redirect/errorUrl': ['redirect-not-allowed'],
    });
    expect(codesOf((f) => (f.response = { redirect: { successUrl: 'http://shop.example/thanks' } }))).toEqual({ '/response/redirect/successUrl': ['redirect-not-allowed'] });
    expect(codesOf((f) => (f.response = { redirect: { successUrl: 'javascript:alert(1)' } }))).toEqual({ '/response/redirect/successUrl': ['redirect-not-allowed'] });
    const ok = base();
    ok.response = { redirect: { successUrl: 'https://thanks.example/t/{{/response/body/id}}#x', redirectOrigins: ['https://thanks.example'] } };
    expect(validateFeedInput(ok).success).toBe(true);
  });

  it('refuses browser mode without allowed origins', () => {
    expect(codesOf((f) => (f.trigger = { browser: { enabled: true } }))).toEqual({
      '/trigger/browser/allowedOrigins': ['origins-required'],
      // The success URL's origin is no longer allowed either.
      '/response/redirect/successUrl': ['redirect-not-allowed'],
    });
  });

  it('refuses Turnstile required without a secret, unless one is stored', () => {
    const change = (f: ReturnType<typeof base>) => (f.trigger!.browser!.turnstile = { mode: 'required', siteKey: '0x4AAA' });
    expect(Object.keys(errorsOf(change))).toEqual(['/trigger/browser/turnstile/secretKey']);
    const feed = base();
    change(feed);
    expect(validateFeedInput(feed, { storedTurnstileSecret: true }).success).toBe(true);
  });

  it('refuses /response placeholders outside response mapping', () => {
    expect(codesOf((f) => (rows(f)[0]!.value = '{{/response/body/id}}'))).toEqual({ '/request/body/fields/0/value': ['invalid-template'] });
  });

  it('refuses a file row outside a multipart body', () => {
    expect(codesOf((f) => (rows(f)[0]!.as = 'file'))).toEqual({ '/request/body/fields/0/as': ['invalid-value'] });
  });

  it('says how to fix each refusal', () => {
    const errors = errorsOf((f) => (f.request.headers = [{ name: 'Cookie', value: 'x' }]));
    expect(errors['/request/headers/0/name']![0]).toMatch(/remove the row/);
  });
});
