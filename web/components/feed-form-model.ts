/**
 * The feed editor's model: the draft it edits (the feed as typed: numbers as text, optional parts
 * as switches), the draft of a stored feed, the FeedInput built from a draft, where an error (a
 * JSON Pointer into the FeedInput) is shown, and the pointers offered for autocomplete.
 *
 * Rows keep their index from draft to input, so `/request/body/fields/2/target` names the third
 * body row's target in both.
 */
import {
  type BodyFormat,
  type Coercion,
  type ConditionOp,
  type FeedContentType,
  type FeedMethod,
  type FeedView,
  type IfMissing,
  type QueryArrayFormat,
  FEED_CONTENT_TYPES,
  INPUT_FORMATS,
  LOG_LEVELS,
} from '../../contract/feed';
import { escapeToken, gravityPathToPointer, parsePointer } from '../../contract/pointer';

export type InputFormat = (typeof INPUT_FORMATS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface FieldDraft {
  name: string;
  required: boolean;
  format: InputFormat | '';
  maxLength: string;
  multiple: boolean;
  sensitive: boolean;
  /** Kept as stored: the editor has no file settings yet. */
  file?: unknown;
}

export interface RuleDraft {
  source: string;
  op: ConditionOp;
  value: string;
}

export interface NamedDraft {
  name: string;
  value: string;
  ifMissing: IfMissing;
}

/** A body or response-data row: its text is a template (`value`) or a bare pointer (`source`). */
export interface RowDraft {
  target: string;
  kind: 'value' | 'source';
  text: string;
  as: Coercion;
  ifMissing: IfMissing;
}

export interface FeedDraft {
  name: string;
  description: string;
  enabled: boolean;
  connection: string;
  browserEnabled: boolean;
  allowedOrigins: string[];
  honeypotField: string;
  serverEnabled: boolean;
  contentTypes: FeedContentType[];
  fields: FieldDraft[];
  unknownFields: 'ignore' | 'reject';
  logic: 'all' | 'any';
  rules: RuleDraft[];
  method: FeedMethod;
  path: string;
  query: NamedDraft[];
  headers: NamedDraft[];
  bodyFormat: BodyFormat;
  bodyFields: RowDraft[];
  rawContentType: string;
  rawTemplate: string;
  queryArrayFormat: QueryArrayFormat;
  timeoutMs: string;
  successStatuses: string;
  data: RowDraft[];
  errorDetail: string;
  successUrl: string;
  errorUrl: string;
  logLevel: LogLevel;
  retainDays: string;
  logSuccess: boolean;
}

const rowDraft = (row: { target: string; value?: string; source?: string; as?: Coercion; ifMissing?: IfMissing }): RowDraft => ({
  target: row.target,
  kind: row.source !== undefined && row.value === undefined ? 'source' : 'value',
  text: row.source ?? row.value ?? '',
  as: row.as ?? 'auto',
  ifMissing: row.ifMissing ?? 'omit',
});

export const emptyRow = (): RowDraft => ({ target: '', kind: 'value', text: '', as: 'auto', ifMissing: 'omit' });
export const emptyField = (): FieldDraft => ({ name: '', required: false, format: '', maxLength: '', multiple: false, sensitive: false });

/** A new feed's draft (a JSON POST with its fields mapped), or the draft of a stored feed. */
export function draftFromView(view?: FeedView, connection = ''): FeedDraft {
  if (!view) {
    return {
      name: '',
      description: '',
      enabled: true,
      connection,
      browserEnabled: true,
      allowedOrigins: [''],
      honeypotField: '',
      serverEnabled: false,
      contentTypes: [...FEED_CONTENT_TYPES],
      fields: [{ ...emptyField(), name: 'email', required: true, format: 'email' }],
      unknownFields: 'ignore',
      logic: 'all',
      rules: [],
      method: 'POST',
      path: '/',
      query: [],
      headers: [],
      bodyFormat: 'json',
      bodyFields: [{ ...emptyRow(), target: '/email', text: '{{/input/email}}' }],
      rawContentType: 'text/plain',
      rawTemplate: '',
      queryArrayFormat: 'repeat',
      timeoutMs: '10000',
      successStatuses: '2xx',
      data: [],
      errorDetail: '',
      successUrl: '',
      errorUrl: '',
      logLevel: 'metadata',
      retainDays: '7',
      logSuccess: true,
    };
  }
  const { trigger, request, response } = view;
  return {
    name: view.name,
    description: view.description,
    enabled: view.enabled,
    connection: view.connection,
    browserEnabled: trigger.browser.enabled,
    allowedOrigins: [...trigger.browser.allowedOrigins],
    honeypotField: trigger.browser.honeypotField ?? '',
    serverEnabled: trigger.server.enabled,
    contentTypes: [...trigger.contentTypes],
    fields: view.input.fields.map((f) => ({
      name: f.name,
      required: f.required,
      format: f.format ?? '',
      maxLength: f.maxLength !== undefined ? String(f.maxLength) : '',
      multiple: f.multiple,
      sensitive: f.sensitive,
      ...(f.file !== undefined ? { file: f.file } : {}),
    })),
    unknownFields: view.input.unknownFields,
    logic: view.condition?.logic ?? 'all',
    rules: (view.condition?.rules ?? []).map((r) => ({ source: r.source, op: r.op, value: r.value })),
    method: request.method,
    path: request.path,
    query: request.query.map((r) => ({ ...r })),
    headers: request.headers.map((r) => ({ ...r })),
    bodyFormat: request.body.format,
    bodyFields: request.body.fields.map(rowDraft),
    rawContentType: request.body.raw?.contentType ?? 'text/plain',
    rawTemplate: request.body.raw?.template ?? '',
    queryArrayFormat: request.body.queryArrayFormat,
    timeoutMs: String(request.timeoutMs),
    successStatuses: response.successStatuses === '2xx' ? '2xx' : response.successStatuses.join(', '),
    data: response.json.data.map(rowDraft),
    errorDetail: response.json.errorDetail ?? '',
    successUrl: response.redirect.successUrl ?? '',
    errorUrl: response.redirect.errorUrl ?? '',
    logLevel: view.log.level,
    retainDays: String(view.log.retainDays),
    logSuccess: view.log.logSuccess,
  };
}

/** A number field's value: a number when it reads as one, else the text (so validation says why); undefined when empty. */
function numberOrText(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  const n = Number(trimmed);
  return Number.isNaN(n) ? trimmed : n;
}

/** "2xx", or "200, 201" as a list of numbers; anything else as typed (validation says why). */
export function parseStatuses(text: string): '2xx' | number[] | string {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === '2xx') return '2xx';
  const parts = trimmed.split(/[\s,]+/).filter(Boolean);
  return parts.every((p) => /^\d{3}$/.test(p)) ? parts.map(Number) : trimmed;
}

const mappingRow = (row: RowDraft) => ({
  target: row.target,
  ...(row.kind === 'source' ? { source: row.text } : { value: row.text }),
  as: row.as,
  ifMissing: row.ifMissing,
});

/**
 * The FeedInput of a draft. What the editor does not show (Turnstile, limits, idempotency,
 * redirect origins, file settings) is sent back as stored, so a replace keeps it.
 */
export function buildInput(draft: FeedDraft, stored?: FeedView): Record<string, unknown> {
  const storedTurnstile = stored ? (({ secretKeySet: _set, ...rest }) => rest)(stored.trigger.browser.turnstile) : undefined;
  const browser: Record<string, unknown> = {
    enabled: draft.browserEnabled,
    allowedOrigins: draft.allowedOrigins.map((o) => o.trim()).filter(Boolean),
    ...(storedTurnstile ? { turnstile: storedTurnstile } : {}),
  };
  if (draft.honeypotField.trim()) browser.honeypotField = draft.honeypotField.trim();
  const raw = draft.bodyFormat === 'raw' ? { contentType: draft.rawContentType, template: draft.rawTemplate } : null;
  const redirect: Record<string, unknown> = { ...(stored?.response.redirect ?? {}) };
  delete redirect.successUrl;
  delete redirect.errorUrl;
  if (draft.successUrl.trim()) redirect.successUrl = draft.successUrl.trim();
  if (draft.errorUrl.trim()) redirect.errorUrl = draft.errorUrl.trim();
  const input: Record<string, unknown> = {
    name: draft.name,
    description: draft.description,
    enabled: draft.enabled,
    connection: draft.connection,
    trigger: {
      ...(stored ? { limits: stored.trigger.limits, expandBrackets: stored.trigger.expandBrackets } : {}),
      browser,
      server: { enabled: draft.serverEnabled },
      contentTypes: [...draft.contentTypes],
    },
    input: {
      fields: draft.fields.map((f) => {
        const field: Record<string, unknown> = { name: f.name, required: f.required, multiple: f.multiple, sensitive: f.sensitive };
        if (f.format) field.format = f.format;
        const max = numberOrText(f.maxLength);
        if (max !== undefined) field.maxLength = max;
        if (f.file !== undefined) field.file = f.file;
        return field;
      }),
      unknownFields: draft.unknownFields,
    },
    condition: draft.rules.length ? { logic: draft.logic, rules: draft.rules.map((r) => ({ ...r })) } : null,
    request: {
      method: draft.method,
      path: draft.path,
      query: draft.query.map((r) => ({ ...r })),
      headers: draft.headers.map((r) => ({ ...r })),
      body: { format: draft.bodyFormat, fields: draft.bodyFields.map(mappingRow), raw, queryArrayFormat: draft.queryArrayFormat },
      timeoutMs: numberOrText(draft.timeoutMs),
      ...(stored ? { forwardIdempotencyKey: stored.request.forwardIdempotencyKey } : {}),
    },
    response: {
      successStatuses: parseStatuses(draft.successStatuses),
      json: { data: draft.data.map(mappingRow), errorDetail: draft.errorDetail.trim() ? draft.errorDetail.trim() : null },
      redirect,
    },
    log: { level: draft.logLevel, retainDays: numberOrText(draft.retainDays), logSuccess: draft.logSuccess },
    ...(stored ? { idempotency: stored.idempotency } : {}),
  };
  const request = input.request as Record<string, unknown>;
  if (request.timeoutMs === undefined) delete request.timeoutMs;
  const log = input.log as Record<string, unknown>;
  if (log.retainDays === undefined) delete log.retainDays;
  return input;
}

/** The DOM id of the control for an error pointer (`/request/path` → `ff-request-path`). */
export function controlId(pointer: string): string {
  return `ff${pointer.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/**
 * Splits pointer-keyed errors into those shown at a control (the nearest shown pointer at or above
 * the error's) and the rest, which the form's alert lists.
 */
export function placeErrors(errors: Record<string, readonly string[]>, shown: ReadonlySet<string>): { byPointer: Record<string, string[]>; other: string[] } {
  const byPointer: Record<string, string[]> = {};
  const other: string[] = [];
  for (const [pointer, messages] of Object.entries(errors)) {
    let at: string | undefined;
    for (let p = pointer; ; p = p.slice(0, p.lastIndexOf('/'))) {
      if (shown.has(p)) {
        at = p;
        break;
      }
      if (p === '') break;
    }
    if (at === undefined) other.push(...messages.map((m) => (pointer ? `${pointer}: ${m}` : m)));
    else byPointer[at] = [...new Set([...(byPointer[at] ?? []), ...messages])];
  }
  return { byPointer, other };
}

/** `/meta` members a template may read (FEEDS.md §3.2). */
export const META_POINTERS = ['/meta/runId', '/meta/feedId', '/meta/receivedAt', '/meta/origin', '/meta/contentType', '/meta/idempotencyKey', '/meta/country'];
/** `/response` members a response mapping or redirect URL may read. */
export const RESPONSE_POINTERS = ['/response/status', '/response/body', '/response/text', '/response/headers/content-type'];

/** Pointers offered for autocomplete: the whole input, each declared field, `/meta`, and `/response` where allowed. */
export function pointerSuggestions(fields: readonly FieldDraft[], withResponse: boolean): string[] {
  const named = fields.map((f) => f.name.trim()).filter(Boolean);
  return [...new Set(['/input', ...named.map((n) => `/input/${escapeToken(n)}`), ...META_POINTERS, ...(withResponse ? RESPONSE_POINTERS : [])])];
}

/** Where a source typed as a GravityWP-style path reads from when it names no namespace. */
export type PathContext = 'target' | 'input' | 'response';

/**
 * A GravityWP-style path (`items[0].sku`) as the pointer it stands for, or `undefined` when the
 * text is a pointer already, a template, or not a convertible path. A source gets its namespace:
 * `/input/…` for conditions, `/response/body/…` for response data (a path that starts with
 * `input.`, `meta.` or `response.` keeps its own).
 */
export function convertPath(text: string, context: PathContext): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('/') || trimmed.includes('{{')) return undefined;
  const pointer = gravityPathToPointer(trimmed);
  if (pointer === null) return undefined;
  if (context === 'target') return pointer;
  const first = parsePointer(pointer)[0];
  if (first === 'input' || first === 'meta' || first === 'response') return pointer;
  return `${context === 'input' ? '/input' : '/response/body'}${pointer}`;
}

/** A sample submission for the preview: a plausible value for each declared field. */
export function sampleInput(fields: readonly FieldDraft[]): Record<string, unknown> {
  const sample: Record<string, unknown> = {};
  for (const f of fields) {
    const name = f.name.trim();
    if (!name || f.file !== undefined) continue;
    const one =
      f.format === 'email' ? 'someone@example.com' : f.format === 'number' ? '42.5' : f.format === 'integer' ? '42' : f.format === 'url' ? 'https://example.com/' : `sample ${name}`;
    sample[name] = f.multiple ? [one, `${one} 2`] : one;
  }
  return sample;
}
