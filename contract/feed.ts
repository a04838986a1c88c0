/**
 * The feed contract: the valibot schema of a feed as the admin API takes it, its View (secrets
 * write-only), the labels the dashboard shows, and the save-time checks that need no storage.
 *
 * Pure module shared by the Worker and the dashboard. Errors are keyed by JSON Pointer into the
 * feed (`/request/body/fields/2/target`), as the admin API answers them. Checks that need stored
 * data (an unknown connection, the connection's relay policy, the relay path guards) are in
 * `worker/feeds/save-checks.ts`.
 */
import * as v from 'valibot';
import { FRAMING_HEADERS, HTTP_TOKEN_PATTERN, NAME_MAX_LENGTH, SECRET_MAX_LENGTH, SLUG_PATTERN, isLoopbackHost } from './connection';
import { parseTargetTemplate, parseTemplate, placeholdersOf, type TargetToken, type TemplatePart } from './feed-template';
import { APPEND_TOKEN, formatPointer, isArrayIndex, parsePointer, pointerProblem, tokensProblem } from './pointer';

// ---- Constants

export const FEED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type FeedMethod = (typeof FEED_METHODS)[number];
/** Methods whose requests carry no body in a feed (use query rows instead). */
export const BODYLESS_METHODS: readonly FeedMethod[] = ['GET', 'DELETE'];

export const BODY_FORMATS = ['json', 'form', 'multipart', 'raw', 'none'] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];
/** Body formats whose targets are single field names (`/email`), never nested. */
export const FLAT_BODY_FORMATS: readonly BodyFormat[] = ['form', 'multipart', 'none'];

export const IF_MISSING = ['omit', 'empty', 'null', 'error'] as const;
export type IfMissing = (typeof IF_MISSING)[number];
/** What a raw template does with a placeholder that finds no value. */
export const RAW_IF_MISSING = ['empty', 'error'] as const;

export const COERCIONS = ['auto', 'string', 'number', 'integer', 'boolean', 'json', 'file'] as const;
export type Coercion = (typeof COERCIONS)[number];

export const QUERY_ARRAY_FORMATS = ['repeat', 'brackets', 'indices', 'comma'] as const;
export type QueryArrayFormat = (typeof QUERY_ARRAY_FORMATS)[number];

export const CONDITION_OPS = ['is', 'isnot', '>', '<', 'contains', 'starts_with', 'ends_with', 'empty', 'notempty'] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

export const FEED_CONTENT_TYPES = ['form', 'multipart', 'json'] as const;
export type FeedContentType = (typeof FEED_CONTENT_TYPES)[number];

export const TURNSTILE_MODES = ['off', 'required'] as const;
export const RESPONSE_MODES = ['sync'] as const;
export const LOG_LEVELS = ['metadata', 'values'] as const;
export const INPUT_FORMATS = ['email', 'number', 'integer', 'url'] as const;

export const DEFAULT_FEED_TIMEOUT_MS = 10_000;
export const MIN_FEED_TIMEOUT_MS = 1_000;
/** Longest wait for the upstream in sync mode. */
export const MAX_SYNC_FEED_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BODY_BYTES = 65_536;
export const MAX_BODY_BYTES = 1_048_576;
export const DEFAULT_MAX_MULTIPART_BYTES = 10 * 1_048_576;
export const MAX_MULTIPART_BYTES = 25 * 1_048_576;
export const MAX_MAPPING_ROWS = 200;
export const MAX_INPUT_FIELDS = 200;
export const MAX_ORIGINS = 50;

/** Header names a feed row may not set (§3.4): credentials, framing, hop-by-hop and proxy headers. */
export const FORBIDDEN_FEED_HEADERS = [
  'authorization',
  'cookie',
  ...FRAMING_HEADERS,
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'forwarded',
] as const;

/** True when a feed's header row may not use this name (see `FORBIDDEN_FEED_HEADERS`, `Proxy-*`, `cf-*`, `X-Forwarded-*`). */
export function isForbiddenFeedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    (FORBIDDEN_FEED_HEADERS as readonly string[]).includes(lower) ||
    lower.startsWith('proxy-') ||
    lower.startsWith('cf-') ||
    lower.startsWith('x-forwarded-')
  );
}

// ---- Labels for the dashboard

export const BODY_FORMAT_LABELS: Record<BodyFormat, string> = {
  json: 'JSON',
  form: 'Form (URL-encoded)',
  multipart: 'Multipart form data',
  raw: 'Raw text',
  none: 'No body',
};

export const IF_MISSING_LABELS: Record<IfMissing, string> = {
  omit: 'Leave the field out',
  empty: 'Send an empty string',
  null: 'Send null',
  error: 'Fail the run (400 missing-field)',
};

export const COERCION_LABELS: Record<Coercion, string> = {
  auto: 'Keep the type',
  string: 'Text',
  number: 'Number',
  integer: 'Whole number',
  boolean: 'True / false',
  json: 'Parse as JSON',
  file: 'Uploaded file',
};

export const QUERY_ARRAY_FORMAT_LABELS: Record<QueryArrayFormat, string> = {
  repeat: 'Repeat the name (a=1&a=2)',
  brackets: 'Brackets (a[]=1&a[]=2)',
  indices: 'Indices (a[0]=1&a[1]=2)',
  comma: 'Comma-separated (a=1,2)',
};

export const CONDITION_OP_LABELS: Record<ConditionOp, string> = {
  is: 'is',
  isnot: 'is not',
  '>': 'greater than',
  '<': 'less than',
  contains: 'contains',
  starts_with: 'starts with',
  ends_with: 'ends with',
  empty: 'is empty',
  notempty: 'is not empty',
};

export const FEED_CONTENT_TYPE_LABELS: Record<FeedContentType, string> = {
  form: 'HTML form (application/x-www-form-urlencoded)',
  multipart: 'HTML form with files (multipart/form-data)',
  json: 'JSON (application/json)',
};

export const TURNSTILE_MODE_LABELS: Record<(typeof TURNSTILE_MODES)[number], string> = {
  required: 'Required',
  off: 'Off',
};

export const LOG_LEVEL_LABELS: Record<(typeof LOG_LEVELS)[number], string> = {
  metadata: 'Metadata only',
  values: 'Metadata and values (sensitive fields masked)',
};

// ---- Schema

const text = (label: string, max: number) =>
  v.pipe(v.string(`${label} must be text`), v.maxLength(max, `${label} must be at most ${max} characters`));

const int = (label: string, min: number, max: number) =>
  v.pipe(
    v.number(`${label} must be a number`),
    v.integer(`${label} must be a whole number`),
    v.minValue(min, `${label} must be at least ${min}`),
    v.maxValue(max, `${label} must be at most ${max}`),
  );

const bool = (label: string) => v.boolean(`${label} must be true or false`);

const list = <T extends v.GenericSchema>(item: T, label: string, max: number) =>
  v.pipe(v.array(item, `${label} must be a list`), v.maxLength(max, `At most ${max} ${label}`));

const originSchema = v.pipe(
  v.string('An origin must be text'),
  v.check((o) => {
    try {
      const u = new URL(o);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
    } catch {
      return false;
    }
  }, 'Origins look like https://shop.example (scheme, host and port only, no trailing slash)'),
);

const TurnstileSchema = v.strictObject({
  mode: v.optional(v.picklist(TURNSTILE_MODES, 'Choose required or off'), 'off'),
  siteKey: v.optional(text('Site key', 256)),
  /** Write-only: never in a View (`secretKeySet` instead). */
  secretKey: v.optional(v.pipe(text('Secret key', SECRET_MAX_LENGTH), v.nonEmpty('Secret key is required'))),
  expectedAction: v.optional(v.pipe(text('Action', 32), v.regex(/^[A-Za-z0-9_-]*$/, 'Actions hold letters, digits, - and _ only'))),
  allowedHostnames: v.optional(list(v.pipe(text('Host name', 253), v.regex(/^[a-z0-9.-]+$/i, 'Enter a host name such as shop.example')), 'host names', MAX_ORIGINS), () => []),
});

const BrowserTriggerSchema = v.strictObject({
  enabled: v.optional(bool('Browser mode'), false),
  allowedOrigins: v.optional(list(originSchema, 'origins', MAX_ORIGINS), () => []),
  turnstile: v.optional(TurnstileSchema, () => ({})),
  honeypotField: v.optional(text('Honeypot field', 100)),
});

const LimitsSchema = v.strictObject({
  maxBodyBytes: v.optional(int('Body limit', 1, MAX_BODY_BYTES), DEFAULT_MAX_BODY_BYTES),
  maxMultipartBytes: v.optional(int('Multipart limit', 1, MAX_MULTIPART_BYTES), DEFAULT_MAX_MULTIPART_BYTES),
  maxFields: v.optional(int('Field limit', 1, 1000), 100),
  maxValueBytes: v.optional(int('Value limit', 1, MAX_BODY_BYTES), 16_384),
  maxJsonDepth: v.optional(int('JSON depth limit', 1, 32), 16),
});

const TriggerSchema = v.strictObject({
  browser: v.optional(BrowserTriggerSchema, () => ({})),
  server: v.optional(v.strictObject({ enabled: v.optional(bool('Server mode'), false) }), () => ({})),
  contentTypes: v.optional(
    v.pipe(
      list(v.picklist(FEED_CONTENT_TYPES, 'Choose form, multipart or json'), 'content types', FEED_CONTENT_TYPES.length),
      v.nonEmpty('Accept at least one content type'),
    ),
    () => [...FEED_CONTENT_TYPES],
  ),
  limits: v.optional(LimitsSchema, () => ({})),
  expandBrackets: v.optional(bool('Bracket expansion'), false),
});

const InputFieldSchema = v.strictObject({
  name: v.pipe(text('Field name', 256), v.nonEmpty('Field name is required')),
  required: v.optional(bool('Required'), false),
  format: v.optional(v.picklist(INPUT_FORMATS, 'Choose email, number, integer or url')),
  maxLength: v.optional(int('Maximum length', 1, MAX_BODY_BYTES)),
  multiple: v.optional(bool('Multiple'), false),
  sensitive: v.optional(bool('Sensitive'), false),
  file: v.optional(
    v.strictObject({
      maxBytes: int('File size limit', 1, MAX_MULTIPART_BYTES),
      types: v.optional(list(text('Media type', 127), 'media types', 50), () => []),
    }),
  ),
});

const InputSchema = v.strictObject({
  fields: v.optional(list(InputFieldSchema, 'fields', MAX_INPUT_FIELDS), () => []),
  unknownFields: v.optional(v.picklist(['ignore', 'reject'], 'Choose ignore or reject'), 'ignore'),
});

const ConditionSchema = v.strictObject({
  logic: v.optional(v.picklist(['all', 'any'], 'Choose all or any'), 'all'),
  rules: list(
    v.strictObject({
      source: text('Source', 1024),
      op: v.picklist(CONDITION_OPS, 'Choose a comparison'),
      value: v.optional(text('Value', 4096), ''),
    }),
    'rules',
    50,
  ),
});

/** A body or response-data row: where to write (`target`), and a template `value` or a bare `source` pointer. */
const MappingRowSchema = v.strictObject({
  target: text('Target', 1024),
  value: v.optional(text('Value', 16_384)),
  source: v.optional(text('Source', 1024)),
  as: v.optional(v.picklist(COERCIONS, 'Choose auto, string, number, integer, boolean, json or file'), 'auto'),
  ifMissing: v.optional(v.picklist(IF_MISSING, 'Choose omit, empty, null or error'), 'omit'),
});

const NamedRowSchema = (label: string) =>
  v.strictObject({
    name: v.pipe(text(`${label} name`, 256), v.nonEmpty(`${label} name is required`)),
    value: text('Value', 16_384),
    ifMissing: v.optional(v.picklist(IF_MISSING, 'Choose omit, empty, null or error'), 'omit'),
  });

const BodySchema = v.strictObject({
  format: v.optional(v.picklist(BODY_FORMATS, 'Choose json, form, multipart, raw or none'), 'none'),
  fields: v.optional(list(MappingRowSchema, 'body rows', MAX_MAPPING_ROWS), () => []),
  raw: v.optional(
    v.nullable(
      v.strictObject({
        contentType: v.pipe(
          text('Content type', 255),
          v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;.*)?$/, 'Enter a media type such as text/xml'),
          v.check((s) => !/[\r\n\0]/.test(s), 'A content type is one line'),
        ),
        template: text('Template', 65_536),
        ifMissing: v.optional(v.picklist(RAW_IF_MISSING, 'Choose empty or error'), 'empty'),
      }),
    ),
    null,
  ),
  queryArrayFormat: v.optional(v.picklist(QUERY_ARRAY_FORMATS, 'Choose repeat, brackets, indices or comma'), 'repeat'),
});

const RequestSchema = v.strictObject({
  method: v.picklist(FEED_METHODS, 'Choose GET, POST, PUT, PATCH or DELETE'),
  path: v.optional(text('Path', 4096), ''),
  query: v.optional(list(NamedRowSchema('Query parameter'), 'query rows', MAX_MAPPING_ROWS), () => []),
  headers: v.optional(list(NamedRowSchema('Header'), 'header rows', 50), () => []),
  body: v.optional(BodySchema, () => ({})),
  timeoutMs: v.optional(int('Timeout', MIN_FEED_TIMEOUT_MS, MAX_SYNC_FEED_TIMEOUT_MS), DEFAULT_FEED_TIMEOUT_MS),
  forwardIdempotencyKey: v.optional(bool('Forward idempotency key'), false),
});

const ResponseSchema = v.strictObject({
  mode: v.optional(v.picklist(RESPONSE_MODES, 'Only "sync" is available'), 'sync'),
  successStatuses: v.optional(
    v.union(
      [v.literal('2xx'), v.pipe(v.array(int('Status', 100, 599)), v.nonEmpty('List at least one status'), v.maxLength(50))],
      'Use "2xx" or a list of statuses such as [200, 201]',
    ),
    '2xx',
  ),
  json: v.optional(
    v.strictObject({
      data: v.optional(list(MappingRowSchema, 'data rows', MAX_MAPPING_ROWS), () => []),
      errorDetail: v.optional(v.nullable(text('Error detail', 1024)), null),
    }),
    () => ({}),
  ),
  redirect: v.optional(
    v.strictObject({
      successUrl: v.optional(text('Success URL', 4096)),
      errorUrl: v.optional(text('Error URL', 4096)),
      /** Origins a redirect may go to besides the browser `allowedOrigins`. */
      redirectOrigins: v.optional(list(originSchema, 'origins', MAX_ORIGINS), () => []),
    }),
    () => ({}),
  ),
});

/** The body of `POST /api/feeds` and `PUT /api/feeds/<id>` (server-made fields such as `id` are not part of it). */
export const FeedInputSchema = v.strictObject({
  name: v.pipe(v.string('Name must be text'), v.trim(), v.nonEmpty('Name is required'), v.maxLength(NAME_MAX_LENGTH, `Name must be at most ${NAME_MAX_LENGTH} characters`)),
  description: v.optional(text('Description', 1000), ''),
  enabled: v.optional(bool('Enabled'), true),
  connection: v.pipe(v.string('Connection must be text'), v.nonEmpty('Choose a connection'), v.regex(SLUG_PATTERN, 'Choose a connection (a connection slug)')),
  trigger: v.optional(TriggerSchema, () => ({})),
  input: v.optional(InputSchema, () => ({})),
  condition: v.optional(v.nullable(ConditionSchema), null),
  request: RequestSchema,
  response: v.optional(ResponseSchema, () => ({})),
  idempotency: v.optional(
    v.strictObject({
      enabled: v.optional(bool('Idempotency'), false),
      windowSeconds: v.optional(int('Window', 1, 86_400), 600),
    }),
    () => ({}),
  ),
  log: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(LOG_LEVELS, 'Choose metadata or values'), 'metadata'),
      retainDays: v.optional(int('Retention', 1, 30), 7),
      logSuccess: v.optional(bool('Log successes'), true),
    }),
    () => ({}),
  ),
});

export type FeedInput = v.InferInput<typeof FeedInputSchema>;
export type FeedOutput = v.InferOutput<typeof FeedInputSchema>;
export type FeedRequest = FeedOutput['request'];
export type FeedBody = FeedRequest['body'];
export type MappingRow = FeedBody['fields'][number];
export type NamedRow = FeedRequest['query'][number];
export type FeedCondition = NonNullable<FeedOutput['condition']>;
export type ConditionRule = FeedCondition['rules'][number];

// ---- View

type Turnstile = FeedOutput['trigger']['browser']['turnstile'];
type BrowserTrigger = FeedOutput['trigger']['browser'];

/** Server-made fields of a stored feed. */
export interface FeedMeta {
  id: string;
  version: number;
  publicKey: string;
  createdAt: string;
  updatedAt: string;
}

/** A feed as the admin API answers it: the Turnstile secret replaced by `secretKeySet`. */
export type FeedView = Omit<FeedOutput, 'trigger'> &
  FeedMeta & {
    trigger: Omit<FeedOutput['trigger'], 'browser'> & {
      browser: Omit<BrowserTrigger, 'turnstile'> & { turnstile: Omit<Turnstile, 'secretKey'> & { secretKeySet: boolean } };
    };
  };

/** The View of a feed: never its secret, only whether one is stored. */
export function feedView(feed: FeedOutput, meta: FeedMeta): FeedView {
  const { secretKey, ...turnstile } = feed.trigger.browser.turnstile;
  return {
    ...meta,
    ...feed,
    trigger: { ...feed.trigger, browser: { ...feed.trigger.browser, turnstile: { ...turnstile, secretKeySet: secretKey !== undefined } } },
  };
}

// ---- Save-time checks

/** Kinds of save-time failure; several name a problem code of the run-time catalogue. */
export type FeedIssueCode =
  | 'invalid-value'
  | 'invalid-pointer'
  | 'invalid-template'
  | 'mapping-conflict'
  | 'mapping-index-gap'
  | 'nested-target'
  | 'body-not-allowed'
  | 'header-not-allowed'
  | 'redirect-not-allowed'
  | 'origins-required'
  | 'turnstile-secret-required'
  | 'connection-not-found'
  | 'method-not-allowed'
  | 'path-not-allowed'
  | 'unsafe-path';

/** One save-time failure: where (a JSON Pointer into the feed), what, and how to fix it. */
export interface FeedIssue {
  pointer: string;
  code: FeedIssueCode;
  message: string;
}

export interface FeedCheckOptions {
  /** On `PUT`: a Turnstile secret is already stored, so leaving `secretKey` out keeps it. */
  storedTurnstileSecret?: boolean;
  /** Allows `http:` redirect URLs on loopback hosts (the `INSECURE_ALLOW_LOOPBACK` var). */
  allowLoopback?: boolean;
}

export type FeedValidation =
  | { success: true; output: FeedOutput }
  | { success: false; issues: FeedIssue[]; errors: Record<string, string[]> };

/** Pointer-keyed messages from issues, in a prototype-less object (a key named `__proto__` stays a key). */
export function issueErrors(issues: readonly FeedIssue[]): Record<string, string[]> {
  const errors: Record<string, string[]> = Object.create(null);
  for (const issue of issues) (errors[issue.pointer] ??= []).push(issue.message);
  return errors;
}

/** Feed issues from valibot issues, keyed by JSON Pointer (`/request/timeoutMs`). */
export function schemaIssues(issues: readonly v.BaseIssue<unknown>[]): FeedIssue[] {
  return issues.map((issue) => ({
    pointer: formatPointer((issue.path ?? []).map((item) => String(item.key))),
    code: 'invalid-value',
    message: issue.message,
  }));
}

/**
 * Validates a feed as the admin API takes it: the schema, then `checkFeed`. Checks that need
 * storage (connection, relay policy) are the caller's (`worker/feeds/save-checks.ts`).
 */
export function validateFeedInput(input: unknown, options: FeedCheckOptions = {}): FeedValidation {
  const parsed = v.safeParse(FeedInputSchema, input);
  const issues = parsed.success ? checkFeed(parsed.output, options) : schemaIssues(parsed.issues);
  if (parsed.success && issues.length === 0) return { success: true, output: parsed.output };
  return { success: false, issues, errors: issueErrors(issues) };
}

/** Save-time checks of FEEDS.md §3.11 that need no storage, on a feed the schema accepted. */
export function checkFeed(feed: FeedOutput, options: FeedCheckOptions = {}): FeedIssue[] {
  const issues: FeedIssue[] = [];
  const add = (pointer: string, code: FeedIssueCode, message: string) => issues.push({ pointer, code, message });
  const { request, response, trigger } = feed;
  const { body } = request;

  // Browser mode.
  const browser = trigger.browser;
  if (browser.enabled && browser.allowedOrigins.length === 0) {
    add('/trigger/browser/allowedOrigins', 'origins-required', 'Browser mode needs at least one allowed origin, e.g. https://shop.example');
  }
  if (browser.turnstile.mode === 'required') {
    if (browser.turnstile.secretKey === undefined && !options.storedTurnstileSecret) {
      add('/trigger/browser/turnstile/secretKey', 'turnstile-secret-required', "Turnstile is required: enter the widget's secret key, or turn Turnstile off");
    }
    if (!browser.turnstile.siteKey) {
      add('/trigger/browser/turnstile/siteKey', 'turnstile-secret-required', "Turnstile is required: enter the widget's site key, or turn Turnstile off");
    }
  }

  // Declared input fields.
  const seenFields = new Set<string>();
  feed.input.fields.forEach((field, i) => {
    const problem = tokensProblem([field.name]);
    if (problem) add(`/input/fields/${i}/name`, 'invalid-pointer', problem);
    if (seenFields.has(field.name)) add(`/input/fields/${i}/name`, 'invalid-value', `"${field.name}" is declared twice; remove one`);
    seenFields.add(field.name);
  });

  // Condition sources are bare pointers.
  feed.condition?.rules.forEach((rule, i) => checkSource(rule.source, `/condition/rules/${i}/source`, false, add));

  // Path, query and headers.
  checkTemplate(request.path, '/request/path', false, add);
  if (request.path !== '' && !request.path.startsWith('/')) {
    add('/request/path', 'unsafe-path', 'The path is relative to the Base URL and starts with "/" (e.g. /lists/members)');
  }
  if (/[?#]/.test(literalText(request.path))) {
    add('/request/path', 'unsafe-path', 'Put query parameters in query rows, not in the path');
  }
  request.query.forEach((row, i) => checkTemplate(row.value, `/request/query/${i}/value`, false, add));
  request.headers.forEach((row, i) => {
    if (!HTTP_TOKEN_PATTERN.test(row.name)) {
      add(`/request/headers/${i}/name`, 'header-not-allowed', 'A header name holds letters, digits and - only (e.g. X-Source)');
    } else if (isForbiddenFeedHeader(row.name)) {
      add(`/request/headers/${i}/name`, 'header-not-allowed', `${row.name} is set by the connector, the connection or the runtime and cannot be set by a feed; remove the row`);
    } else if (row.name.toLowerCase() === 'content-type' && body.format !== 'none') {
      add(`/request/headers/${i}/name`, 'header-not-allowed', 'The body format sets Content-Type; remove the row (for another type use the raw format)');
    }
    checkTemplate(row.value, `/request/headers/${i}/value`, false, add);
  });

  // Body.
  const bodyless = BODYLESS_METHODS.includes(request.method);
  if (bodyless && body.format !== 'none') {
    add('/request/body/format', 'body-not-allowed', `${request.method} requests carry no body: choose "No body" and map the values to query rows instead`);
  }
  if (body.fields.length > 0 && (bodyless || body.format === 'none')) {
    add(
      '/request/body/fields',
      'body-not-allowed',
      bodyless
        ? `${request.method} requests carry no body: move these rows to query rows, or choose another method`
        : 'A request with no body has no body rows: remove them or choose a body format',
    );
  }
  if (body.format === 'raw') {
    if (body.raw === null) add('/request/body/raw', 'invalid-value', 'The raw format needs a content type and a template');
    else checkTemplate(body.raw.template, '/request/body/raw/template', false, add);
    if (body.fields.length > 0) add('/request/body/fields', 'invalid-value', 'A raw body is written by its template; remove the body rows or choose another format');
  } else if (body.raw !== null) {
    add('/request/body/raw', 'invalid-value', 'Only the raw format uses a raw template; remove it or choose "Raw text"');
  }
  checkRows(body.fields, '/request/body/fields', {
    flat: FLAT_BODY_FORMATS.includes(body.format) ? body.format : undefined,
    allowFile: body.format === 'multipart',
    allowResponse: false,
    add,
  });

  // Response.
  checkRows(response.json.data, '/response/json/data', { flat: undefined, allowFile: false, allowResponse: true, add });
  if (response.json.errorDetail !== null) {
    const at = '/response/json/errorDetail';
    checkSource(response.json.errorDetail, at, true, add);
    if (!response.json.errorDetail.startsWith('/response/')) add(at, 'invalid-pointer', 'The error detail is read from the upstream answer: a pointer such as /response/body/detail');
  }
  const redirectOrigins = new Set([...browser.allowedOrigins, ...response.redirect.redirectOrigins]);
  for (const key of ['successUrl', 'errorUrl'] as const) {
    const url = response.redirect[key];
    if (url === undefined || url === '') continue;
    checkRedirectUrl(url, `/response/redirect/${key}`, redirectOrigins, options.allowLoopback ?? false, add);
  }
  return issues;
}

type Add = (pointer: string, code: FeedIssueCode, message: string) => void;

/** The literal text of a template, placeholders left out (`''` when it does not parse). */
function literalText(template: string): string {
  try {
    return parseTemplate(template)
      .map((part) => (part.kind === 'text' ? part.text : ''))
      .join('');
  } catch {
    return '';
  }
}

function checkTemplate(template: string, at: string, allowResponse: boolean, add: Add): TemplatePart[] | undefined {
  let parts: TemplatePart[];
  try {
    parts = parseTemplate(template);
  } catch (err) {
    add(at, 'invalid-template', (err as Error).message);
    return undefined;
  }
  if (!allowResponse && placeholdersOf(parts).some((p) => p.tokens[0] === 'response')) {
    add(at, 'invalid-template', '/response/… is only available in response mapping and redirect URLs');
  }
  return parts;
}

function checkSource(source: string, at: string, allowResponse: boolean, add: Add): void {
  const problem = pointerProblem(source);
  if (problem) {
    add(at, 'invalid-pointer', problem);
    return;
  }
  const namespace = parsePointer(source)[0];
  if (namespace !== 'input' && namespace !== 'meta' && !(allowResponse && namespace === 'response')) {
    add(at, 'invalid-pointer', allowResponse ? 'A source reads /input/…, /meta/… or /response/…' : 'A source reads /input/… or /meta/…');
  }
}

/** What a mapping row may write into, as far as it is known before a run. */
type Shape =
  | { kind: 'object'; row: string; children: Map<string, Shape> }
  | { kind: 'array'; row: string; items: Shape[]; knownLength: boolean }
  | { kind: 'leaf'; row: string }
  | { kind: 'unknown'; row: string };

interface RowCheckOptions {
  /** Set for form, multipart and none bodies: targets are single names. */
  flat: BodyFormat | undefined;
  allowFile: boolean;
  allowResponse: boolean;
  add: Add;
}

/**
 * Checks mapping rows: their pointers and templates, and writes them in order into a shape of the
 * body, so that a target written twice, a write under another row's value, and an index past the
 * end (when every index is literal) are found before any run.
 */
function checkRows(rows: readonly MappingRow[], at: string, options: RowCheckOptions): void {
  const { add } = options;
  let root: Shape | undefined;
  const flatNames = new Map<string, string>();
  rows.forEach((row, i) => {
    const rowAt = `${at}/${i}`;
    if ((row.value === undefined) === (row.source === undefined)) {
      add(`${rowAt}/value`, 'invalid-value', 'Give the row either a value (a template) or a source (a pointer), not both');
    }
    if (row.value !== undefined) checkTemplate(row.value, `${rowAt}/value`, options.allowResponse, add);
    if (row.source !== undefined) checkSource(row.source, `${rowAt}/source`, options.allowResponse, add);
    if (row.as === 'file' && !options.allowFile) add(`${rowAt}/as`, 'invalid-value', 'Files can only be sent in a multipart body');

    const targetAt = `${rowAt}/target`;
    let tokens: TargetToken[];
    try {
      tokens = parseTargetTemplate(row.target);
    } catch (err) {
      add(targetAt, 'invalid-pointer', (err as Error).message);
      return;
    }
    const literal = tokens.flatMap((token) => (token.kind === 'literal' ? [token.token] : []));
    const problem = tokensProblem(literal);
    if (problem) {
      add(targetAt, 'invalid-pointer', problem);
      return;
    }
    for (const token of tokens) {
      if (token.kind === 'dynamic' && !options.allowResponse && placeholdersOf(token.parts).some((p) => p.tokens[0] === 'response')) {
        add(targetAt, 'invalid-template', '/response/… is only available in response mapping and redirect URLs');
        return;
      }
    }
    if (options.flat !== undefined) {
      if (tokens.length !== 1) {
        add(targetAt, 'nested-target', `A ${BODY_FORMAT_LABELS[options.flat].toLowerCase()} body holds plain field names: write a single name such as /email (nested targets need the JSON format)`);
        return;
      }
      // Field names, not pointers into a structure: "0" and "-" are names like any other.
      const token = tokens[0]!;
      if (token.kind === 'literal') {
        const first = flatNames.get(token.token);
        if (first !== undefined) add(targetAt, 'mapping-conflict', `The field "${token.token}" is already written by row ${first}; each field is written once (an array value sends it repeatedly)`);
        else flatNames.set(token.token, rowAt);
      }
      return;
    }
    const conflict = (message: string) => add(targetAt, 'mapping-conflict', message);
    const other = (shape: Shape) => (shape.row === rowAt ? 'this row' : `row ${shape.row}`);

    if (tokens.length === 0) {
      if (root !== undefined) conflict(`The whole body is already written by ${other(root)}; remove one of the rows`);
      else root = { kind: 'leaf', row: rowAt };
      return;
    }
    const containerFor = (token: TargetToken): Shape =>
      token.kind === 'dynamic'
        ? { kind: 'unknown', row: rowAt }
        : token.token === APPEND_TOKEN || isArrayIndex(token.token)
          ? { kind: 'array', row: rowAt, items: [], knownLength: true }
          : { kind: 'object', row: rowAt, children: new Map() };

    root ??= containerFor(tokens[0]!);
    let node: Shape = root;
    for (let k = 0; k < tokens.length; k++) {
      const token = tokens[k]!;
      const last = k === tokens.length - 1;
      const where = formatPointer(literalPrefix(tokens, k));
      if (node.kind === 'leaf') {
        conflict(`${where || 'The body'} is a value written by ${other(node)}; a row cannot write inside it`);
        return;
      }
      if (node.kind === 'unknown') return;
      if (token.kind === 'dynamic') {
        if (node.kind === 'array') node.knownLength = false;
        return;
      }
      let next: Shape | undefined;
      let place: (shape: Shape) => void;
      if (node.kind === 'array') {
        const items = node.items;
        if (token.token === APPEND_TOKEN) {
          next = undefined;
          place = (shape) => items.push(shape);
        } else if (isArrayIndex(token.token)) {
          const index = Number(token.token);
          if (index > items.length) {
            if (node.knownLength) {
              add(targetAt, 'mapping-index-gap', `${where || 'The body'} has ${items.length} element(s) when this row runs: write index ${items.length} or "-" (append), or reorder the rows`);
              return;
            }
            return;
          }
          next = items[index];
          place = (shape) => {
            if (index === items.length) items.push(shape);
            else items[index] = shape;
          };
        } else {
          conflict(`${where || 'The body'} is an array (from ${other(node)}); write an index or "-", not the name "${token.token}"`);
          return;
        }
      } else {
        // A token that looks like an index stays a key on an object (`/zip/0` under an object).
        const children = node.children;
        next = children.get(token.token);
        place = (shape) => children.set(token.token, shape);
      }
      if (last) {
        if (next !== undefined) {
          conflict(`${formatPointer(literalPrefix(tokens, k + 1))} is already written by ${other(next)}; each target can be written once`);
          return;
        }
        place({ kind: 'leaf', row: rowAt });
        return;
      }
      if (next === undefined) {
        next = containerFor(tokens[k + 1]!);
        place(next);
      }
      node = next;
    }
  });
}

/** The literal tokens of a target up to `end` (a dynamic token shown as its template text). */
function literalPrefix(tokens: readonly TargetToken[], end: number): string[] {
  return tokens.slice(0, end).map((token) =>
    token.kind === 'literal' ? token.token : token.parts.map((part) => (part.kind === 'text' ? part.text : `{{${part.pointer}}}`)).join(''),
  );
}

/**
 * A redirect URL: absolute, `https:` (or `http:` on a loopback host with `allowLoopback`), its
 * scheme and authority literal (placeholders only in path, query and fragment), and its origin one
 * of the browser's allowed origins or the explicit `redirectOrigins`.
 */
function checkRedirectUrl(url: string, at: string, origins: ReadonlySet<string>, allowLoopback: boolean, add: Add): void {
  const parts = checkTemplate(url, at, true, add);
  if (!parts) return;
  const head = redirectHead(parts);
  if (head === null) {
    add(at, 'redirect-not-allowed', 'The scheme and host of a redirect URL are written out, not placeholders: e.g. https://shop.example/thanks?id={{/response/body/id}}');
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(head);
  } catch {
    add(at, 'redirect-not-allowed', 'Enter an absolute URL such as https://shop.example/thanks');
    return;
  }
  const loopback = isLoopbackHost(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback && allowLoopback)) {
    add(at, 'redirect-not-allowed', 'A redirect URL starts with https://');
    return;
  }
  if (parsed.username || parsed.password) {
    add(at, 'redirect-not-allowed', 'A redirect URL may not hold a user name or password');
    return;
  }
  if (!origins.has(parsed.origin)) {
    add(at, 'redirect-not-allowed', `${parsed.origin} is not an allowed origin: add it to the browser's allowed origins or to the redirect origins`);
  }
}

/**
 * The literal scheme and authority of a parsed redirect URL template (`https://shop.example`), or
 * `null` when a placeholder comes before the authority ends.
 */
export function redirectHead(parts: readonly TemplatePart[]): string | null {
  let head = '';
  for (const part of parts) {
    if (part.kind === 'placeholder') return authorityEnd(head) === -1 ? null : head.slice(0, authorityEnd(head));
    head += part.text;
    const end = authorityEnd(head);
    if (end !== -1) return head.slice(0, end);
  }
  // All literal: the authority ends at the end of the text.
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\\]+$/.test(head) ? head : head === '' ? null : head;
}

/** Where the authority of a URL text ends (the first `/`, `?`, `#` or `\` after `scheme://host`), or -1. */
function authorityEnd(text: string): number {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\\]+(?=[/?#\\])/.exec(text);
  return match ? match[0].length : -1;
}
