/**
 * Rendering feed templates into the upstream request: the whole-value rule, ifMissing, every
 * coercion, and each context encoding, with hostile corpora for path placeholders, raw JSON,
 * header values and redirect URLs. The rendered path is checked with the relay's own URL builder.
 */
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { FeedInputSchema, type FeedInput, type FeedOutput } from '../../contract/feed';
import { AppError } from '../../worker/errors';
import { evaluateCondition } from '../../worker/feeds/condition';
import {
  buildUpstreamRequest,
  coerceValue,
  encodePairs,
  isJsonMediaType,
  renderBody,
  renderHeaders,
  renderPath,
  renderQuery,
  renderRedirectUrl,
  renderResponseData,
  renderTemplate,
  upstreamUrlOf,
  type RenderContext,
} from '../../worker/feeds/template';
import { buildUpstreamUrl } from '../../worker/relay/path';

function feedOf(request: Partial<FeedInput['request']> = {}, extra: Partial<FeedInput> = {}): FeedOutput {
  return v.parse(FeedInputSchema, { name: 'F', connection: 'acme-crm', ...extra, request: { method: 'POST', ...request } });
}

function ctx(input: Record<string, unknown>, meta: Record<string, unknown> = {}, response?: RenderContext['response']): RenderContext {
  return { input, meta: { runId: 'run_1', feedId: 'fd_7k3m9q2x', ...meta }, ...(response ? { response } : {}) };
}

function problem(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('the whole-value rule', () => {
  const c = ctx({ tags: ['a', 'b'], n: 42, yes: true, none: null, obj: { k: 'v' }, name: 'Ada' });

  it('keeps the type of a value that is exactly one placeholder', () => {
    expect(renderTemplate('{{/input/tags}}', c)).toEqual(['a', 'b']);
    expect(renderTemplate('{{/input/n}}', c)).toBe(42);
    expect(renderTemplate('{{/input/yes}}', c)).toBe(true);
    expect(renderTemplate('{{/input/none}}', c)).toBeNull();
    expect(renderTemplate('{{/input/obj}}', c)).toEqual({ k: 'v' });
    expect(renderTemplate('{{/input}}', c)).toBe(c.input);
  });

  it('stringifies and concatenates otherwise: arrays joined with ", ", objects as JSON', () => {
    expect(renderTemplate('tags: {{/input/tags}}', c)).toBe('tags: a, b');
    expect(renderTemplate('{{/input/n}} items', c)).toBe('42 items');
    expect(renderTemplate('{{/input/obj}}!', c)).toBe('{"k":"v"}!');
    expect(renderTemplate('Hi {{/input/name}}, \\{{/input/name}} \\\\', c)).toBe('Hi Ada, {{/input/name}} \\');
    expect(renderTemplate(' {{/input/name}}', c)).toBe(' Ada');
  });
});

describe('missing values', () => {
  const c = ctx({ name: 'Ada' });

  it('follows ifMissing: omit, empty, null, or a 400 missing-field naming the pointer', () => {
    expect(renderTemplate('{{/input/phone}}', c, 'omit')).toBeUndefined();
    expect(renderTemplate('{{/input/phone}}', c, 'empty')).toBe('');
    expect(renderTemplate('{{/input/phone}}', c, 'null')).toBeNull();
    const err = problem(() => renderTemplate('tel {{/input/phone}}', c, 'error'));
    expect(err.code).toBe('missing-field');
    expect(err.status).toBe(400);
    expect(err.detail).toContain('/input/phone');
    expect(err.extensions).toMatchObject({ pointer: '/input/phone' });
  });

  it('omits body rows by default and reports them as warnings', () => {
    const feed = feedOf({ body: { format: 'json', fields: [{ target: '/email', value: '{{/input/email}}' }, { target: '/phone', value: '{{/input/phone}}' }] } });
    const plan = buildUpstreamRequest(feed, ctx({ email: 'a@b.example' }));
    expect(JSON.parse((plan.body as { text: string }).text)).toEqual({ email: 'a@b.example' });
    expect(plan.warnings).toEqual([{ code: 'missing-source', pointer: '/input/phone', row: '/request/body/fields/1', effect: 'omitted' }]);
  });

  it('fills only the missing placeholders with "" under empty', () => {
    const feed = feedOf({ body: { format: 'json', fields: [{ target: '/t', value: 'tel: {{/input/phone}} ({{/input/name}})', ifMissing: 'empty' }] } });
    expect(JSON.parse((buildUpstreamRequest(feed, c).body as { text: string }).text)).toEqual({ t: 'tel:  (Ada)' });
  });

  it('fails a row with ifMissing error as missing-field naming the pointer and the row', () => {
    const feed = feedOf({ body: { format: 'json', fields: [{ target: '/phone', source: '/input/phone', ifMissing: 'error' }] } });
    const err = problem(() => buildUpstreamRequest(feed, c));
    expect(err.code).toBe('missing-field');
    expect(err.extensions).toEqual({ pointer: '/input/phone', row: '/request/body/fields/0' });
  });

  it('fails a path whose placeholder is missing', () => {
    expect(problem(() => renderPath('/lists/{{/input/list_id}}', c)).code).toBe('missing-field');
  });
});

describe('coercions', () => {
  const fail = (value: unknown, as: Parameters<typeof coerceValue>[1]) => {
    const err = problem(() => coerceValue(value, as, '/input/x', '/request/body/fields/0'));
    expect(err.code).toBe('invalid-field');
    expect(err.status).toBe(400);
    expect(err.extensions).toMatchObject({ pointer: '/input/x' });
  };

  it('keeps the type with auto', () => {
    expect(coerceValue(['a'], 'auto', '/x')).toEqual(['a']);
    expect(coerceValue('5', 'auto', '/x')).toBe('5');
  });

  it('stringifies with string', () => {
    expect(coerceValue(5, 'string', '/x')).toBe('5');
    expect(coerceValue(['a', 'b'], 'string', '/x')).toBe('a, b');
    expect(coerceValue(null, 'string', '/x')).toBe('');
    expect(coerceValue(true, 'string', '/x')).toBe('true');
  });

  it('parses numbers strictly', () => {
    expect(coerceValue('42', 'number', '/x')).toBe(42);
    expect(coerceValue('-4.5', 'number', '/x')).toBe(-4.5);
    expect(coerceValue('1e3', 'number', '/x')).toBe(1000);
    expect(coerceValue(7, 'number', '/x')).toBe(7);
    expect(coerceValue(['1', '2'], 'number', '/x')).toEqual([1, 2]);
    for (const bad of ['', ' 1', '1 ', '0x10', '01', '+1', '.5', 'abc', 'Infinity', 'NaN', '1e999', true, null, { a: 1 }]) fail(bad, 'number');
  });

  it('parses whole numbers strictly', () => {
    expect(coerceValue('42', 'integer', '/x')).toBe(42);
    expect(coerceValue('-0', 'integer', '/x')).toBe(-0);
    for (const bad of ['4.5', '9007199254740993', 'x', '', 4.5]) fail(bad, 'integer');
  });

  it('reads true/1/on/yes and false/0/off/no/"" as booleans, and nothing else', () => {
    for (const yes of ['true', '1', 'on', 'yes', 'Yes', 'TRUE', true, 1]) expect(coerceValue(yes, 'boolean', '/x'), String(yes)).toBe(true);
    for (const no of ['false', '0', 'off', 'no', '', 'No', false, 0]) expect(coerceValue(no, 'boolean', '/x'), String(no)).toBe(false);
    for (const bad of ['maybe', '2', 'y', null, 2]) fail(bad, 'boolean');
  });

  it('parses JSON text with json', () => {
    expect(coerceValue('{"a":[1,2]}', 'json', '/x')).toEqual({ a: [1, 2] });
    expect(coerceValue('null', 'json', '/x')).toBeNull();
    for (const bad of ['{bad', '', "{'a':1}", 'undefined']) fail(bad, 'json');
  });

  it('applies the row’s coercion in a body and names the source pointer when it fails', () => {
    const feed = feedOf({ body: { format: 'json', fields: [{ target: '/age', value: '{{/input/age}}', as: 'integer' }, { target: '/ok', source: '/input/consent', as: 'boolean' }] } });
    expect(JSON.parse((buildUpstreamRequest(feed, ctx({ age: '33', consent: 'on' })).body as { text: string }).text)).toEqual({ age: 33, ok: true });
    const err = problem(() => buildUpstreamRequest(feed, ctx({ age: 'old', consent: 'on' })));
    expect(err.code).toBe('invalid-field');
    expect(err.extensions).toEqual({ pointer: '/input/age', row: '/request/body/fields/0' });
  });
});

/**
 * Hostile values for a path placeholder. `refused` ones must throw `unsafe-path`; `encoded` ones
 * render as one literal segment (the expected encoding given) that stays under the base path.
 */
const PATH_CORPUS: { value: string; outcome: 'refused' | { encoded: string } }[] = [
  { value: '..', outcome: 'refused' },
  { value: '.', outcome: 'refused' },
  { value: '%2e%2e', outcome: 'refused' },
  { value: '%2E%2E', outcome: 'refused' },
  { value: '%2E.', outcome: 'refused' },
  { value: '.%2e', outcome: 'refused' },
  { value: '%2e', outcome: 'refused' },
  { value: '%252e%252e', outcome: 'refused' },
  { value: '%25252e%25252e', outcome: 'refused' },
  { value: '..;x', outcome: 'refused' },
  { value: '\uff0e\uff0e', outcome: 'refused' },
  { value: '../../etc/passwd', outcome: 'refused' },
  { value: '..\\..\\x', outcome: 'refused' },
  { value: '\\', outcome: 'refused' },
  { value: 'a/b', outcome: 'refused' },
  { value: '/', outcome: 'refused' },
  { value: '%2f', outcome: 'refused' },
  { value: '%2F..%2F', outcome: 'refused' },
  { value: '%5c', outcome: 'refused' },
  { value: '%5C..', outcome: 'refused' },
  { value: '\0', outcome: 'refused' },
  { value: '%00', outcome: 'refused' },
  { value: 'a\r\nb', outcome: 'refused' },
  { value: '%0d%0a', outcome: 'refused' },
  { value: '\t', outcome: 'refused' },
  { value: '', outcome: 'refused' },
  // Segments of dots (and spaces) only are refused by the relay's path guards: some servers read them as `..`.
  { value: '...', outcome: 'refused' },
  { value: '.. ', outcome: 'refused' },
  { value: 'a..b', outcome: { encoded: 'a..b' } },
  { value: '?admin=1', outcome: { encoded: '%3Fadmin%3D1' } },
  { value: '#frag', outcome: { encoded: '%23frag' } },
  { value: 'https://evil.example', outcome: 'refused' },
  { value: '//evil.example', outcome: 'refused' },
  { value: 'http:evil.example', outcome: { encoded: 'http%3Aevil.example' } },
  { value: '@evil.example', outcome: { encoded: '%40evil.example' } },
  { value: 'a b', outcome: { encoded: 'a%20b' } },
  { value: 'ü', outcome: { encoded: '%C3%BC' } },
  { value: '%41', outcome: { encoded: '%2541' } },
];

describe('path placeholders', () => {
  const BASE = 'https://api.acme.example/v2';

  it('percent-encodes a value as one segment', () => {
    expect(renderPath('/lists/{{/input/id}}/members', ctx({ id: 42 }))).toBe('/lists/42/members');
    expect(renderPath('/tags/{{/input/tags}}', ctx({ tags: ['a', 'b'] }))).toBe('/tags/a%2C%20b');
  });

  for (const { value, outcome } of PATH_CORPUS) {
    const label = JSON.stringify(value);
    if (outcome === 'refused') {
      it(`refuses ${label} as unsafe-path`, () => {
        const err = problem(() => renderPath('/lists/{{/input/v}}/members', ctx({ v: value })));
        expect(err.code).toBe('unsafe-path');
      });
    } else {
      it(`encodes ${label} as the literal segment ${outcome.encoded}, under the base path`, () => {
        const path = renderPath('/lists/{{/input/v}}/members', ctx({ v: value }));
        expect(path).toBe(`/lists/${outcome.encoded}/members`);
        const url = buildUpstreamUrl(BASE, path, '');
        expect(url.origin).toBe('https://api.acme.example');
        expect(url.pathname).toBe(`/v2/lists/${outcome.encoded}/members`);
      });
    }
  }

  it('never renders a path that leaves the base, for any corpus value in any position', () => {
    const templates = ['/{{/input/v}}', '/a/{{/input/v}}', '/a/{{/input/v}}/b', '/a/x{{/input/v}}', '/a/{{/input/v}}{{/input/v}}'];
    for (const template of templates) {
      for (const { value } of PATH_CORPUS) {
        let path: string;
        try {
          path = renderPath(template, ctx({ v: value }));
        } catch (err) {
          expect((err as AppError).code).toBe('unsafe-path');
          continue;
        }
        const url = buildUpstreamUrl(BASE, path, '');
        expect(url.href.startsWith(`${BASE}/`), `${template} ${JSON.stringify(value)}`).toBe(true);
        expect(url.pathname.split('/').length).toBe(path.split('/').length + 1);
      }
    }
  });

  it('refuses a whole-path placeholder that would not start with a slash', () => {
    expect(problem(() => renderPath('{{/input/p}}', ctx({ p: '/admin' }))).code).toBe('unsafe-path');
  });
});

describe('query values', () => {
  it('uses URLSearchParams encoding', () => {
    const q = renderQuery([{ name: 'q', value: 'a&b=c {{/input/x}}', ifMissing: 'omit' }], ctx({ x: '#1' }), 'repeat');
    expect(q).toBe('?q=a%26b%3Dc+%231');
    expect(new URLSearchParams(q).get('q')).toBe('a&b=c #1');
  });

  it('expands arrays per queryArrayFormat', () => {
    const rows = [{ name: 'tag', value: '{{/input/tags}}', ifMissing: 'omit' as const }];
    const c = ctx({ tags: ['x', 'y z'] });
    expect(renderQuery(rows, c, 'repeat')).toBe('?tag=x&tag=y+z');
    expect(renderQuery(rows, c, 'brackets')).toBe('?tag%5B%5D=x&tag%5B%5D=y+z');
    expect(renderQuery(rows, c, 'indices')).toBe('?tag%5B0%5D=x&tag%5B1%5D=y+z');
    expect(renderQuery(rows, c, 'comma')).toBe('?tag=x%2Cy+z');
    expect(encodePairs('a', [{ k: 1 }], 'repeat')).toEqual([['a', '{"k":1}']]);
  });

  it('leaves out a missing row and renders nothing for no rows', () => {
    expect(renderQuery([{ name: 'a', value: '{{/input/none}}', ifMissing: 'omit' }], ctx({}), 'repeat')).toBe('');
    expect(renderQuery([{ name: 'a', value: '{{/input/none}}', ifMissing: 'empty' }], ctx({}), 'repeat')).toBe('?a=');
  });
});

describe('header values', () => {
  it('trims rendered values and keeps names literal', () => {
    expect(renderHeaders([{ name: 'X-Source', value: '  edge-feed {{/meta/feedId}} ', ifMissing: 'omit' }], ctx({}))).toEqual([['X-Source', 'edge-feed fd_7k3m9q2x']]);
  });

  for (const value of ['a\r\nSet-Cookie: x=1', 'a\nb', 'a\rb', 'a\0b', '\r\n']) {
    it(`refuses ${JSON.stringify(value)} as unsafe-header-value`, () => {
      const err = problem(() => renderHeaders([{ name: 'X-Name', value: 'n={{/input/v}}', ifMissing: 'omit' }], ctx({ v: value })));
      expect(err.code).toBe('unsafe-header-value');
      expect(err.extensions).toEqual({ pointer: '/request/headers/0/value' });
    });
  }

  it('refuses a forbidden header name that reached a stored feed', () => {
    expect(problem(() => renderHeaders([{ name: 'Authorization', value: 'x', ifMissing: 'omit' }], ctx({}))).code).toBe('header-not-allowed');
  });
});

describe('bodies', () => {
  it('builds JSON bodies as values, never by concatenation', () => {
    const hostile = '", "admin": true, "x": "';
    const feed = feedOf({
      body: {
        format: 'json',
        fields: [
          { target: '/name', value: '{{/input/name}}' },
          { target: '/interests', value: '{{/input/interests}}' },
          { target: '/tags/-', value: 'web' },
          { target: '/tags/-', value: '{{/input/tag}}' },
          { target: '/all', source: '/input' },
        ],
      },
    });
    const input = { name: hostile, interests: ['a', 'b'], tag: 't' };
    const body = renderBody(feed.request.body, ctx(input));
    expect(body?.format).toBe('json');
    const parsed = JSON.parse((body as { text: string }).text) as Record<string, unknown>;
    expect(parsed).toEqual({ name: hostile, interests: ['a', 'b'], tags: ['web', 't'], all: input });
    expect(parsed).not.toHaveProperty('admin');
  });

  it('builds a form body with URLSearchParams and arrays per queryArrayFormat', () => {
    const feed = feedOf({ body: { format: 'form', queryArrayFormat: 'brackets', fields: [{ target: '/email', value: '{{/input/email}}' }, { target: '/i', value: '{{/input/i}}' }] } });
    const body = renderBody(feed.request.body, ctx({ email: 'a+b@x.example', i: ['1', '2'] }));
    expect(body).toEqual({
      format: 'form',
      contentType: 'application/x-www-form-urlencoded',
      text: 'email=a%2Bb%40x.example&i%5B%5D=1&i%5B%5D=2',
      fields: [['email', 'a+b@x.example'], ['i[]', '1'], ['i[]', '2']],
    });
  });

  it('lists multipart fields, with the file descriptor for a file row', () => {
    const cv = { filename: 'cv.pdf', type: 'application/pdf', size: 3 };
    const feed = feedOf({ body: { format: 'multipart', fields: [{ target: '/name', value: '{{/input/name}}' }, { target: '/cv', source: '/input/cv', as: 'file' }] } });
    expect(renderBody(feed.request.body, ctx({ name: 'Ada', cv }))).toEqual({ format: 'multipart', fields: [{ name: 'name', value: 'Ada' }, { name: 'cv', file: cv }] });
  });

  it('JSON-escapes values in a raw JSON template, so no value can break out of its string', () => {
    const values = ['a"b', 'back\\slash', 'line\nbreak', '", "admin": true, "x": "', '\u2028\u0000</script>', '\\"'];
    for (const contentType of ['application/json', 'application/vnd.api+json; charset=utf-8']) {
      for (const name of values) {
        const feed = feedOf({ body: { format: 'raw', raw: { contentType, template: '{"name": "{{/input/name}}", "n": {{/input/n}}}' } } });
        const body = renderBody(feed.request.body, ctx({ name, n: 5 }));
        const parsed = JSON.parse((body as { text: string }).text) as Record<string, unknown>;
        expect(parsed, name).toEqual({ name, n: 5 });
      }
    }
  });

  it('cannot add a member through an unquoted placeholder in a raw JSON template', () => {
    const feed = feedOf({ body: { format: 'raw', raw: { contentType: 'application/json', template: '{"n": {{/input/n}}}' } } });
    const text = (renderBody(feed.request.body, ctx({ n: '5, "admin": true' })) as { text: string }).text;
    expect(text).toBe('{"n": 5, \\"admin\\": true}');
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('inserts values verbatim in other raw types', () => {
    const feed = feedOf({ body: { format: 'raw', raw: { contentType: 'text/xml', template: '<name>{{/input/name}}</name>' } } });
    expect(renderBody(feed.request.body, ctx({ name: 'a"b' }))).toEqual({ format: 'raw', contentType: 'text/xml', text: '<name>a"b</name>' });
    expect(isJsonMediaType('text/json')).toBe(false);
    expect(isJsonMediaType('application/problem+json')).toBe(true);
  });

  it('fails a raw template with a missing value under ifMissing error', () => {
    const feed = feedOf({ body: { format: 'raw', raw: { contentType: 'text/plain', template: 'x {{/input/n}}', ifMissing: 'error' } } });
    expect(problem(() => renderBody(feed.request.body, ctx({}))).code).toBe('missing-field');
  });

  it('refuses a placeholder-built index past the end as mapping-index-gap', () => {
    const feed = feedOf({ body: { format: 'json', fields: [{ target: '/items/{{/input/i}}/sku', value: 'x' }] } });
    expect(JSON.parse((renderBody(feed.request.body, ctx({ i: '0' })) as { text: string }).text)).toEqual({ items: [{ sku: 'x' }] });
    expect(problem(() => renderBody(feed.request.body, ctx({ i: '3' }))).code).toBe('mapping-index-gap');
  });

  it('never lets a value-built target reach a prototype', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const feed = feedOf({ body: { format: 'json', fields: [{ target: '/{{/input/k}}/polluted', value: 'yes' }] } });
      expect(problem(() => renderBody(feed.request.body, ctx({ k: key }))).code).toBe('unsafe-target');
    }
    const input = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}') as Record<string, unknown>;
    const feed = feedOf({ body: { format: 'json', fields: [{ target: '/copy', source: '/input' }, { target: '/p', source: '/input/__proto__' }] } });
    renderBody(feed.request.body, ctx(input));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('redirect URLs', () => {
  const response = { status: 201, headers: {}, body: { id: 'm_1' } };

  it('renders placeholders in the path as one segment and in the query and fragment as components', () => {
    const url = renderRedirectUrl('https://shop.example/thanks/{{/input/a}}?m={{/response/body/id}}&q={{/input/q}}#{{/input/f}}', ctx({ a: 'x/y', q: 'a&b=c', f: '#z' }, {}, response));
    expect(url).toBe('https://shop.example/thanks/x%2Fy?m=m_1&q=a%26b%3Dc#%23z');
  });

  it('keeps scheme and authority whatever the values hold', () => {
    for (const value of ['//evil.example', 'https://evil.example', '@evil.example', '\\\\evil.example', '../../x', '%2e%2e', ':8080']) {
      let url: string;
      try {
        url = renderRedirectUrl('https://shop.example/{{/input/v}}?r={{/input/v}}#{{/input/v}}', ctx({ v: value }));
      } catch (err) {
        expect((err as AppError).code, value).toBe('unsafe-redirect');
        continue;
      }
      const parsed = new URL(url);
      expect(parsed.origin, value).toBe('https://shop.example');
      expect(parsed.pathname.split('/').length, value).toBe(2);
      expect(new URLSearchParams(parsed.search).get('r')).toBe(value);
    }
  });

  it('refuses a value that would form a dot segment in the path', () => {
    for (const value of ['..', '.']) {
      expect(problem(() => renderRedirectUrl('https://shop.example/a/{{/input/v}}/b', ctx({ v: value }))).code).toBe('unsafe-redirect');
    }
  });

  it('refuses a placeholder in the scheme or authority, and renders a missing value as ""', () => {
    expect(problem(() => renderRedirectUrl('https://{{/input/host}}/x', ctx({ host: 'evil.example' }))).code).toBe('unsafe-redirect');
    expect(renderRedirectUrl('https://shop.example/signup?error={{/meta/errorCode}}', ctx({}))).toBe('https://shop.example/signup?error=');
  });
});

describe('the upstream request builder', () => {
  it('renders the FEEDS.md example feed into method, path, query, headers and body', () => {
    const feed = feedOf({
      method: 'POST',
      path: '/lists/{{/input/list_id}}/members',
      query: [{ name: 'double_optin', value: 'true' }],
      headers: [{ name: 'X-Source', value: 'edge-feed {{/meta/feedId}}' }],
      forwardIdempotencyKey: true,
      body: {
        format: 'json',
        fields: [
          { target: '/email_address', value: '{{/input/email}}' },
          { target: '/merge_fields/FNAME', value: '{{/input/name}}' },
          { target: '/interests', value: '{{/input/interests}}', as: 'auto' },
          { target: '/tags/-', value: 'web-signup' },
          { target: '/phone', value: '{{/input/phone}}', ifMissing: 'omit' },
        ],
      },
    });
    const plan = buildUpstreamRequest(feed, ctx({ list_id: '42', email: 'a@b.example', name: 'Ada', interests: ['x', 'y'] }));
    expect(plan).toEqual({
      method: 'POST',
      path: '/lists/42/members',
      query: '?double_optin=true',
      target: '/lists/42/members?double_optin=true',
      headers: [['X-Source', 'edge-feed fd_7k3m9q2x'], ['Idempotency-Key', 'run_1']],
      body: {
        format: 'json',
        contentType: 'application/json',
        text: '{"email_address":"a@b.example","merge_fields":{"FNAME":"Ada"},"interests":["x","y"],"tags":["web-signup"]}',
        value: expect.anything(),
      },
      warnings: [{ code: 'missing-source', pointer: '/input/phone', row: '/request/body/fields/4', effect: 'omitted' }],
    });
  });

  it('joins the plan to the connection base URL through the relay URL builder', () => {
    const feed = feedOf({ path: '/lists/{{/input/id}}', query: [{ name: 'q', value: '{{/input/q}}' }] });
    const plan = buildUpstreamRequest(feed, ctx({ id: 'a b', q: '1&2' }));
    expect(upstreamUrlOf(plan, 'https://api.acme.example/v2/').href).toBe('https://api.acme.example/v2/lists/a%20b?q=1%262');
  });

  it('refuses a body on GET even when a stored feed holds one', () => {
    const feed = feedOf({ method: 'GET', body: { format: 'json', fields: [{ target: '/a', value: 'b' }] } });
    expect(problem(() => buildUpstreamRequest(feed, ctx({}))).code).toBe('body-not-allowed');
  });

  it('maps the upstream answer into data', () => {
    const feed = feedOf({}, { response: { json: { data: [{ target: '/memberId', source: '/response/body/id' }, { target: '/status', value: '{{/response/status}}' }] } } });
    const data = renderResponseData(feed, ctx({}, {}, { status: 201, headers: {}, body: { id: 'm_1' } }));
    expect(JSON.parse(JSON.stringify(data))).toEqual({ memberId: 'm_1', status: 201 });
  });
});

describe('conditions', () => {
  const rule = (source: string, op: string, value = '') => ({ source, op, value }) as never;
  const run = (input: Record<string, unknown>, rules: never[], logic: 'all' | 'any' = 'all') => evaluateCondition({ logic, rules }, ctx(input)).result;

  it('compares strings, case-sensitive', () => {
    expect(run({ c: 'yes' }, [rule('/input/c', 'is', 'yes')])).toBe(true);
    expect(run({ c: 'Yes' }, [rule('/input/c', 'is', 'yes')])).toBe(false);
    expect(run({ c: 'yes' }, [rule('/input/c', 'isnot', 'no')])).toBe(true);
    expect(run({ c: 'newsletter' }, [rule('/input/c', 'contains', 'letter')])).toBe(true);
    expect(run({ c: 'newsletter' }, [rule('/input/c', 'starts_with', 'news')])).toBe(true);
    expect(run({ c: 'newsletter' }, [rule('/input/c', 'ends_with', 'news')])).toBe(false);
    expect(run({ n: 5 }, [rule('/input/n', 'is', '5')])).toBe(true);
  });

  it('compares > and < as numbers, and is false for non-numbers', () => {
    expect(run({ n: '10' }, [rule('/input/n', '>', '9')])).toBe(true);
    expect(run({ n: '10' }, [rule('/input/n', '<', '9')])).toBe(false);
    expect(run({ n: 'ten' }, [rule('/input/n', '>', '9')])).toBe(false);
    expect(run({ n: 'ten' }, [rule('/input/n', '<', '9')])).toBe(false);
    expect(run({ n: '10' }, [rule('/input/n', '>', 'x')])).toBe(false);
  });

  it('matches arrays when any element matches, and isnot when none equals', () => {
    expect(run({ t: ['a', 'news'] }, [rule('/input/t', 'is', 'news')])).toBe(true);
    expect(run({ t: ['a', 'news'] }, [rule('/input/t', 'starts_with', 'ne')])).toBe(true);
    expect(run({ t: ['a', 'news'] }, [rule('/input/t', 'isnot', 'news')])).toBe(false);
    expect(run({ t: ['a', 'b'] }, [rule('/input/t', 'isnot', 'news')])).toBe(true);
  });

  it('tells empty from not empty, a missing source being empty', () => {
    expect(run({ e: '' }, [rule('/input/e', 'empty')])).toBe(true);
    expect(run({}, [rule('/input/e', 'empty')])).toBe(true);
    expect(run({ e: [] }, [rule('/input/e', 'empty')])).toBe(true);
    expect(run({ e: 'x' }, [rule('/input/e', 'notempty')])).toBe(true);
    expect(run({ e: 0 }, [rule('/input/e', 'empty')])).toBe(false);
  });

  it('needs every rule with all and one with any, and reports each rule', () => {
    const rules = [rule('/input/a', 'is', '1'), rule('/input/b', 'is', '1')];
    expect(run({ a: '1', b: '2' }, rules, 'all')).toBe(false);
    expect(run({ a: '1', b: '2' }, rules, 'any')).toBe(true);
    expect(evaluateCondition(null, ctx({})).result).toBe(true);
    const detail = evaluateCondition({ logic: 'all', rules }, ctx({ a: '1' }));
    expect(detail.rules.map((r) => [r.actual, r.matched])).toEqual([['1', true], [undefined, false]]);
  });
});
