/**
 * Rendering feed templates into the upstream request (FEEDS.md §3.2): `{{/pointer}}` placeholders,
 * the whole-value rule, `ifMissing`, `as` coercions and the context encodings (path segment, query,
 * header, JSON, form, multipart, raw, redirect URL).
 *
 * `buildUpstreamRequest` is the one builder that a trigger and a dry run both call: it takes an
 * explicit context and returns a plain description of the request, never sending anything. The
 * rendered path passes the relay's own path guards (`assertSafeTail`), as a relayed path does.
 */
import {
  BODYLESS_METHODS,
  isForbiddenFeedHeader,
  redirectHead,
  type Coercion,
  type FeedMethod,
  type FeedOutput,
  type IfMissing,
  type MappingRow,
  type QueryArrayFormat,
} from '../../contract/feed';
import { parseTargetTemplate, parseTemplate, type TargetToken, type TemplatePart } from '../../contract/feed-template';
import { AppError } from '../errors';
import { assertSafeTail, buildUpstreamUrl, type UpstreamBase } from '../relay/path';
import { PointerWriter, resolvePointer } from './pointer';

/** Parsed templates and targets by their text: a feed's templates are parsed once per isolate, not per run. */
const PARSE_MEMO_MAX = 4096;
const parsedTemplates = new Map<string, TemplatePart[]>();
const parsedTargets = new Map<string, TargetToken[]>();

function memoized<T>(cache: Map<string, T>, text: string, parse: (text: string) => T): T {
  let parsed = cache.get(text);
  if (parsed === undefined) {
    // A template that does not parse throws here every time; only parsed ones are kept.
    parsed = parse(text);
    if (cache.size >= PARSE_MEMO_MAX) cache.clear();
    cache.set(text, parsed);
  }
  return parsed;
}

/** `parseTemplate`, memoised (the parts are only read). */
function templateOf(template: string): TemplatePart[] {
  return memoized(parsedTemplates, template, parseTemplate);
}

/** `parseTargetTemplate`, memoised (the tokens are only read). */
function targetOf(target: string): TargetToken[] {
  return memoized(parsedTargets, target, parseTargetTemplate);
}

/** What `/response` holds in response mapping and redirect URLs. */
export interface ResponseContext {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Parsed JSON when the upstream sent JSON; absent otherwise. */
  body?: unknown;
  /** Raw text, first 64 KiB. */
  text?: string;
}

/** The values templates read: `/input`, `/meta` and (after the upstream answered) `/response`. */
export interface RenderContext {
  input: unknown;
  meta: Record<string, unknown>;
  response?: ResponseContext;
}

/** Something a render noticed that a dry run shows (a row whose source was missing). */
export interface RenderWarning {
  code: 'missing-source';
  pointer: string;
  row: string;
  effect: 'omitted' | 'empty' | 'null';
}

/** One part of a multipart body: text, or the input's file descriptor for an `as: "file"` row. */
export type MultipartField = { name: string; value: string } | { name: string; file: unknown };

/** The rendered body of the upstream request. */
export type RenderedBody =
  | { format: 'json'; contentType: 'application/json'; text: string; value: unknown }
  | { format: 'form'; contentType: 'application/x-www-form-urlencoded'; text: string; fields: [string, string][] }
  | { format: 'multipart'; fields: MultipartField[] }
  | { format: 'raw'; contentType: string; text: string };

/** The upstream request a feed run would send, before the connection's base URL and credentials are added. */
export interface UpstreamRequestPlan {
  method: FeedMethod;
  /** Rendered path (segment-encoded; passed the relay path guards): empty or starting with `/`. */
  path: string;
  /** Rendered query including its `?`, or empty. */
  query: string;
  /** `path` + `query`, to append to the connection's base URL. */
  target: string;
  headers: [string, string][];
  body: RenderedBody | null;
  warnings: RenderWarning[];
}

type Doc = Record<string, unknown>;

function documentOf(context: RenderContext): Doc {
  const doc: Doc = Object.create(null);
  doc.input = context.input;
  doc.meta = context.meta;
  if (context.response !== undefined) doc.response = context.response;
  return doc;
}

/** The text form of a value: strings as they are, arrays joined with ", ", objects as JSON, null as "". */
export function stringifyValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.map((item) => (item !== null && typeof item === 'object' ? JSON.stringify(item) : stringifyValue(item))).join(', ');
  return JSON.stringify(value);
}

function missingField(pointer: string, row: string | undefined): AppError {
  return new AppError('missing-field', {
    detail: `No value was found at ${pointer}${row ? ` (mapped by ${row})` : ''}.`,
    extensions: { pointer, ...(row ? { row } : {}) },
  });
}

function invalidField(pointer: string, row: string | undefined, expected: string): AppError {
  return new AppError('invalid-field', {
    detail: `The value at ${pointer}${row ? ` (mapped by ${row})` : ''} is not ${expected}.`,
    extensions: { pointer, ...(row ? { row } : {}) },
  });
}

/** A rendered template value, or the pointer that was missing. */
type Rendered = { missing: false; value: unknown } | { missing: true; pointer: string };

/**
 * Renders parsed template parts. One placeholder and nothing else keeps the value's type (the
 * whole-value rule); otherwise each value is stringified, passed through `encode`, and
 * concatenated with the literal text. `empty` renders a missing placeholder as "".
 */
function renderParts(parts: readonly TemplatePart[], doc: Doc, encode: (text: string) => string, empty: boolean, wholeValue = true): Rendered {
  const only = wholeValue && parts.length === 1 ? parts[0] : undefined;
  if (only?.kind === 'placeholder') {
    const found = resolvePointer(doc, only.tokens);
    if (found.found) return { missing: false, value: found.value };
    return empty ? { missing: false, value: '' } : { missing: true, pointer: only.pointer };
  }
  let out = '';
  for (const part of parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    const found = resolvePointer(doc, part.tokens);
    if (!found.found) {
      if (empty) continue;
      return { missing: true, pointer: part.pointer };
    }
    out += encode(stringifyValue(found.value));
  }
  return { missing: false, value: out };
}

const identity = (text: string) => text;

/** Renders parts with missing placeholders as "" (the `empty` rule). */
function renderFilled(parts: readonly TemplatePart[], doc: Doc): unknown {
  const rendered = renderParts(parts, doc, identity, true);
  return rendered.missing ? '' : rendered.value;
}

/**
 * Renders one template string against a context (the whole-value rule applies). Missing values
 * follow `ifMissing`: `omit` gives `undefined`, `empty` "", `null` null, `error` a 400
 * `missing-field` naming the pointer.
 */
export function renderTemplate(template: string, context: RenderContext, ifMissing: IfMissing = 'error'): unknown {
  const rendered = renderParts(templateOf(template), documentOf(context), identity, false);
  if (!rendered.missing) return rendered.value;
  const outcome = onMissing(ifMissing, rendered.pointer, undefined);
  return outcome.omit ? undefined : outcome.value;
}

function onMissing(ifMissing: IfMissing, pointer: string, row: string | undefined): { omit: true } | { omit: false; value: unknown } {
  switch (ifMissing) {
    case 'omit':
      return { omit: true };
    case 'empty':
      return { omit: false, value: '' };
    case 'null':
      return { omit: false, value: null };
    case 'error':
      throw missingField(pointer, row);
  }
}

// JSON number grammar (RFC 8259 §6): no leading "+", no leading zeros, no bare ".5", no hex.
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const TRUE_WORDS = new Set(['true', '1', 'on', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'off', 'no', '']);

/**
 * Applies a row's `as` to a value: `auto` keeps it; `string` stringifies; `number` and `integer`
 * parse strictly (JSON number grammar); `boolean` takes true/1/on/yes and false/0/off/no/"";
 * `json` parses a string as JSON. Arrays are coerced element by element (except `string` and
 * `json`). A failure is a 400 `invalid-field` naming `pointer`.
 */
export function coerceValue(value: unknown, as: Coercion, pointer: string, row?: string): unknown {
  switch (as) {
    case 'auto':
    case 'file':
      return value;
    case 'string':
      return stringifyValue(value);
    case 'json':
      if (typeof value !== 'string') return value;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        throw invalidField(pointer, row, 'valid JSON');
      }
    case 'number':
    case 'integer':
    case 'boolean':
      return Array.isArray(value) ? value.map((item) => coerceScalar(item, as, pointer, row)) : coerceScalar(value, as, pointer, row);
  }
}

function coerceScalar(value: unknown, as: 'number' | 'integer' | 'boolean', pointer: string, row: string | undefined): unknown {
  if (as === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 0 || value === 1) return value === 1;
    if (typeof value === 'string') {
      const word = value.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
    }
    throw invalidField(pointer, row, 'true/false (true, 1, on, yes / false, 0, off, no or empty)');
  }
  let number: number;
  if (typeof value === 'number') number = value;
  else if (typeof value === 'string' && JSON_NUMBER.test(value)) number = Number(value);
  else throw invalidField(pointer, row, as === 'integer' ? 'a whole number' : 'a number');
  if (!Number.isFinite(number)) throw invalidField(pointer, row, 'a finite number');
  if (as === 'integer' && !Number.isSafeInteger(number)) throw invalidField(pointer, row, 'a whole number');
  return number;
}

/** A mapping row rendered: skipped (`omit`), or its value. */
type RowResult = { omit: true } | { omit: false; value: unknown };

/** Renders a body or data row's value or source, then applies `ifMissing` and `as`. */
function renderRow(row: MappingRow, rowAt: string, doc: Doc, warnings: RenderWarning[]): RowResult {
  const parts = row.source !== undefined ? undefined : templateOf(row.value ?? '');
  let rendered: Rendered;
  if (parts === undefined) {
    const found = resolvePointer(doc, row.source!);
    rendered = found.found ? { missing: false, value: found.value } : { missing: true, pointer: row.source! };
  } else {
    rendered = renderParts(parts, doc, identity, false);
  }
  // The pointer an `invalid-field` names: the source, or the template's single placeholder.
  const single = parts?.length === 1 && parts[0]!.kind === 'placeholder' ? parts[0]!.pointer : undefined;
  const pointer = row.source ?? single ?? `${rowAt}/value`;
  if (!rendered.missing) return { omit: false, value: coerceValue(rendered.value, row.as, pointer, rowAt) };
  const outcome = onMissing(row.ifMissing, rendered.pointer, rowAt);
  warnings.push({ code: 'missing-source', pointer: rendered.pointer, row: rowAt, effect: outcome.omit ? 'omitted' : row.ifMissing === 'null' ? 'null' : 'empty' });
  if (outcome.omit || outcome.value === null) return outcome;
  // `empty`: the missing placeholders render as "", the rest of the template as usual.
  const filled = parts === undefined ? '' : renderFilled(parts, doc);
  return { omit: false, value: coerceValue(filled, row.as, pointer, rowAt) };
}

/** Renders a target template into reference tokens; `undefined` when one of its placeholders is missing. */
function renderTarget(tokens: readonly TargetToken[], doc: Doc): string[] | { missing: string } {
  const out: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'literal') {
      out.push(token.token);
      continue;
    }
    let text = '';
    for (const part of token.parts) {
      if (part.kind === 'text') {
        text += part.text;
        continue;
      }
      const found = resolvePointer(doc, part.tokens);
      if (!found.found) return { missing: part.pointer };
      text += stringifyValue(found.value);
    }
    out.push(text);
  }
  return out;
}

/**
 * Writes mapping rows into one value (JSON bodies and response data), in row order. An empty
 * row list gives an empty object.
 */
export function renderMapping(rows: readonly MappingRow[], context: RenderContext, at: string, warnings: RenderWarning[] = []): unknown {
  const doc = documentOf(context);
  const writer = new PointerWriter();
  rows.forEach((row, i) => {
    const rowAt = `${at}/${i}`;
    const result = renderRow(row, rowAt, doc, warnings);
    if (result.omit) return;
    const tokens = renderTarget(targetOf(row.target), doc);
    if (!Array.isArray(tokens)) {
      const outcome = onMissing(row.ifMissing, tokens.missing, rowAt);
      warnings.push({ code: 'missing-source', pointer: tokens.missing, row: rowAt, effect: 'omitted' });
      if (outcome.omit) return;
      throw missingField(tokens.missing, rowAt);
    }
    writer.write(tokens, result.value, `${rowAt}/target`);
  });
  return writer.value === undefined ? Object.create(null) : writer.value;
}

/** Flattens a value into name/value pairs for a query or form body, arrays per `format`. */
export function encodePairs(name: string, value: unknown, format: QueryArrayFormat): [string, string][] {
  if (!Array.isArray(value)) return [[name, stringifyValue(value)]];
  const items = value.map((item) => (item !== null && typeof item === 'object' ? JSON.stringify(item) : stringifyValue(item)));
  switch (format) {
    case 'repeat':
      return items.map((item) => [name, item]);
    case 'brackets':
      return items.map((item) => [`${name}[]`, item]);
    case 'indices':
      return items.map((item, i) => [`${name}[${i}]`, item]);
    case 'comma':
      return [[name, items.join(',')]];
  }
}

/**
 * `encodeURIComponent` of any string: a lone surrogate (which it refuses with a `URIError`, and a
 * JSON body can carry as `"\ud800"`) becomes U+FFFD first, as URLSearchParams does.
 */
export function encodeComponent(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return encodeURIComponent(value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
  }
}

/** Renders a path template: each placeholder percent-encoded as one segment, then the relay path guards. */
export function renderPath(template: string, context: RenderContext): string {
  const rendered = renderParts(templateOf(template), documentOf(context), encodeComponent, false, false);
  if (rendered.missing) throw missingField(rendered.pointer, '/request/path');
  const path = rendered.value as string;
  if (path !== '' && !path.startsWith('/')) throw new AppError('unsafe-path', { detail: 'The rendered path must start with a slash.' });
  assertSafeTail(path, '');
  return path;
}

/** Renders query rows into a query string (`?a=1&b=2`, or empty), arrays per `format`. */
export function renderQuery(rows: FeedOutput['request']['query'], context: RenderContext, format: QueryArrayFormat, warnings: RenderWarning[] = []): string {
  const doc = documentOf(context);
  const params = new URLSearchParams();
  rows.forEach((row, i) => {
    const rowAt = `/request/query/${i}`;
    const value = renderNamed(row, rowAt, doc, warnings);
    if (value.omit) return;
    for (const [name, item] of encodePairs(row.name, value.value, format)) params.append(name, item);
  });
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function renderNamed(row: { value: string; ifMissing: IfMissing }, rowAt: string, doc: Doc, warnings: RenderWarning[]): RowResult {
  const parts = templateOf(row.value);
  const rendered = renderParts(parts, doc, identity, false);
  if (!rendered.missing) return { omit: false, value: rendered.value };
  const outcome = onMissing(row.ifMissing, rendered.pointer, rowAt);
  warnings.push({ code: 'missing-source', pointer: rendered.pointer, row: rowAt, effect: outcome.omit ? 'omitted' : row.ifMissing === 'null' ? 'null' : 'empty' });
  if (outcome.omit || row.ifMissing === 'null') return outcome;
  return { omit: false, value: stringifyValue(renderFilled(parts, doc)) };
}

// CR, LF and NUL end or break a header line; the runtime refuses them, and a feed refuses first.
const UNSAFE_HEADER_VALUE = /[\r\n\0]/;

/** Renders header rows: names literal (never templated), values stringified and trimmed; CR/LF/NUL → 400 `unsafe-header-value`. */
export function renderHeaders(rows: FeedOutput['request']['headers'], context: RenderContext, warnings: RenderWarning[] = []): [string, string][] {
  const doc = documentOf(context);
  const headers: [string, string][] = [];
  rows.forEach((row, i) => {
    const rowAt = `/request/headers/${i}`;
    if (isForbiddenFeedHeader(row.name)) {
      throw new AppError('header-not-allowed', { detail: `A feed cannot set the header ${row.name}.`, extensions: { pointer: `${rowAt}/name` } });
    }
    const value = renderNamed(row, rowAt, doc, warnings);
    if (value.omit) return;
    const text = stringifyValue(value.value);
    if (UNSAFE_HEADER_VALUE.test(text)) {
      throw new AppError('unsafe-header-value', {
        detail: `The value of the header ${row.name} would hold a line break or NUL character.`,
        extensions: { pointer: `${rowAt}/value` },
      });
    }
    headers.push([row.name, text.trim()]);
  });
  return headers;
}

/** True for `application/json` and `*+json` media types (parameters ignored). */
export function isJsonMediaType(contentType: string): boolean {
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(type);
}

/** JSON string escaping without the surrounding quotes (`a"b` → `a\"b`). */
function jsonEscape(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** Renders a raw body template: values JSON-escaped for JSON media types, inserted verbatim otherwise. */
export function renderRaw(raw: NonNullable<FeedOutput['request']['body']['raw']>, context: RenderContext): string {
  const encode = isJsonMediaType(raw.contentType) ? jsonEscape : identity;
  const parts = templateOf(raw.template);
  const doc = documentOf(context);
  // No whole-value rule in a raw body: it is text.
  const rendered = renderParts(parts, doc, encode, raw.ifMissing === 'empty', false);
  if (rendered.missing) throw missingField(rendered.pointer, '/request/body/raw/template');
  return rendered.value as string;
}

/** Renders the body of a feed's request. */
export function renderBody(body: FeedOutput['request']['body'], context: RenderContext, warnings: RenderWarning[] = []): RenderedBody | null {
  const at = '/request/body/fields';
  switch (body.format) {
    case 'none':
      return null;
    case 'raw':
      if (body.raw === null) throw new AppError('bad-request', { detail: 'The raw body has no template.' });
      return { format: 'raw', contentType: body.raw.contentType, text: renderRaw(body.raw, context) };
    case 'json': {
      const value = renderMapping(body.fields, context, at, warnings);
      return { format: 'json', contentType: 'application/json', text: JSON.stringify(value), value };
    }
    case 'form':
    case 'multipart': {
      const doc = documentOf(context);
      const pairs: MultipartField[] = [];
      const seen = new Set<string>();
      body.fields.forEach((row, i) => {
        const rowAt = `${at}/${i}`;
        const result = renderRow(row, rowAt, doc, warnings);
        if (result.omit) return;
        const tokens = renderTarget(targetOf(row.target), doc);
        if (!Array.isArray(tokens)) {
          warnings.push({ code: 'missing-source', pointer: tokens.missing, row: rowAt, effect: 'omitted' });
          if (row.ifMissing === 'omit') return;
          throw missingField(tokens.missing, rowAt);
        }
        if (tokens.length !== 1) throw new AppError('mapping-conflict', { detail: `The target ${rowAt}/target must be one field name.`, extensions: { pointer: `${rowAt}/target` } });
        const name = tokens[0]!;
        if (seen.has(name)) throw new AppError('mapping-conflict', { detail: `The field ${name} is written twice.`, extensions: { pointer: `${rowAt}/target` } });
        seen.add(name);
        if (row.as === 'file' && body.format === 'multipart') {
          pairs.push({ name, file: result.value });
          return;
        }
        const flatFormat = body.format === 'multipart' ? 'repeat' : body.queryArrayFormat;
        for (const [key, item] of encodePairs(name, result.value, flatFormat)) pairs.push({ name: key, value: item });
      });
      if (body.format === 'multipart') return { format: 'multipart', fields: pairs };
      const fields = pairs.map((pair) => [pair.name, 'value' in pair ? pair.value : ''] as [string, string]);
      return { format: 'form', contentType: 'application/x-www-form-urlencoded', text: new URLSearchParams(fields).toString(), fields };
    }
  }
}

/**
 * Builds the upstream request of a feed run from a context: the same builder for a real trigger
 * and a dry run (FEEDS.md §3.7). Nothing is sent; errors are the run's 400s.
 */
export function buildUpstreamRequest(feed: FeedOutput, context: RenderContext): UpstreamRequestPlan {
  const { request } = feed;
  const warnings: RenderWarning[] = [];
  const path = renderPath(request.path, context);
  const query = renderQuery(request.query, context, request.body.queryArrayFormat, warnings);
  assertSafeTail(path, query);
  const headers = renderHeaders(request.headers, context, warnings);
  if (request.forwardIdempotencyKey && typeof context.meta.runId === 'string') headers.push(['Idempotency-Key', context.meta.runId]);
  if (BODYLESS_METHODS.includes(request.method) && (request.body.format !== 'none' || request.body.fields.length > 0)) {
    throw new AppError('body-not-allowed', { detail: `${request.method} requests carry no body.` });
  }
  const body = renderBody(request.body, context, warnings);
  return { method: request.method, path, query, target: path + query, headers, body, warnings };
}

/**
 * The upstream URL of a plan: the connection's base URL + path + query by concatenation, through
 * the relay's URL builder (path guards, origin and prefix kept), as for a relayed request (§3.4).
 */
export function upstreamUrlOf(plan: Pick<UpstreamRequestPlan, 'path' | 'query'>, baseUrl: string | UpstreamBase): URL {
  return buildUpstreamUrl(baseUrl, plan.path, plan.query);
}

/** Maps the upstream answer into the JSON caller's `data` (`response.json.data`). */
export function renderResponseData(feed: FeedOutput, context: RenderContext, warnings: RenderWarning[] = []): unknown {
  return renderMapping(feed.response.json.data, context, '/response/json/data', warnings);
}

function unsafeRedirect(detail: string): AppError {
  return new AppError('unsafe-redirect', { detail });
}

/**
 * Renders a redirect URL: scheme and authority literal; placeholders in the path are encoded as
 * one segment (and may not form a dot segment), in the query and fragment as a URI component.
 * A missing value renders as "". The result keeps the literal origin.
 */
export function renderRedirectUrl(template: string, context: RenderContext): string {
  const parts = templateOf(template);
  const head = redirectHead(parts);
  if (head === null) throw unsafeRedirect('The redirect URL has a placeholder in its scheme or host.');
  const doc = documentOf(context);
  let out = '';
  let consumed = 0;
  let where: 'path' | 'query' | 'fragment' = 'path';
  // Path segments holding placeholder output, to refuse dot segments built from values.
  const touched = new Set<number>();
  for (const part of parts) {
    if (part.kind === 'text') {
      let textPart = part.text;
      if (consumed < head.length) {
        const take = Math.min(head.length - consumed, textPart.length);
        out += textPart.slice(0, take);
        consumed += take;
        textPart = textPart.slice(take);
      }
      for (const ch of textPart) {
        if (where === 'path' && ch === '?') where = 'query';
        else if (where !== 'fragment' && ch === '#') where = 'fragment';
        out += ch;
      }
      continue;
    }
    const found = resolvePointer(doc, part.tokens);
    const value = found.found ? stringifyValue(found.value) : '';
    if (where === 'path') touched.add(out.slice(head.length).split('/').length - 1);
    out += encodeComponent(value);
  }
  const pathEnd = out.slice(head.length).search(/[?#]/);
  const path = pathEnd === -1 ? out.slice(head.length) : out.slice(head.length, head.length + pathEnd);
  path.split('/').forEach((segment, index) => {
    if (touched.has(index) && /^(?:\.|%2e){1,2}$/i.test(segment)) throw unsafeRedirect('A value in the redirect path would form a dot segment.');
  });
  let url: URL;
  try {
    url = new URL(out);
  } catch {
    throw unsafeRedirect('The rendered redirect URL is not a valid URL.');
  }
  if (url.origin !== new URL(head).origin || url.username !== '' || url.password !== '') throw unsafeRedirect('The rendered redirect URL would leave its origin.');
  return url.href;
}
