/**
 * The connection's credential as the forward step applies it: a header, a query parameter, an
 * OAuth access token from the token provider, or nothing.
 *
 * Static secrets are opened (AES-GCM) once per isolate and kept in memory, keyed by the record's
 * id and `secretVersion`, so the hot path does no decryption; a changed secret gets a new
 * version and so a new entry.
 */
import { isForbiddenCredentialHeader } from '../../contract/connection';
import type { StoredConnection } from '../connections/records';
import { AppError } from '../errors';
import type { TokenProvider } from '../oauth/token-door';
import { encodedPattern, holdsSecret, REDACTED } from '../redact';

/** A source of access tokens for one connection, with the ability to drop a refused one. */
export interface TokenSource {
  get(): Promise<{ accessToken: string; fromCache: boolean }>;
  /** The token held in this isolate's memory when it needs no refresh, at once (no promise); else `undefined`. */
  cached(): { accessToken: string; fromCache: boolean } | undefined;
  invalidate(accessToken: string): Promise<void>;
}

/** What the forward step sets on the upstream request, last. */
export type Credential =
  | { type: 'none' }
  | { type: 'header'; name: string; value: string }
  | { type: 'query'; name: string; value: string }
  | { type: 'token'; tokens: TokenSource };

/** Opened static secrets by `<connection id>\n<secretVersion>`. */
const openedSecrets = new Map<string, Promise<string | undefined>>();
/** The same, once opened: read at once, with no promise (the hot path). */
const openSecrets = new Map<string, string>();
/** Bound on `openedSecrets`; past it the map starts over (records are few, this only caps memory). */
const OPENED_SECRETS_MAX = 1000;

/** What `credentialFor` needs from outside. */
export interface CredentialDeps {
  /** Opens the record's sealed secret (the store's `openSecret`). */
  openSecret(record: StoredConnection): Promise<string | undefined>;
  /** The token provider, created only for OAuth connections. */
  tokenProvider(): Pick<TokenProvider, 'getAccessToken' | 'invalidate' | 'cachedAccessToken'>;
}

async function openedSecret(record: StoredConnection, deps: CredentialDeps): Promise<string> {
  const key = `${record.id}\n${record.secretVersion}`;
  let opened = openedSecrets.get(key);
  if (!opened) {
    if (openedSecrets.size >= OPENED_SECRETS_MAX) openedSecrets.clear();
    opened = deps.openSecret(record);
    openedSecrets.set(key, opened);
  }
  let secret: string | undefined;
  try {
    secret = await opened;
  } catch (err) {
    openedSecrets.delete(key);
    throw new AppError('internal-error', { detail: 'An unexpected error occurred.', internal: `could not open the secret of ${record.slug}: ${err instanceof Error ? err.name : 'error'}` });
  }
  if (secret === undefined) {
    openedSecrets.delete(key);
    throw new AppError('misconfigured', { detail: 'This connection has no stored secret for its authentication method.' });
  }
  if (openSecrets.size >= OPENED_SECRETS_MAX) openSecrets.clear();
  if (openedSecrets.get(key) === opened) openSecrets.set(key, secret);
  return secret;
}

/** The record's secret: at once when this isolate opened it before, else once it is opened. */
function cachedSecret(record: StoredConnection, deps: CredentialDeps): string | Promise<string> {
  return openSecrets.get(`${record.id}\n${record.secretVersion}`) ?? openedSecret(record, deps);
}

/** `build(secret)`, at once when the secret is open in this isolate. */
function withSecret(record: StoredConnection, deps: CredentialDeps, build: (secret: string) => Credential): Credential | Promise<Credential> {
  const secret = cachedSecret(record, deps);
  return typeof secret === 'string' ? build(secret) : secret.then(build);
}

/** Base64 of the UTF-8 bytes of `text`. */
const NO_CREDENTIAL: Credential = { type: 'none' };

function base64Utf8(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The credential of a connection, ready to apply. */
export function credentialFor(record: StoredConnection, deps: CredentialDeps): Credential | Promise<Credential> {
  const auth = record.auth;
  switch (auth.method) {
    case 'none':
      return NO_CREDENTIAL;
    case 'bearer':
      return withSecret(record, deps, (secret) => ({ type: 'header', name: 'Authorization', value: `Bearer ${secret}` }));
    case 'basic':
      // RFC 7617 §2.1: charset UTF-8.
      return withSecret(record, deps, (secret) => ({ type: 'header', name: 'Authorization', value: `Basic ${base64Utf8(`${auth.username}:${secret}`)}` }));
    case 'api_key': {
      // Checked at save; a record stored before that rule must not set framing or Host either.
      if (auth.in === 'header' && isForbiddenCredentialHeader(auth.name)) {
        throw new AppError('misconfigured', { detail: 'The API key of this connection is set to a header the relay cannot send.' });
      }
      return withSecret(record, deps, (value) => (auth.in === 'query' ? { type: 'query', name: auth.name, value } : { type: 'header', name: auth.name, value }));
    }
    case 'oauth2_client_credentials': {
      const provider = deps.tokenProvider();
      return {
        type: 'token',
        tokens: {
          get: () => provider.getAccessToken(record),
          cached: () => provider.cachedAccessToken?.(record),
          invalidate: (accessToken) => provider.invalidate(record, accessToken),
        },
      };
    }
  }
}

/**
 * `url` with the query parameter `name` set to `value`: the caller's parameters keep their exact
 * encoding, any of the same name are removed, and the new pair is form-encoded and appended.
 */
export function withQueryParameter(url: string, name: string, value: string): string {
  const question = url.indexOf('?');
  const base = question === -1 ? url : url.slice(0, question);
  const query = question === -1 ? '' : url.slice(question + 1);
  const pairs = query === '' ? [] : query.split('&');
  const kept = pairs.filter((pair) => pair === '' || new URLSearchParams(pair).keys().next().value !== name);
  kept.push(new URLSearchParams([[name, value]]).toString());
  return `${base}?${kept.join('&')}`;
}

/** `url` without any query parameter named `name` (form-decoded); everything else byte for byte. */
function withoutQueryParameter(url: string, name: string): string {
  const hash = url.indexOf('#');
  const beforeHash = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : url.slice(hash);
  const question = beforeHash.indexOf('?');
  if (question === -1) return url;
  const kept = beforeHash
    .slice(question + 1)
    .split('&')
    .filter((pair) => pair !== '' && new URLSearchParams(pair).keys().next().value !== name);
  return `${beforeHash.slice(0, question)}${kept.length > 0 ? `?${kept.join('&')}` : ''}${fragment}`;
}

/** Response headers that hold one URL, from which the parameter is cut cleanly before any redaction. */
const SINGLE_URL_HEADERS = new Set(['location', 'content-location']);

/**
 * What must change in the caller's answer headers so that a query credential does not reach the
 * caller, whatever the headers' names (an upstream may echo the request URL in any header:
 * `X-Request-Url`, a debug header, a `Link`): `[name, new value]`, or `[name, null]` to drop it;
 * `undefined` when nothing holds it. The parameter is cut from `Location` and `Content-Location`;
 * in every other value the key (as it is, percent- or form-encoded) is replaced by `[redacted]`; a
 * value that still holds it (a double encoding) is dropped whole.
 */
export function queryCredentialChanges(headers: Headers, credential: { name: string; value: string }): [string, string | null][] | undefined {
  let changes: [string, string | null][] | undefined;
  let pattern: RegExp | undefined;
  for (const [name, value] of headers) {
    const cut = SINGLE_URL_HEADERS.has(name) ? withoutQueryParameter(value, credential.name) : value;
    let next: string | null = cut;
    if (holdsSecret(cut, credential.value)) {
      pattern ??= new RegExp(encodedPattern(credential.value), 'g');
      const redacted = cut.replace(pattern, REDACTED);
      next = holdsSecret(redacted, credential.value) ? null : redacted;
    }
    if (next !== value) (changes ??= []).push([name, next]);
  }
  return changes;
}
