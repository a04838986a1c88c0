/**
 * A trigger's submission: reading the body of `POST /hook/<publicKey>` (or a dry run's raw body)
 * into the normalized `/input` (FEEDS.md §3.3 "Content types", "Limits", reserved names), and the
 * feed's declared-schema validation (§3.3 step 8, §3.11 rows 6–16, 19, 20).
 *
 * The parser is chosen by the `Content-Type` media type only, and the body is counted while it
 * streams (a declared `Content-Length` over the cap is refused unread), so nothing unbounded is
 * ever buffered. Every object this module builds has a null prototype; a JSON body can never make
 * a file descriptor.
 */
import type { FeedContentType, FeedOutput } from '../../contract/feed';
import { escapeToken, formatPointer, isArrayIndex, isForbiddenToken } from '../../contract/pointer';
import { AppError } from '../errors';
import { perFeed } from './per-feed';

// ---- The submission

/** What `/input/<name>` holds for a multipart file part; the bytes are in `Submission.files`. */
export interface FileDescriptor {
  filename: string;
  type: string;
  size: number;
}

export interface Submission {
  /**
   * The normalized /input: a null-prototype object. Text fields are strings, repeated names or
   * names ending [] are string arrays (the [] stays in the key), multipart files are descriptors
   * {filename, type, size}. With `expandBrackets`, `a[b][0]=x` nests (`{a: {b: ['x']}}`).
   */
  input: Record<string, unknown>;
  /**
   * Multipart file bytes by field name (only for parts that are files); the trigger
   * streams/forwards them for `as: "file"` rows. The key is the descriptor's place below
   * `/input`: the field name (`cv`) for a name sent once, `cv/0`, `cv/1`, … for a name sent
   * several times or ending `[]` (`docs[]/0`); `~` and `/` in a name are escaped as in a JSON
   * Pointer, so `/input/<key>` always points at the descriptor.
   */
  files: Map<string, File>;
  contentType: FeedContentType;
  /** Bytes of the body read. */
  bodyBytes: number;
  /** Field names as received, each once, in order (names only, for the run log). */
  fieldNames: string[];
  /** Reserved fields taken out of /input: cf-turnstile-response, the honeypot field, _idempotency_key. */
  reserved: { turnstileToken?: string; honeypot?: string; idempotencyKey?: string };
  /** JSON duplicate keys seen (last wins), as pointers (`/input/email`, `/input/address/zip`), for dry-run warnings. */
  duplicateKeys: string[];
  /** Names of top-level fields kept in /input that the declared schema does not list (none when it lists no fields). */
  unknownFields: string[];
}

/** The form field or JSON property holding the Turnstile token (§3.3 browser mode). */
export const TURNSTILE_FIELD = 'cf-turnstile-response';
/** The form field or JSON property an explicit idempotency key may come in (§3.5). */
export const IDEMPOTENCY_FIELD = '_idempotency_key';
/** Deepest `a[b][c]…` nesting with `expandBrackets` (brackets after the name). */
export const MAX_BRACKET_DEPTH = 5;
/** Most elements of an array built by `expandBrackets` (indices 0–99). */
export const MAX_BRACKET_ARRAY_LENGTH = 100;

/** The media type of each content type a feed can accept. */
export const FEED_MEDIA_TYPES: Record<FeedContentType, string> = {
  form: 'application/x-www-form-urlencoded',
  multipart: 'multipart/form-data',
  json: 'application/json',
};

/**
 * Parses a trigger request's body per FEEDS.md §3.3: media type from Content-Type only, charset
 * absent or utf-8, the feed's contentTypes and limits, checked while streaming (Content-Length
 * used early). Throws AppErrors (415 with Accept-Post restricted to trigger.contentTypes, 413, 400).
 */
export async function parseSubmission(request: Request, feed: FeedOutput): Promise<Submission> {
  const header = request.headers.get('Content-Type');
  const kind = contentTypeOf(header, feed);
  const limit = bodyLimit(kind, feed);
  const declared = request.headers.get('Content-Length');
  const length = declared !== null && /^\d+$/.test(declared.trim()) ? Number(declared.trim()) : null;
  if (length !== null && length > limit) throw bodyTooLarge(kind, limit);
  if (length !== null && kind !== 'multipart' && request.body !== null) {
    // A declared length within the limit: the transport frames the body by it, so it is read at
    // once (counted again after, in case a body came with a length it does not have).
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await request.arrayBuffer());
    } catch (err) {
      throw new AppError('malformed-body', { detail: 'The body cannot be read.', internal: err });
    }
    if (bytes.byteLength > limit) throw bodyTooLarge(kind, limit);
    return parseBody(kind, header ?? '', bytes, { bytes: bytes.byteLength, over: false }, feed);
  }
  const counter = { bytes: 0, over: false };
  const body = request.body === null ? new Uint8Array(0) : cappedStream(request.body, limit, counter);
  return parseBody(kind, header ?? '', body, counter, feed);
}

/** Same for a dry run's `raw: {contentType, body}` (a string body). */
export async function parseRawSubmission(raw: { contentType: string; body: string }, feed: FeedOutput): Promise<Submission> {
  const kind = contentTypeOf(raw.contentType, feed);
  const bytes = new TextEncoder().encode(raw.body);
  const limit = bodyLimit(kind, feed);
  if (bytes.byteLength > limit) throw bodyTooLarge(kind, limit);
  return parseBody(kind, raw.contentType, bytes, { bytes: bytes.byteLength, over: false }, feed);
}

/** True for a descriptor this module made for a multipart file part (never for JSON data that looks like one). */
export function isFileDescriptor(value: unknown): value is FileDescriptor {
  return typeof value === 'object' && value !== null && DESCRIPTORS.has(value);
}

// ---- Content type and size

const KIND_OF_MEDIA_TYPE = new Map((Object.keys(FEED_MEDIA_TYPES) as FeedContentType[]).map((kind) => [FEED_MEDIA_TYPES[kind], kind]));

function contentTypeOf(header: string | null, feed: FeedOutput): FeedContentType {
  const accepted = feed.trigger.contentTypes;
  // The refusal's words are put together only for a refusal; `sayTypes` adds which types to send.
  const refuse = (detail: string, sayTypes = true) => {
    const mediaTypes = accepted.map((kind) => FEED_MEDIA_TYPES[kind]);
    const sendOne = `Send the body as ${mediaTypes.length === 1 ? mediaTypes[0] : `${mediaTypes.slice(0, -1).join(', ')} or ${mediaTypes.at(-1)}`}.`;
    return new AppError('unsupported-content-type', { detail: sayTypes ? `${detail} ${sendOne}` : detail, headers: { 'Accept-Post': mediaTypes.join(', ') } });
  };
  if (header === null || header.trim() === '') throw refuse('The request has no Content-Type.');
  const [essence = '', ...params] = header.split(';');
  const media = essence.trim().toLowerCase();
  const kind = KIND_OF_MEDIA_TYPE.get(media);
  if (kind === undefined || !accepted.includes(kind)) throw refuse('This feed does not accept this content type.');
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8') throw refuse('Send the body as UTF-8 (charset=utf-8, or no charset).', false);
  }
  return kind;
}

function bodyLimit(kind: FeedContentType, feed: FeedOutput): number {
  return kind === 'multipart' ? feed.trigger.limits.maxMultipartBytes : feed.trigger.limits.maxBodyBytes;
}

function bodyTooLarge(kind: FeedContentType, limit: number): AppError {
  const what = kind === 'multipart' ? 'Multipart bodies' : 'Bodies';
  return new AppError('body-too-large', { detail: `${what} sent to this feed are limited to ${formatBytes(limit)}: send a smaller one.` });
}

function formatBytes(bytes: number): string {
  if (bytes >= 1_048_576 && bytes % 1_048_576 === 0) return `${bytes / 1_048_576} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

interface Counter {
  bytes: number;
  over: boolean;
}

/**
 * The body as a stream that fails once more than `limit` bytes came. The rest is read and thrown
 * away first, so that the 413 does not leave while the caller still sends (see
 * `discardUnreadBody` in `worker/http.ts` for why cancelling is not enough).
 */
function cappedStream(body: ReadableStream<Uint8Array>, limit: number, counter: Counter): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      counter.bytes += value.byteLength;
      if (counter.bytes > limit) {
        counter.over = true;
        try {
          while (!(await reader.read()).done) {
            // Discarded.
          }
        } catch {
          // The caller went away.
        }
        controller.error(new RangeError('body over its limit'));
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

// ---- Parsing

type Entry = readonly [name: string, value: string | File];

const DESCRIPTORS = new WeakSet<object>();

/** UTF-8 that fails on malformed bytes (holds no state between calls without `stream`). */
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

async function parseBody(kind: FeedContentType, header: string, body: ReadableStream<Uint8Array> | Uint8Array, counter: Counter, feed: FeedOutput): Promise<Submission> {
  const limit = bodyLimit(kind, feed);
  const tooLargeOr = (other: () => AppError): AppError => (counter.over ? bodyTooLarge(kind, limit) : other());
  if (kind === 'multipart') {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'Content-Type': header } }).formData();
    } catch (err) {
      throw tooLargeOr(() => {
        const nameless = err instanceof Error && /missing a name/i.test(err.message);
        return new AppError('malformed-body', {
          detail: nameless ? 'A multipart part has no name: every part needs Content-Disposition: form-data; name="…".' : 'The multipart body cannot be read.',
          internal: err,
        });
      });
    }
    const entries: Entry[] = [];
    form.forEach((value, name) => entries.push([name, value]));
    return fromEntries(entries, 'multipart', counter.bytes, feed);
  }

  let bytes: ArrayBuffer | Uint8Array;
  try {
    bytes = body instanceof Uint8Array ? body : await new Response(body).arrayBuffer();
  } catch (err) {
    throw tooLargeOr(() => new AppError('malformed-body', { detail: 'The body cannot be read.', internal: err }));
  }
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    throw new AppError('malformed-body', { detail: 'The body is not valid UTF-8.' });
  }
  if (kind === 'form') return fromEntries([...new URLSearchParams(text)], 'form', counter.bytes, feed);
  return fromJson(text, counter.bytes, feed);
}

/** Builds a urlencoded or multipart submission from its name/value pairs. */
function fromEntries(entries: readonly Entry[], contentType: 'form' | 'multipart', bodyBytes: number, feed: FeedOutput): Submission {
  const { maxFields, maxValueBytes } = feed.trigger.limits;
  if (entries.length > maxFields) throw tooManyFields(maxFields);
  const declared = declaredFields(feed);
  const fieldNames = new Set<string>();
  const values: [string, string | FileDescriptor, File | undefined][] = [];
  for (const [name, value] of entries) {
    fieldNames.add(name);
    if (typeof value === 'string') {
      if (utf8Length(value, maxValueBytes) > maxValueBytes) throw fieldTooLong(name, maxValueBytes);
      values.push([name, value, undefined]);
      continue;
    }
    const rule = declared.get(name)?.file;
    const type = mediaEssence(value.type);
    if (rule !== undefined && value.size > rule.maxBytes) {
      throw new AppError('file-too-large', { detail: `The file in "${shortName(name)}" is over ${formatBytes(rule.maxBytes)}: send a smaller one.` });
    }
    if (rule !== undefined && rule.types.length > 0 && !rule.types.some((allowed) => typeMatches(type, allowed))) {
      throw new AppError('file-type-not-allowed', { detail: `"${shortName(name)}" accepts ${rule.types.join(', ')} files only.` });
    }
    const descriptor: FileDescriptor = Object.assign(Object.create(null) as FileDescriptor, { filename: value.name, type, size: value.size });
    DESCRIPTORS.add(descriptor);
    values.push([name, descriptor, value]);
  }

  const reserved = reservedNames(feed);
  const taken: Submission['reserved'] = {};
  const input = nullObject();
  const fileRefs = new Map<unknown, File>();
  const flat: typeof values = [];
  const nested: typeof values = [];
  for (const item of values) {
    const slot = reserved.get(item[0]);
    if (slot !== undefined) {
      // The first value counts; a file in a reserved field is no token (and no honeypot text).
      if (taken[slot] === undefined && typeof item[1] === 'string') taken[slot] = item[1];
      continue;
    }
    if (item[2] !== undefined) fileRefs.set(item[1], item[2]);
    (feed.trigger.expandBrackets && typeof item[1] === 'string' && bracketPath(item[0]) !== null ? nested : flat).push(item);
  }
  for (const [name, value] of flat) addFlat(input, name, value);
  if (nested.length > 0) expandInto(input, nested.map(([name, value]) => [name, value as string]));

  const files = new Map<string, File>();
  for (const key of Object.keys(input)) {
    const value = input[key];
    if (Array.isArray(value)) {
      value.forEach((element, i) => {
        const file = fileRefs.get(element);
        if (file !== undefined) files.set(`${escapeToken(key)}/${i}`, file);
      });
    } else {
      const file = fileRefs.get(value);
      if (file !== undefined) files.set(escapeToken(key), file);
    }
  }
  return {
    input,
    files,
    contentType,
    bodyBytes,
    fieldNames: [...fieldNames],
    reserved: taken,
    duplicateKeys: [],
    unknownFields: unknownFieldsOf(input, feed),
  };
}

/** A flat name: repeated, or ending `[]`, it holds an array (the `[]` stays in the key). */
function addFlat(input: Record<string, unknown>, name: string, value: string | FileDescriptor): void {
  if (!Object.hasOwn(input, name)) {
    input[name] = name.endsWith('[]') ? [value] : value;
    return;
  }
  const existing = input[name];
  if (Array.isArray(existing)) existing.push(value);
  else if (typeof existing === 'string' || isFileDescriptor(existing)) input[name] = [existing, value];
  else throw bracketConflict(name);
}

function fromJson(text: string, bodyBytes: number, feed: FeedOutput): Submission {
  const { maxFields, maxValueBytes, maxJsonDepth } = feed.trigger.limits;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the body: only a position goes out.
    const position = err instanceof SyntaxError ? /\bposition (\d+)/.exec(err.message)?.[1] : undefined;
    throw new AppError('malformed-body', { detail: `The body is not valid JSON${position !== undefined ? ` (at character ${position})` : ''}.` });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AppError('malformed-body', { detail: 'A JSON body is an object of fields ({"email": "…"}), not an array or a single value.' });
  }
  const keys = Object.keys(parsed);
  if (keys.length > maxFields) throw tooManyFields(maxFields);

  const reserved = reservedNames(feed);
  const taken: Submission['reserved'] = {};
  const input = nullObject();
  for (const key of keys) {
    const value = normalizeJson((parsed as Record<string, unknown>)[key], 2, key, { maxValueBytes, maxJsonDepth });
    const slot = reserved.get(key);
    if (slot !== undefined) {
      const text = reservedText(value);
      if (text !== undefined) taken[slot] = text;
      continue;
    }
    input[key] = value;
  }
  return {
    input,
    files: new Map(),
    contentType: 'json',
    bodyBytes,
    fieldNames: keys,
    reserved: taken,
    duplicateKeys: duplicateKeyPointers(text),
    unknownFields: unknownFieldsOf(input, feed),
  };
}

/** A JSON value copied with null-prototype objects, its depth (the body object is 1) and string lengths checked. */
function normalizeJson(value: unknown, depth: number, field: string, limits: { maxValueBytes: number; maxJsonDepth: number }): unknown {
  if (typeof value === 'string') {
    if (utf8Length(value, limits.maxValueBytes) > limits.maxValueBytes) throw fieldTooLong(field, limits.maxValueBytes);
    return value;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (depth > limits.maxJsonDepth) {
    throw new AppError('malformed-body', { detail: `The JSON body nests deeper than ${limits.maxJsonDepth} levels.` });
  }
  if (Array.isArray(value)) return value.map((element) => normalizeJson(element, depth + 1, field, limits));
  const out = nullObject();
  for (const key of Object.keys(value)) out[key] = normalizeJson((value as Record<string, unknown>)[key], depth + 1, field, limits);
  return out;
}

/**
 * Pointers (below `/input`) of object keys that appear twice in the same object of a valid JSON
 * text; `JSON.parse` keeps the last, and the dry run warns.
 */
function duplicateKeyPointers(text: string): string[] {
  type Frame = { kind: 'object'; keys: Set<string>; key: string; expectKey: boolean } | { kind: 'array'; index: number };
  const stack: Frame[] = [];
  const found = new Set<string>();
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top?.kind === 'object' && top.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) {
          const path = stack.slice(0, -1).map((frame) => (frame.kind === 'object' ? frame.key : frame.index));
          found.add(`/input${formatPointer([...path, key])}`);
        }
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (ch === '{') {
      stack.push({ kind: 'object', keys: new Set(), key: '', expectKey: true });
    } else if (ch === '[') {
      stack.push({ kind: 'array', index: 0 });
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      const top = stack.at(-1);
      if (top?.kind === 'object') top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return [...found];
}

// ---- Brackets (expandBrackets)

/** `a[b][0]` → `['a', 'b', '0']`; `null` for a name that is not a base followed by bracket groups. */
function bracketPath(name: string): string[] | null {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(name);
  if (!match) return null;
  const segments = [...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!);
  return [match[1]!, ...segments];
}

type BracketNode =
  | { kind: 'object'; children: Map<string, BracketNode> }
  | { kind: 'array'; items: Map<number, BracketNode> }
  | { kind: 'leaf'; values: string[] };

/**
 * qs-style nesting: `a[b]=x` makes an object, `a[0]=x` and `a[]=x` an array (indices in order,
 * `[]` appends), a name repeated at the same place an array of strings. Refused (400
 * `malformed-body`): more than five bracket groups, an index over 99 or an array over 100
 * elements, `__proto__` / `constructor` / `prototype`, and one name used as two kinds of value.
 */
function expandInto(input: Record<string, unknown>, entries: readonly (readonly [string, string])[]): void {
  const root: BracketNode = { kind: 'object', children: new Map() };
  for (const [name, value] of entries) {
    const path = bracketPath(name)!;
    if (path.length - 1 > MAX_BRACKET_DEPTH) {
      throw new AppError('malformed-body', { detail: `"${shortName(name)}" nests deeper than ${MAX_BRACKET_DEPTH} brackets.` });
    }
    if (path.some(isForbiddenToken)) {
      throw new AppError('malformed-body', { detail: `Field names may not use __proto__, constructor or prototype ("${shortName(name)}").` });
    }
    if (Object.hasOwn(input, path[0]!)) throw bracketConflict(name);
    let node: BracketNode = root;
    for (let k = 0; k < path.length; k++) {
      const segment = path[k]!;
      const last = k === path.length - 1;
      const nextKind = last ? 'leaf' : path[k + 1] === '' || isArrayIndex(path[k + 1]!) ? 'array' : 'object';
      const fresh = (): BracketNode =>
        nextKind === 'leaf' ? { kind: 'leaf', values: [] } : nextKind === 'array' ? { kind: 'array', items: new Map() } : { kind: 'object', children: new Map() };
      let child: BracketNode;
      if (node.kind === 'object') {
        child = node.children.get(segment) ?? fresh();
        node.children.set(segment, child);
      } else if (node.kind === 'array') {
        let index: number;
        if (segment === '') index = node.items.size === 0 ? 0 : Math.max(...node.items.keys()) + 1;
        else if (isArrayIndex(segment)) index = Number(segment);
        else throw bracketConflict(name);
        const existing: BracketNode | undefined = node.items.get(index);
        if (existing === undefined && (index >= MAX_BRACKET_ARRAY_LENGTH || node.items.size >= MAX_BRACKET_ARRAY_LENGTH)) {
          throw new AppError('malformed-body', { detail: `"${shortName(name)}" makes an array of more than ${MAX_BRACKET_ARRAY_LENGTH} elements (indices 0 to ${MAX_BRACKET_ARRAY_LENGTH - 1}).` });
        }
        child = existing ?? fresh();
        node.items.set(index, child);
      } else {
        throw bracketConflict(name);
      }
      if (child.kind !== nextKind) throw bracketConflict(name);
      node = child;
    }
    (node as Extract<BracketNode, { kind: 'leaf' }>).values.push(value);
  }
  for (const [key, child] of root.children) input[key] = materialize(child);
}

function materialize(node: BracketNode): unknown {
  if (node.kind === 'leaf') return node.values.length === 1 ? node.values[0] : node.values;
  if (node.kind === 'array') return [...node.items.entries()].sort((a, b) => a[0] - b[0]).map(([, child]) => materialize(child));
  const out = nullObject();
  for (const [key, child] of node.children) out[key] = materialize(child);
  return out;
}

function bracketConflict(name: string): AppError {
  return new AppError('malformed-body', { detail: `"${shortName(name)}" gives a field two kinds of value (a text and a group, or a list and a group).` });
}

// ---- Reserved names, unknown fields

type ReservedSlot = keyof Submission['reserved'];

/** The reserved field names of a feed (worked out once per feed object). */
const reservedNames = perFeed((feed): Map<string, ReservedSlot> => {
  const names = new Map<string, ReservedSlot>([
    [TURNSTILE_FIELD, 'turnstileToken'],
    [IDEMPOTENCY_FIELD, 'idempotencyKey'],
  ]);
  const honeypot = feed.trigger.browser.honeypotField;
  if (honeypot) names.set(honeypot, 'honeypot');
  return names;
});

/** The declared input fields of a feed by name (worked out once per feed object). */
const declaredFields = perFeed((feed): Map<string, FeedOutput['input']['fields'][number]> => new Map(feed.input.fields.map((field) => [field.name, field])));

/** A JSON reserved property as text: a string as it is, a number or boolean spelled out, other values as JSON. */
function reservedText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function unknownFieldsOf(input: Record<string, unknown>, feed: FeedOutput): string[] {
  const fields = feed.input.fields;
  if (fields.length === 0) return [];
  const declared = new Set(fields.map((field) => field.name));
  return Object.keys(input).filter((key) => !declared.has(key));
}

// ---- Validation

const EMAIL_PATTERN = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const NUMBER_PATTERN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER_PATTERN = /^[+-]?\d+$/;

/**
 * Declared-schema validation (§3.3 step 8, rows 19, 20): required/empty, email/number/integer/url
 * format, maxLength, multiple, file rules, unknownFields reject. Throws 400 `invalid-submission`
 * with `errors` keyed by JSON Pointer ({"/input/email": ["required"]}).
 *
 * The codes in a field's list: `required` (missing, empty or blank), `email`, `number`,
 * `integer`, `url` (the format), `max-length` (more characters than `maxLength`), `single` (sent
 * several times to a field that is not `multiple`), `file` (text where a file is declared),
 * `text` (a file where none is declared), `unknown` (not declared, with `unknownFields: reject`).
 * @see https://html.spec.whatwg.org/multipage/input.html#valid-e-mail-address
 */
export function validateSubmission(submission: Submission, feed: FeedOutput): void {
  const errors: Record<string, string[]> = nullObject() as Record<string, string[]>;
  const add = (name: string, code: string) => {
    const pointer = `/input${formatPointer([name])}`;
    const list = (errors[pointer] ??= []);
    if (!list.includes(code)) list.push(code);
  };
  const { input } = submission;
  for (const field of feed.input.fields) {
    const value = Object.hasOwn(input, field.name) ? input[field.name] : undefined;
    const items: unknown[] = Array.isArray(value) ? value : [value];
    const present = items.filter((item) => !isEmpty(item));
    if (present.length === 0) {
      if (field.required) add(field.name, 'required');
      continue;
    }
    if (Array.isArray(value) && items.length > 1 && !field.multiple) add(field.name, 'single');
    for (const item of present) {
      if (field.file !== undefined) {
        if (!isFileDescriptor(item)) add(field.name, 'file');
        continue;
      }
      if (isFileDescriptor(item)) {
        add(field.name, 'text');
        continue;
      }
      if (field.format !== undefined && !formatMatches(field.format, item)) add(field.name, field.format);
      if (field.maxLength !== undefined && typeof item === 'string' && codePoints(item) > field.maxLength) add(field.name, 'max-length');
    }
  }
  if (feed.input.unknownFields === 'reject') {
    for (const name of unknownFieldsOf(input, feed)) add(name, 'unknown');
  }
  const count = Object.keys(errors).length;
  if (count === 0) return;
  throw new AppError('invalid-submission', {
    detail: `${count} field${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} attention.`,
    extensions: { errors },
  });
}

/** The list of pointers (e.g. "/input/phone") of fields marked sensitive, for log masking. */
export function sensitiveFields(feed: FeedOutput): string[] {
  return feed.input.fields.filter((field) => field.sensitive).map((field) => `/input${formatPointer([field.name])}`);
}

function isEmpty(item: unknown): boolean {
  if (item === undefined || item === null) return true;
  if (typeof item === 'string') return item.trim() === '';
  if (isFileDescriptor(item)) return item.size === 0 && item.filename === '';
  return false;
}

function formatMatches(format: NonNullable<FeedOutput['input']['fields'][number]['format']>, item: unknown): boolean {
  switch (format) {
    case 'email':
      return typeof item === 'string' && EMAIL_PATTERN.test(item);
    case 'number':
      return typeof item === 'number' ? Number.isFinite(item) : typeof item === 'string' && NUMBER_PATTERN.test(item) && Number.isFinite(Number(item));
    case 'integer':
      return typeof item === 'number' ? Number.isSafeInteger(item) : typeof item === 'string' && INTEGER_PATTERN.test(item);
    case 'url': {
      if (typeof item !== 'string') return false;
      try {
        const url = new URL(item);
        return url.protocol === 'https:' || url.protocol === 'http:';
      } catch {
        return false;
      }
    }
  }
}

// ---- Small helpers

function nullObject(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

function tooManyFields(maxFields: number): AppError {
  return new AppError('too-many-fields', { detail: `Send at most ${maxFields} fields.` });
}

function fieldTooLong(name: string, maxValueBytes: number): AppError {
  return new AppError('field-too-long', { detail: `The value of "${shortName(name)}" is over ${formatBytes(maxValueBytes)}.` });
}

/** A field name for a detail text, cut to a readable length. */
function shortName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}

/** UTF-8 length of `s`, counted exactly only when it could pass `max`. */
function utf8Length(s: string, max: number): number {
  if (s.length * 3 <= max) return s.length;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function mediaEssence(type: string): string {
  return (type.split(';')[0] ?? '').trim().toLowerCase();
}

/** `application/pdf` against an allowed `application/pdf` or `image/*` (the declared type, never sniffed). */
function typeMatches(type: string, allowed: string): boolean {
  const want = mediaEssence(allowed);
  if (want === '*/*') return true;
  if (want.endsWith('/*')) return type.startsWith(want.slice(0, -1));
  return type === want;
}
