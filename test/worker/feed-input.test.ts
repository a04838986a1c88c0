/**
 * A trigger's submission (FEEDS.md §3.3, §3.11 rows 6–16, 19, 20): content types, limits while
 * streaming, the normalized /input of each parser, reserved names, and declared-schema validation.
 * Every problem is checked as the response `toProblem` makes of it.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { FeedInputSchema, type FeedOutput } from '../../contract/feed';
import { AppError, PROBLEM_TYPE_BASE, toProblem } from '../../worker/errors';
import {
  isFileDescriptor,
  parseRawSubmission,
  parseSubmission,
  sensitiveFields,
  validateSubmission,
  type Submission,
} from '../../worker/feeds/input';

const HOOK = 'https://edge.example/hook/fpk_test';
const ALL_MEDIA_TYPES = 'application/x-www-form-urlencoded, multipart/form-data, application/json';

function feed(extra: { trigger?: Record<string, unknown>; input?: Record<string, unknown> } = {}): FeedOutput {
  return v.parse(FeedInputSchema, { name: 'F', connection: 'acme-crm', request: { method: 'POST' }, ...extra });
}

function post(body: BodyInit | null, contentType?: string, headers: Record<string, string> = {}): Request {
  return new Request(HOOK, { method: 'POST', body, headers: { ...(contentType === undefined ? {} : { 'Content-Type': contentType }), ...headers } });
}

const form = (body: string, headers?: Record<string, string>) => post(body, 'application/x-www-form-urlencoded', headers);
const json = (body: string, headers?: Record<string, string>) => post(body, 'application/json', headers);

interface Problem {
  status: number;
  code: string;
  body: Record<string, any>;
  headers: Headers;
}

/** The answer a thrown error becomes; fails when nothing (or no AppError) was thrown. */
async function problemOf(action: Promise<unknown> | (() => unknown)): Promise<Problem> {
  let thrown: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a problem').toBeInstanceOf(AppError);
  const res = toProblem(thrown);
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  const body = (await res.json()) as Record<string, any>;
  const code = String(body.type).replace(PROBLEM_TYPE_BASE, '');
  expect(code).toBe((thrown as AppError).code);
  expect(body.status).toBe(res.status);
  return { status: res.status, code, body, headers: res.headers };
}

async function expectProblem(action: Promise<unknown> | (() => unknown), status: number, code: string): Promise<Problem> {
  const problem = await problemOf(action);
  expect({ status: problem.status, code: problem.code }, JSON.stringify(problem.body)).toEqual({ status, code });
  return problem;
}

/** A body stream without Content-Length, in `chunks` pieces of `size` bytes; `pulled()` counts what was read. */
function chunkedStream(chunks: number, size: number, byte = 0x61) {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) {
        controller.close();
        return;
      }
      sent++;
      controller.enqueue(new Uint8Array(size).fill(byte));
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => sent };
}

function multipartBody(parts: string[]): string {
  return parts.map((part) => `--XB\r\n${part}\r\n`).join('') + '--XB--\r\n';
}
const MULTIPART_XB = 'multipart/form-data; boundary=XB';

function expectNullPrototypes(value: unknown): void {
  if (Array.isArray(value)) value.forEach(expectNullPrototypes);
  else if (typeof value === 'object' && value !== null) {
    expect(Object.getPrototypeOf(value)).toBeNull();
    Object.values(value).forEach(expectNullPrototypes);
  }
}

function validationErrors(submission: Submission, f: FeedOutput): Promise<Record<string, string[]>> {
  return expectProblem(() => validateSubmission(submission, f), 400, 'invalid-submission').then((p) => p.body.errors as Record<string, string[]>);
}

describe('urlencoded bodies', () => {
  it('keeps names as strings, turns repeated names and names ending [] into arrays, and keeps the [] in the key', async () => {
    const body = 'email=ada%40example.com&name=Ada+Lovelace&interests=a&interests=b&tags[]=x&one[]=only&_next=https%3A%2F%2Fevil.example&_redirect=%2Fx';
    const s = await parseSubmission(form(body), feed());
    expect(s.contentType).toBe('form');
    expect(s.bodyBytes).toBe(new TextEncoder().encode(body).byteLength);
    expect({ ...s.input }).toEqual({
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      interests: ['a', 'b'],
      'tags[]': ['x'],
      'one[]': ['only'],
      _next: 'https://evil.example',
      _redirect: '/x',
    });
    expectNullPrototypes(s.input);
    expect(s.fieldNames).toEqual(['email', 'name', 'interests', 'tags[]', 'one[]', '_next', '_redirect']);
    expect(s.files.size).toBe(0);
    expect(s.duplicateKeys).toEqual([]);
  });

  it('takes the reserved fields out of /input and keeps them aside', async () => {
    const f = feed({ trigger: { browser: { honeypotField: 'company_website' } } });
    const s = await parseSubmission(form('email=a%40b.example&cf-turnstile-response=tok-1&company_website=spam.example&_idempotency_key=k-9'), f);
    expect({ ...s.input }).toEqual({ email: 'a@b.example' });
    expect(s.reserved).toEqual({ turnstileToken: 'tok-1', honeypot: 'spam.example', idempotencyKey: 'k-9' });
    expect(s.fieldNames).toContain('cf-turnstile-response');
  });

  it('records an empty honeypot field as sent but empty, and treats the honeypot name as ordinary when none is set', async () => {
    const withHoneypot = await parseSubmission(form('email=x&company_website='), feed({ trigger: { browser: { honeypotField: 'company_website' } } }));
    expect(withHoneypot.reserved).toEqual({ honeypot: '' });
    expect('company_website' in withHoneypot.input).toBe(false);
    const without = await parseSubmission(form('email=x&company_website=y'), feed());
    expect(without.reserved).toEqual({});
    expect(without.input['company_website']).toBe('y');
  });

  it('accepts charset=utf-8 in any case and quoted, and no charset', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'Application/X-WWW-Form-Urlencoded;charset="utf-8"']) {
      const s = await parseSubmission(post('a=1', type), feed());
      expect(s.input['a']).toBe('1');
    }
  });

  it('keeps a[__proto__] as an ordinary name without expandBrackets, touching no prototype', async () => {
    const s = await parseSubmission(form('a[__proto__]=x&__proto__=y&constructor=z'), feed());
    expect(Object.keys(s.input)).toEqual(['a[__proto__]', '__proto__', 'constructor']);
    expect(Object.getPrototypeOf(s.input)).toBeNull();
  });

  it('reads an empty body as no fields', async () => {
    const s = await parseSubmission(form(''), feed());
    expect(Object.keys(s.input)).toEqual([]);
    expect(s.bodyBytes).toBe(0);
  });
});

describe('expandBrackets', () => {
  const expanding = (extra: Record<string, unknown> = {}) => feed({ trigger: { expandBrackets: true, ...extra } });

  it('nests a[b][0]=x qs-style into null-prototype objects and arrays in index order', async () => {
    const body = 'user[name]=Ada&user[langs][1]=en&user[langs][0]=fr&tags[]=a&tags[]=b&items[][sku]=1&items[][sku]=2&plain=p&same[k]=1&same[k]=2';
    const s = await parseSubmission(form(body), expanding());
    expect(JSON.parse(JSON.stringify(s.input))).toEqual({
      user: { name: 'Ada', langs: ['fr', 'en'] },
      tags: ['a', 'b'],
      items: [{ sku: '1' }, { sku: '2' }],
      plain: 'p',
      same: { k: ['1', '2'] },
    });
    expectNullPrototypes(s.input);
    expect(s.fieldNames).toContain('user[langs][1]');
  });

  it('allows five bracket groups and refuses six (row 13)', async () => {
    const ok = await parseSubmission(form('a[b][c][d][e][f]=x'), expanding());
    expect(JSON.parse(JSON.stringify(ok.input))).toEqual({ a: { b: { c: { d: { e: { f: 'x' } } } } } });
    await expectProblem(parseSubmission(form('a[b][c][d][e][f][g]=x'), expanding()), 400, 'malformed-body');
  });

  it('refuses __proto__, constructor and prototype anywhere in a name (row 13)', async () => {
    for (const name of ['a[__proto__]', 'a[b][constructor]', 'a[prototype][x]', '__proto__[a]']) {
      await expectProblem(parseSubmission(form(`${encodeURIComponent(name)}=x`), expanding()), 400, 'malformed-body');
    }
  });

  it('allows index 99 and refuses index 100 and a 101st element (row 13)', async () => {
    const ok = await parseSubmission(form('a[99]=x'), expanding());
    expect(ok.input['a']).toEqual(['x']);
    await expectProblem(parseSubmission(form('a[100]=x'), expanding()), 400, 'malformed-body');
    const hundred = Array.from({ length: 100 }, () => 'a[]=x').join('&');
    const full = await parseSubmission(form(hundred), expanding({ limits: { maxFields: 200 } }));
    expect(full.input['a']).toHaveLength(100);
    await expectProblem(parseSubmission(form(`${hundred}&a[]=y`), expanding({ limits: { maxFields: 200 } })), 400, 'malformed-body');
  });

  it('refuses a name used as a text and as a group', async () => {
    await expectProblem(parseSubmission(form('a=1&a[b]=2'), expanding()), 400, 'malformed-body');
    await expectProblem(parseSubmission(form('a[b]=2&a=1'), expanding()), 400, 'malformed-body');
    await expectProblem(parseSubmission(form('a[0]=1&a[b]=2'), expanding()), 400, 'malformed-body');
    await expectProblem(parseSubmission(form('a[b]=1&a[b][c]=2'), expanding()), 400, 'malformed-body');
  });
});

describe('JSON bodies', () => {
  it('copies the object with null prototypes everywhere and takes out the reserved properties', async () => {
    const body = JSON.stringify({ email: 'a@b.example', n: 3, ok: true, none: null, address: { zip: '1000', lines: ['x', { y: 1 }] }, 'cf-turnstile-response': 'tok', _idempotency_key: 'k' });
    const s = await parseSubmission(json(body), feed());
    expect(s.contentType).toBe('json');
    expect(JSON.parse(JSON.stringify(s.input))).toEqual({ email: 'a@b.example', n: 3, ok: true, none: null, address: { zip: '1000', lines: ['x', { y: 1 }] } });
    expectNullPrototypes(s.input);
    expect(s.reserved).toEqual({ turnstileToken: 'tok', idempotencyKey: 'k' });
    expect(s.fieldNames).toEqual(['email', 'n', 'ok', 'none', 'address', 'cf-turnstile-response', '_idempotency_key']);
  });

  it('keeps the last of duplicate keys and names them as pointers', async () => {
    const body = '{"email":"first","a":{"b":1,"b":2,"c":[{"x\\"y":1,"x\\"y":2}]},"email":"last","s":"{\\"email\\":1,\\"email\\":2}"}';
    const s = await parseSubmission(json(body), feed());
    expect(s.input['email']).toBe('last');
    expect((s.input['a'] as Record<string, unknown>)['b']).toBe(2);
    expect(s.duplicateKeys.sort()).toEqual(['/input/a/b', '/input/a/c/0/x"y', '/input/email']);
  });

  it('refuses a form body sent as JSON, malformed JSON and invalid UTF-8 (row 8)', async () => {
    await expectProblem(parseSubmission(json('email=a%40b.example'), feed()), 400, 'malformed-body');
    const broken = await expectProblem(parseSubmission(json('{"secret": "s3cr3t-value",'), feed()), 400, 'malformed-body');
    expect(JSON.stringify(broken.body)).not.toContain('s3cr3t');
    await expectProblem(parseSubmission(post(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'application/json'), feed()), 400, 'malformed-body');
    await expectProblem(parseSubmission(json(''), feed()), 400, 'malformed-body');
  });

  it('refuses an array, a scalar or null at the top (row 9)', async () => {
    for (const body of ['[]', '[{"a":1}]', '"text"', '42', 'true', 'null']) {
      await expectProblem(parseSubmission(json(body), feed()), 400, 'malformed-body');
    }
  });

  it('allows exactly maxJsonDepth levels and refuses one more (row 9)', async () => {
    const f = feed({ trigger: { limits: { maxJsonDepth: 3 } } });
    const ok = await parseSubmission(json('{"a":{"b":[1]}}'), f);
    expect(JSON.parse(JSON.stringify(ok.input))).toEqual({ a: { b: [1] } });
    await expectProblem(parseSubmission(json('{"a":{"b":[[1]]}}'), f), 400, 'malformed-body');
    await expectProblem(parseSubmission(json('{"a":{"b":{"c":{}}}}'), f), 400, 'malformed-body');
  });

  it('keeps a file-like object as ordinary data, never a file (row 10)', async () => {
    const f = feed({ input: { fields: [{ name: 'cv', file: { maxBytes: 10 } }] } });
    const body = JSON.stringify({ cv: { filename: 'x.pdf', type: 'application/pdf', size: 3 }, files: [{ filename: 'y', type: 'text/plain', size: 1 }] });
    const s = await parseSubmission(json(body), f);
    expect(s.files.size).toBe(0);
    expect(JSON.parse(JSON.stringify(s.input['cv']))).toEqual({ filename: 'x.pdf', type: 'application/pdf', size: 3 });
    expect(isFileDescriptor(s.input['cv'])).toBe(false);
    expect(await validationErrors(s, f)).toEqual({ '/input/cv': ['file'] });
  });
});

describe('multipart bodies', () => {
  it('reads text parts as a form and file parts as descriptors with their bytes aside', async () => {
    const data = new FormData();
    data.append('email', 'a@b.example');
    data.append('tags[]', 'x');
    data.append('cv', new File(['%PDF-1.7 data'], 'cv.pdf', { type: 'application/pdf' }));
    data.append('docs', new File(['one'], 'one.txt', { type: 'text/plain' }));
    data.append('docs', new File(['two!'], 'two.txt', { type: 'text/plain' }));
    data.append('cf-turnstile-response', 'tok');
    const f = feed({ input: { fields: [{ name: 'email' }, { name: 'tags[]', multiple: true }, { name: 'cv', file: { maxBytes: 1000, types: ['application/pdf'] } }, { name: 'docs', multiple: true, file: { maxBytes: 10 } }] } });
    const s = await parseSubmission(new Request(HOOK, { method: 'POST', body: data }), f);
    expect(s.contentType).toBe('multipart');
    expect(s.bodyBytes).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(s.input))).toEqual({
      email: 'a@b.example',
      'tags[]': ['x'],
      cv: { filename: 'cv.pdf', type: 'application/pdf', size: 13 },
      docs: [
        { filename: 'one.txt', type: 'text/plain', size: 3 },
        { filename: 'two.txt', type: 'text/plain', size: 4 },
      ],
    });
    expectNullPrototypes(s.input);
    expect(isFileDescriptor(s.input['cv'])).toBe(true);
    expect([...s.files.keys()]).toEqual(['cv', 'docs/0', 'docs/1']);
    expect(await s.files.get('cv')!.text()).toBe('%PDF-1.7 data');
    expect(await s.files.get('docs/1')!.text()).toBe('two!');
    expect(s.reserved).toEqual({ turnstileToken: 'tok' });
    expect(() => validateSubmission(s, f)).not.toThrow();
  });

  it('keeps a file no field declares, so the trigger can drop and name it (row 16)', async () => {
    const data = new FormData();
    data.append('email', 'a@b.example');
    data.append('stray', new File(['zz'], 'stray.bin', { type: 'application/octet-stream' }));
    const s = await parseSubmission(new Request(HOOK, { method: 'POST', body: data }), feed({ input: { fields: [{ name: 'email' }] } }));
    expect([...s.files.keys()]).toEqual(['stray']);
    expect(s.unknownFields).toEqual(['stray']);
  });

  it('expands bracket names of text parts with expandBrackets', async () => {
    const data = new FormData();
    data.append('user[name]', 'Ada');
    data.append('user[langs][]', 'en');
    const s = await parseSubmission(new Request(HOOK, { method: 'POST', body: data }), feed({ trigger: { expandBrackets: true } }));
    expect(JSON.parse(JSON.stringify(s.input))).toEqual({ user: { name: 'Ada', langs: ['en'] } });
  });

  it('refuses a part without a name or with an empty one (row 14)', async () => {
    for (const disposition of ['form-data', 'form-data; filename="a.txt"', 'form-data; name=""']) {
      const body = multipartBody(['Content-Disposition: form-data; name="ok"\r\n\r\nyes', `Content-Disposition: ${disposition}\r\n\r\nvalue`]);
      await expectProblem(parseSubmission(post(body, MULTIPART_XB), feed()), 400, 'malformed-body');
    }
  });

  it('refuses a multipart body that does not parse', async () => {
    await expectProblem(parseSubmission(post('not multipart at all', MULTIPART_XB), feed()), 400, 'malformed-body');
    await expectProblem(parseSubmission(post(multipartBody(['Content-Disposition: form-data; name="a"\r\n\r\n1']), 'multipart/form-data'), feed()), 400, 'malformed-body');
  });

  it('refuses a file over its maxBytes with 413, and one of exactly maxBytes passes (row 15)', async () => {
    const f = feed({ input: { fields: [{ name: 'cv', file: { maxBytes: 4 } }] } });
    const at = new FormData();
    at.append('cv', new File(['1234'], 'cv.txt', { type: 'text/plain' }));
    expect((await parseSubmission(new Request(HOOK, { method: 'POST', body: at }), f)).files.size).toBe(1);
    const over = new FormData();
    over.append('cv', new File(['12345'], 'cv.txt', { type: 'text/plain' }));
    await expectProblem(parseSubmission(new Request(HOOK, { method: 'POST', body: over }), f), 413, 'file-too-large');
  });

  it('checks the declared file type against the allow-list, with type/* wildcards (row 15)', async () => {
    const f = feed({ input: { fields: [{ name: 'cv', file: { maxBytes: 100, types: ['application/pdf', 'image/*'] } }] } });
    const send = (type: string) => {
      const data = new FormData();
      data.append('cv', new File(['%PDF'], 'cv.pdf', { type }));
      return parseSubmission(new Request(HOOK, { method: 'POST', body: data }), f);
    };
    expect((await send('application/pdf')).input['cv']).toMatchObject({ type: 'application/pdf' });
    expect((await send('image/png')).input['cv']).toMatchObject({ type: 'image/png' });
    await expectProblem(send('text/html'), 415, 'file-type-not-allowed');
    await expectProblem(send('application/x-msdownload'), 415, 'file-type-not-allowed');
  });

  it('refuses a multipart body over maxMultipartBytes, also while streaming (413)', async () => {
    const f = feed({ trigger: { limits: { maxMultipartBytes: 2048, maxBodyBytes: 10 } } });
    const small = multipartBody(['Content-Disposition: form-data; name="a"\r\n\r\n' + 'x'.repeat(100)]);
    // maxBodyBytes does not apply to multipart.
    expect((await parseSubmission(post(small, MULTIPART_XB), f)).input['a']).toHaveLength(100);
    const big = multipartBody(['Content-Disposition: form-data; name="a"\r\n\r\n' + 'x'.repeat(3000)]);
    await expectProblem(parseSubmission(post(big, MULTIPART_XB, { 'Content-Length': String(big.length) }), f), 413, 'body-too-large');
    const { stream, pulled } = chunkedStream(10, 512);
    await expectProblem(parseSubmission(post(stream, MULTIPART_XB), f), 413, 'body-too-large');
    expect(pulled()).toBe(10);
  });
});

describe('content types (rows 6, 7)', () => {
  it('answers 415 with Accept-Post for a missing, text/plain or application/xml Content-Type', async () => {
    for (const type of [undefined, 'text/plain', 'text/plain; charset=utf-8', 'application/xml', 'application/vnd.api+json', 'application/jsonx']) {
      const req = new Request(HOOK, { method: 'POST', body: new TextEncoder().encode('{"a":1}'), headers: type === undefined ? {} : { 'Content-Type': type } });
      expect(req.headers.get('Content-Type')).toBe(type ?? null);
      const problem = await expectProblem(parseSubmission(req, feed()), 415, 'unsupported-content-type');
      expect(problem.headers.get('Accept-Post')).toBe(ALL_MEDIA_TYPES);
      expect(problem.body.detail).toContain('application/x-www-form-urlencoded, multipart/form-data or application/json');
    }
  });

  it('answers 415 for a charset other than UTF-8', async () => {
    for (const type of ['application/x-www-form-urlencoded; charset=iso-8859-1', 'application/json; charset=utf-16', 'application/json;charset="windows-1252"']) {
      const problem = await expectProblem(parseSubmission(post('a=1', type), feed()), 415, 'unsupported-content-type');
      expect(problem.headers.get('Accept-Post')).toBe(ALL_MEDIA_TYPES);
    }
  });

  it('answers 415 for a type the feed does not accept, listing only the accepted ones', async () => {
    const jsonOnly = feed({ trigger: { contentTypes: ['json'] } });
    const problem = await expectProblem(parseSubmission(form('a=1'), jsonOnly), 415, 'unsupported-content-type');
    expect(problem.headers.get('Accept-Post')).toBe('application/json');
    const formsOnly = feed({ trigger: { contentTypes: ['multipart', 'form'] } });
    const other = await expectProblem(parseSubmission(json('{}'), formsOnly), 415, 'unsupported-content-type');
    expect(other.headers.get('Accept-Post')).toBe('multipart/form-data, application/x-www-form-urlencoded');
    expect((await parseSubmission(json('{"a":1}'), jsonOnly)).input['a']).toBe(1);
  });

  it('checks the content type before reading the body', async () => {
    const { stream, pulled } = chunkedStream(3, 10);
    const req = post(stream, 'text/plain');
    await expectProblem(parseSubmission(req, feed()), 415, 'unsupported-content-type');
    expect(req.bodyUsed).toBe(false);
    expect(pulled()).toBe(0);
  });
});

describe('limits (rows 11, 12)', () => {
  const limited = (limits: Record<string, number>) => feed({ trigger: { limits } });

  it('refuses a declared Content-Length over maxBodyBytes without reading the body', async () => {
    const req = form('a='.padEnd(101, 'x'), { 'Content-Length': '101' });
    await expectProblem(parseSubmission(req, limited({ maxBodyBytes: 100 })), 413, 'body-too-large');
    expect(req.bodyUsed).toBe(false);
  });

  it('counts a body without Content-Length while it streams, and reads the rest before refusing it', async () => {
    const { stream, pulled } = chunkedStream(8, 64);
    const req = post(stream, 'application/x-www-form-urlencoded');
    expect(req.headers.get('Content-Length')).toBeNull();
    await expectProblem(parseSubmission(req, limited({ maxBodyBytes: 300, maxValueBytes: 1000 })), 413, 'body-too-large');
    expect(pulled()).toBe(8);
    const json = chunkedStream(2, 200, 0x20);
    await expectProblem(parseSubmission(post(json.stream, 'application/json'), limited({ maxBodyBytes: 300 })), 413, 'body-too-large');
  });

  it('reads a body with a declared Content-Length at once, and still refuses one longer than the limit', async () => {
    const ok = await parseSubmission(form('a=1&b=2', { 'Content-Length': '7' }), limited({ maxBodyBytes: 100 }));
    expect(ok.bodyBytes).toBe(7);
    expect({ ...ok.input }).toEqual({ a: '1', b: '2' });
    const j = await parseSubmission(json('{"a":[1,2]}', { 'Content-Length': '11' }), limited({ maxBodyBytes: 100 }));
    expect(j.bodyBytes).toBe(11);
    // A length header that understates the body: what was read is counted, and it is over the limit.
    const { stream } = chunkedStream(4, 64);
    await expectProblem(parseSubmission(post(stream, 'application/x-www-form-urlencoded', { 'Content-Length': '10' }), limited({ maxBodyBytes: 100, maxValueBytes: 1000 })), 413, 'body-too-large');
  });

  it('accepts a streamed body of exactly maxBodyBytes', async () => {
    const { stream } = chunkedStream(4, 25);
    const s = await parseSubmission(post(stream, 'application/x-www-form-urlencoded'), limited({ maxBodyBytes: 100 }));
    expect(s.bodyBytes).toBe(100);
    expect(s.input['a'.repeat(100)]).toBe('');
  });

  it('refuses more than maxFields fields, in a form and in JSON', async () => {
    const f = limited({ maxFields: 3 });
    expect(Object.keys((await parseSubmission(form('a=1&b=2&a=3'), f)).input)).toEqual(['a', 'b']);
    await expectProblem(parseSubmission(form('a=1&b=2&a=3&c=4'), f), 400, 'too-many-fields');
    await expectProblem(parseSubmission(json('{"a":1,"b":2,"c":3,"d":4}'), f), 400, 'too-many-fields');
    const data = new FormData();
    for (const name of ['a', 'b', 'c', 'd']) data.append(name, 'x');
    await expectProblem(parseSubmission(new Request(HOOK, { method: 'POST', body: data }), f), 400, 'too-many-fields');
  });

  it('refuses a value over maxValueBytes counted in UTF-8 bytes, in a form, multipart and nested JSON', async () => {
    const f = limited({ maxValueBytes: 8 });
    expect((await parseSubmission(form('a=12345678'), f)).input['a']).toBe('12345678');
    await expectProblem(parseSubmission(form('a=123456789'), f), 400, 'field-too-long');
    // Five characters, ten bytes.
    await expectProblem(parseSubmission(form(`a=${encodeURIComponent('ééééé')}`), f), 400, 'field-too-long');
    await expectProblem(parseSubmission(json('{"a":{"b":["123456789"]}}'), f), 400, 'field-too-long');
    const data = new FormData();
    data.append('a', '123456789');
    await expectProblem(parseSubmission(new Request(HOOK, { method: 'POST', body: data }), f), 400, 'field-too-long');
  });
});

describe('raw submissions (dry run)', () => {
  it('parses a raw form, JSON or multipart body as a trigger would', async () => {
    const f = feed();
    expect((await parseRawSubmission({ contentType: 'application/x-www-form-urlencoded', body: 'a=1&a=2' }, f)).input['a']).toEqual(['1', '2']);
    const j = await parseRawSubmission({ contentType: 'application/json', body: '{"a":1,"a":2}' }, f);
    expect(j.input['a']).toBe(2);
    expect(j.duplicateKeys).toEqual(['/input/a']);
    const m = await parseRawSubmission({ contentType: MULTIPART_XB, body: multipartBody(['Content-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhey']) }, f);
    expect(m.input['f']).toMatchObject({ filename: 'a.txt', type: 'text/plain', size: 3 });
    expect(await m.files.get('f')!.text()).toBe('hey');
  });

  it('applies the same content-type and size rules', async () => {
    await expectProblem(parseRawSubmission({ contentType: 'text/plain', body: 'a' }, feed()), 415, 'unsupported-content-type');
    await expectProblem(parseRawSubmission({ contentType: 'application/json', body: JSON.stringify({ a: 'é'.repeat(50) }) }, feed({ trigger: { limits: { maxBodyBytes: 100 } } })), 413, 'body-too-large');
    await expectProblem(parseRawSubmission({ contentType: 'application/json', body: '[1]' }, feed()), 400, 'malformed-body');
  });
});

describe('declared-schema validation (rows 19, 20)', () => {
  const signup = feed({
    input: {
      fields: [
        { name: 'email', required: true, format: 'email', maxLength: 30 },
        { name: 'name', required: true, maxLength: 5 },
        { name: 'age', format: 'integer' },
        { name: 'amount', format: 'number' },
        { name: 'site', format: 'url' },
        { name: 'interests', multiple: true },
        { name: 'phone', sensitive: true },
        { name: 'a/b~c', required: true },
      ],
    },
  });
  const valid = 'email=ada%40example.com&name=Ada&age=-12&amount=3.5e2&site=https%3A%2F%2Fada.example%2Fx&interests=a&interests=b&a%2Fb~c=1&extra=kept';

  it('passes a valid submission and lists the unknown field it keeps (unknownFields: ignore)', async () => {
    const s = await parseSubmission(form(valid), signup);
    expect(() => validateSubmission(s, signup)).not.toThrow();
    expect(s.unknownFields).toEqual(['extra']);
    expect(s.input['extra']).toBe('kept');
  });

  it('answers invalid-submission with errors keyed by pointer for missing, empty and blank required fields', async () => {
    const s = await parseSubmission(form('name=+++&a%2Fb~c='), signup);
    expect(await validationErrors(s, signup)).toEqual({ '/input/email': ['required'], '/input/name': ['required'], '/input/a~1b~0c': ['required'] });
  });

  it('names each format and length failure', async () => {
    const s = await parseSubmission(form('email=not-an-email&name=Augusta&age=1.5&amount=12abc&site=javascript%3Aalert(1)&a%2Fb~c=1'), signup);
    expect(await validationErrors(s, signup)).toEqual({
      '/input/email': ['email'],
      '/input/name': ['max-length'],
      '/input/age': ['integer'],
      '/input/amount': ['number'],
      '/input/site': ['url'],
    });
    const tooLong = await parseSubmission(form(`email=${'a'.repeat(25)}%40example.com&name=Ada&a%2Fb~c=1`), signup);
    expect(await validationErrors(tooLong, signup)).toEqual({ '/input/email': ['max-length'] });
  });

  it('counts maxLength in characters, not bytes', async () => {
    const s = await parseSubmission(form(`email=a%40b.example&name=${encodeURIComponent('ééééé')}&a%2Fb~c=1`), signup);
    expect(() => validateSubmission(s, signup)).not.toThrow();
  });

  it('checks JSON numbers and strings by their value', async () => {
    const ok = await parseSubmission(json('{"email":"a@b.example","name":"Ada","age":42,"amount":1.25,"a/b~c":"1"}'), signup);
    expect(() => validateSubmission(ok, signup)).not.toThrow();
    const bad = await parseSubmission(json('{"email":7,"name":"Ada","age":4.2,"amount":"x","site":{"u":1},"a/b~c":"1"}'), signup);
    expect(await validationErrors(bad, signup)).toEqual({ '/input/email': ['email'], '/input/age': ['integer'], '/input/amount': ['number'], '/input/site': ['url'] });
  });

  it('refuses several values for a field that is not multiple', async () => {
    const s = await parseSubmission(form('email=a%40b.example&email=c%40d.example&name=Ada&a%2Fb~c=1'), signup);
    expect(await validationErrors(s, signup)).toEqual({ '/input/email': ['single'] });
  });

  it('refuses text where a file is declared, and a file where none is', async () => {
    const f = feed({ input: { fields: [{ name: 'cv', required: true, file: { maxBytes: 100 } }, { name: 'note' }] } });
    const data = new FormData();
    data.append('cv', 'just text');
    data.append('note', new File(['x'], 'note.txt', { type: 'text/plain' }));
    const s = await parseSubmission(new Request(HOOK, { method: 'POST', body: data }), f);
    expect(await validationErrors(s, f)).toEqual({ '/input/cv': ['file'], '/input/note': ['text'] });
  });

  it('treats an empty file input as a missing required file', async () => {
    const f = feed({ input: { fields: [{ name: 'cv', required: true, file: { maxBytes: 100 } }] } });
    const body = multipartBody(['Content-Disposition: form-data; name="cv"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n']);
    const s = await parseSubmission(post(body, MULTIPART_XB), f);
    expect(await validationErrors(s, f)).toEqual({ '/input/cv': ['required'] });
  });

  it('refuses unknown fields with unknownFields: reject, reserved fields aside (row 20)', async () => {
    const f = feed({ trigger: { browser: { honeypotField: 'hp' } }, input: { fields: [{ name: 'email' }], unknownFields: 'reject' } });
    const s = await parseSubmission(form('email=a&extra=1&other=2&cf-turnstile-response=t&hp=&_idempotency_key=k'), f);
    const problem = await expectProblem(() => validateSubmission(s, f), 400, 'invalid-submission');
    expect(problem.body.errors).toEqual({ '/input/extra': ['unknown'], '/input/other': ['unknown'] });
    expect(problem.body.detail).toBe('2 fields need attention.');
    const clean = await parseSubmission(form('email=a&cf-turnstile-response=t'), f);
    expect(() => validateSubmission(clean, f)).not.toThrow();
  });

  it('accepts anything when no field is declared', async () => {
    const f = feed({ input: { unknownFields: 'reject' } });
    const s = await parseSubmission(form('x=1&y=2'), f);
    expect(s.unknownFields).toEqual([]);
    expect(() => validateSubmission(s, f)).not.toThrow();
  });

  it('lists the pointers of sensitive fields', () => {
    expect(sensitiveFields(signup)).toEqual(['/input/phone']);
    expect(sensitiveFields(feed({ input: { fields: [{ name: 'a/b', sensitive: true }, { name: 'c' }] } }))).toEqual(['/input/a~1b']);
    expect(sensitiveFields(feed())).toEqual([]);
  });
});
