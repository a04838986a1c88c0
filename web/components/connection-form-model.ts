/**
 * The connection form's model: its state, the state of a stored connection, the API input built
 * from a state, and where a field error (by path, e.g. `auth.clientSecret`) is shown.
 */
import {
  type ApiKeyPlacement,
  type AuthMethod,
  type ClientAuthMethod,
  type ConnectionView,
  DEFAULT_API_KEY_NAME,
  DEFAULT_CLIENT_AUTH,
  SECRET_FIELD,
} from '../../contract/connection';
import { secretReentryReasons } from '../../contract/rules';

export interface TokenParamRow {
  name: string;
  value: string;
}

/** Everything the form holds; every method's fields, so switching back and forth keeps them. */
export interface FormState {
  name: string;
  slug: string;
  baseUrl: string;
  method: AuthMethod;
  clientId: string;
  clientSecret: string;
  tokenUrl: string;
  scope: string;
  clientAuth: ClientAuthMethod;
  tokenParams: TokenParamRow[];
  tokenLifetimeSeconds: string;
  bearerToken: string;
  username: string;
  password: string;
  apiKeyName: string;
  apiKeyValue: string;
  apiKeyIn: ApiKeyPlacement;
  allowedMethods: string[];
  allowedPaths: string;
  allowedOrigins: string;
  timeoutMs: string;
  retainDays: string;
  fullQuery: boolean;
}

/** Error paths of the fields each method shows, in form order. */
const METHOD_FIELDS: Record<AuthMethod, string[]> = {
  oauth2_client_credentials: [
    'auth.clientId',
    'auth.clientSecret',
    'auth.tokenUrl',
    'auth.scope',
    'auth.clientAuth',
    'auth.tokenParams',
    'auth.tokenLifetimeSeconds',
  ],
  bearer: ['auth.token'],
  basic: ['auth.username', 'auth.password'],
  api_key: ['auth.name', 'auth.value', 'auth.in'],
  none: [],
};

/** Fields inside the OAuth "Advanced" section (it opens when one of them has an error). */
export const ADVANCED_FIELDS = ['auth.clientAuth', 'auth.tokenParams', 'auth.tokenLifetimeSeconds'];

const RELAY_FIELDS = ['relay.allowedMethods', 'relay.allowedPaths', 'relay.allowedOrigins', 'relay.timeoutMs'];
const LOG_FIELDS = ['log.retainDays', 'log.fullQuery'];

/** Error paths of the fields shown for a method, in form order. */
export function visibleFields(method: AuthMethod): string[] {
  return ['name', 'slug', 'baseUrl', 'auth.method', ...METHOD_FIELDS[method], ...RELAY_FIELDS, ...LOG_FIELDS];
}

/** The DOM id of the control for an error path. */
export function fieldId(path: string): string {
  return `f-${path.replace(/\./g, '-')}`;
}

/** A fresh form, or one showing a stored connection (secrets are never filled in). */
export function stateFromView(view?: ConnectionView): FormState {
  const state: FormState = {
    name: view?.name ?? '',
    slug: view?.slug ?? '',
    baseUrl: view?.baseUrl ?? '',
    method: view?.auth.method ?? 'oauth2_client_credentials',
    clientId: '',
    clientSecret: '',
    tokenUrl: '',
    scope: '',
    clientAuth: DEFAULT_CLIENT_AUTH,
    tokenParams: [],
    tokenLifetimeSeconds: '',
    bearerToken: '',
    username: '',
    password: '',
    apiKeyName: DEFAULT_API_KEY_NAME,
    apiKeyValue: '',
    apiKeyIn: 'header',
    allowedMethods: [...(view?.relay?.allowedMethods ?? [])],
    allowedPaths: (view?.relay?.allowedPaths ?? []).join('\n'),
    allowedOrigins: (view?.relay?.allowedOrigins ?? []).join('\n'),
    timeoutMs: view?.relay?.timeoutMs !== undefined ? String(view.relay.timeoutMs) : '',
    retainDays: view?.log?.retainDays !== undefined ? String(view.log.retainDays) : '',
    fullQuery: view?.log?.fullQuery ?? false,
  };
  const auth = view?.auth;
  if (auth?.method === 'oauth2_client_credentials') {
    state.clientId = auth.clientId;
    state.tokenUrl = auth.tokenUrl;
    state.scope = auth.scope ?? '';
    state.clientAuth = auth.clientAuth;
    state.tokenParams = Object.entries(auth.tokenParams ?? {}).map(([name, value]) => ({ name, value }));
    state.tokenLifetimeSeconds = auth.tokenLifetimeSeconds !== undefined ? String(auth.tokenLifetimeSeconds) : '';
  } else if (auth?.method === 'basic') {
    state.username = auth.username;
  } else if (auth?.method === 'api_key') {
    state.apiKeyName = auth.name;
    state.apiKeyIn = auth.in;
  }
  return state;
}

/** The form field that holds each method's secret. */
export const SECRET_KEYS: Record<AuthMethod, 'clientSecret' | 'bearerToken' | 'password' | 'apiKeyValue' | undefined> = {
  oauth2_client_credentials: 'clientSecret',
  bearer: 'bearerToken',
  basic: 'password',
  api_key: 'apiKeyValue',
  none: undefined,
};

/** True when the stored connection has a secret for `method` (so leaving it empty keeps it). */
export function hasStoredSecret(view: ConnectionView | undefined, method: AuthMethod): boolean {
  const field = SECRET_FIELD[method];
  if (!view || !field || view.auth.method !== method) return false;
  return (view.auth as unknown as Record<string, unknown>)[`${field}Set`] === true;
}

/**
 * Why the stored secret cannot be kept with the form's URLs, or undefined when it can. The server
 * never sends a stored secret to a new host: a changed Base URL (or, for OAuth, Token URL) host
 * needs the secret typed again.
 */
export function secretReentryReason(view: ConnectionView | undefined, state: FormState): string | undefined {
  if (!view || !hasStoredSecret(view, state.method)) return undefined;
  const tokenUrl = state.method === 'oauth2_client_credentials' ? { tokenUrl: state.tokenUrl } : {};
  return secretReentryReasons(view, { baseUrl: state.baseUrl, auth: { method: state.method, ...tokenUrl } })[0];
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/** A number field's value: left out when empty, a number when it reads as one, else the text (so validation says why). */
function numberOrText(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  const n = Number(trimmed);
  return Number.isNaN(n) ? trimmed : n;
}

/**
 * The API input for a state. A secret is sent when typed; when empty it is left out (the stored
 * one is kept), unless none is stored for this method: then it is sent empty, so validation says
 * it is required.
 */
export function buildInput(state: FormState, stored?: ConnectionView): Record<string, unknown> {
  const secret = (value: string) => (value !== '' || !hasStoredSecret(stored, state.method) ? value : undefined);
  const auth: Record<string, unknown> = { method: state.method };
  switch (state.method) {
    case 'oauth2_client_credentials': {
      auth.clientId = state.clientId;
      auth.clientSecret = secret(state.clientSecret);
      auth.tokenUrl = state.tokenUrl;
      if (state.scope.trim()) auth.scope = state.scope;
      auth.clientAuth = state.clientAuth;
      const rows = state.tokenParams.filter((row) => row.name.trim() || row.value);
      if (rows.length) auth.tokenParams = Object.fromEntries(rows.map((row) => [row.name.trim(), row.value]));
      auth.tokenLifetimeSeconds = numberOrText(state.tokenLifetimeSeconds);
      break;
    }
    case 'bearer':
      auth.token = secret(state.bearerToken);
      break;
    case 'basic':
      auth.username = state.username;
      auth.password = secret(state.password);
      break;
    case 'api_key':
      if (state.apiKeyName.trim()) auth.name = state.apiKeyName;
      auth.value = secret(state.apiKeyValue);
      auth.in = state.apiKeyIn;
      break;
    case 'none':
      break;
  }
  for (const key of Object.keys(auth)) if (auth[key] === undefined) delete auth[key];

  const relay: Record<string, unknown> = {};
  if (state.allowedMethods.length) relay.allowedMethods = [...state.allowedMethods];
  if (lines(state.allowedPaths).length) relay.allowedPaths = lines(state.allowedPaths);
  if (lines(state.allowedOrigins).length) relay.allowedOrigins = lines(state.allowedOrigins);
  const timeout = numberOrText(state.timeoutMs);
  if (timeout !== undefined) relay.timeoutMs = timeout;

  const input: Record<string, unknown> = { name: state.name, slug: state.slug, baseUrl: state.baseUrl, auth };
  if (Object.keys(relay).length) input.relay = relay;
  // A replace stores the whole record: settings that were stored are sent back, also when turned off.
  const retainDays = numberOrText(state.retainDays);
  if (retainDays !== undefined || state.fullQuery || stored?.log) {
    input.log = { ...(retainDays !== undefined ? { retainDays } : {}), fullQuery: state.fullQuery };
  }
  return input;
}

/** The visible field an error path belongs to (`relay.allowedPaths.2` → `relay.allowedPaths`), if any. */
export function fieldForPath(path: string, visible: readonly string[]): string | undefined {
  if (path === 'auth') return 'auth.method';
  for (let p = path; p; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    if (visible.includes(p)) return p;
  }
  return undefined;
}

/** Fields typed one entry per line: their errors name the line (`relay.allowedPaths.2` is the third entry). */
export const LINE_FIELDS = { 'relay.allowedPaths': 'allowedPaths', 'relay.allowedOrigins': 'allowedOrigins' } as const satisfies Record<string, keyof FormState>;

/**
 * "Line 3 (/a/../b): " for the `index`-th entry of a one-per-line text, counting the lines the
 * person sees (blank ones included, as they are left out of the input).
 */
export function linePrefix(text: string, index: number): string {
  let entry = -1;
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.trim() && ++entry === index) return `Line ${i + 1} (${rows[i]!.trim()}): `;
  }
  return `Entry ${index + 1}: `;
}

/**
 * Splits field errors into those shown at a visible field and the rest (listed in the alert).
 * With the form's state, an error of one line of a one-per-line field says which line.
 */
export function placeErrors(
  errors: Record<string, readonly string[]>,
  visible: readonly string[],
  state?: FormState,
): { byField: Record<string, string[]>; other: string[] } {
  const byField: Record<string, string[]> = {};
  const other: string[] = [];
  for (const [path, messages] of Object.entries(errors)) {
    const field = fieldForPath(path, visible);
    if (!field) {
      other.push(...messages.map((m) => (path ? `${path}: ${m}` : m)));
      continue;
    }
    const lineKey = LINE_FIELDS[field as keyof typeof LINE_FIELDS];
    const index = /^\d+$/.test(path.slice(field.length + 1)) ? Number(path.slice(field.length + 1)) : undefined;
    const prefix = state && lineKey && index !== undefined ? linePrefix(state[lineKey], index) : '';
    byField[field] = [...new Set([...(byField[field] ?? []), ...messages.map((m) => prefix + m)])];
  }
  return { byField, other };
}
