/**
 * The connection contract: valibot schemas shared by the Worker and the dashboard.
 *
 * Pure module (no runtime bindings): `worker/` and `web/` both import it, and nothing else of
 * each other. The Worker validates every request
 * body and every stored record with these; the dashboard validates its form with the same ones.
 */
import * as v from 'valibot';
import { LogSettingsSchema, type LogSettings } from './activity';
import { API_KEY_PLACEMENTS, type AuthMethod, CLIENT_AUTH_METHODS, DEFAULT_CLIENT_AUTH } from './labels';

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 100;
export const URL_MAX_LENGTH = 2048;
export const SECRET_MAX_LENGTH = 4096;
export const DEFAULT_API_KEY_NAME = 'x-key';
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
export const DEFAULT_RELAY_TIMEOUT_MS = 30_000;
export const MAX_RELAY_TIMEOUT_MS = 120_000;
export const RELAY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const FORBIDDEN_TOKEN_PARAMS = ['grant_type', 'client_id', 'client_secret', 'scope'] as const;
/** An HTTP field name (RFC 9110 §5.1: a `token`). */
export const HTTP_TOKEN_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** `Host`, framing and hop-by-hop headers (RFC 9110 §7.6.1): the runtime sets or drops them, so no stored setting may. */
export const FRAMING_HEADERS = ['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade'] as const;

/**
 * Header names an API key may not be sent in: framing and hop-by-hop headers, `Host`, and
 * `Cookie` (the runtime or the relay sets or drops them). `Authorization` is allowed: some APIs
 * want `Authorization: ApiKey …`.
 */
export const FORBIDDEN_CREDENTIAL_HEADERS = [...FRAMING_HEADERS, 'expect', 'cookie'] as const;
/** A header value an API key may take: visible ASCII and inner spaces or tabs, no line breaks. */
const HEADER_VALUE_PATTERN = /^[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?$/;

/** True when an API key may not be sent in a header of this name (see `FORBIDDEN_CREDENTIAL_HEADERS`). */
export function isForbiddenCredentialHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return (FORBIDDEN_CREDENTIAL_HEADERS as readonly string[]).includes(lower) || lower.startsWith('proxy-');
}

export {
  API_KEY_PLACEMENT_LABELS,
  API_KEY_PLACEMENTS,
  type ApiKeyPlacement,
  AUTH_METHOD_LABELS,
  AUTH_METHODS,
  type AuthMethod,
  CLIENT_AUTH_LABELS,
  CLIENT_AUTH_METHODS,
  type ClientAuthMethod,
  DEFAULT_CLIENT_AUTH,
} from './labels';

/** The write-only field of each method, if it has one. */
export const SECRET_FIELD = {
  none: undefined,
  bearer: 'token',
  basic: 'password',
  api_key: 'value',
  oauth2_client_credentials: 'clientSecret',
} as const satisfies Record<AuthMethod, string | undefined>;

export type SecretField = NonNullable<(typeof SECRET_FIELD)[AuthMethod]>;

export interface SchemaOptions {
  /**
   * `create` requires secrets; `replace` lets them be left out (the stored ones are kept);
   * `stored` reads back a record whose secrets are sealed strings.
   */
  mode: 'create' | 'replace' | 'stored';
  /** Allows `http:` and IP literals for loopback hosts (the `INSECURE_ALLOW_LOOPBACK` var). */
  allowLoopback: boolean;
}

/**
 * A host name in the one form every judgement of it uses: lower case, percent escapes decoded,
 * trailing dots removed. The URL parser has already applied IDNA (UTS #46 mapping, punycode),
 * lowercased and percent-decoded the host and normalised IPv4 in any notation (`0x7f.1`,
 * `2130706433`, `0177.0.0.1`) to dotted decimal and IPv6 to its compressed form; this repeats the
 * cheap parts so that a host taken from anywhere else is judged the same.
 */
export function canonicalHost(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.includes('%')) {
    try {
      host = decodeURIComponent(host).toLowerCase();
    } catch {
      // Not valid UTF-8 escapes: judged as written (the URL parser refuses such hosts anyway).
    }
  }
  return host.replace(/\.+$/, '');
}

/** IPv6 literals (as the URL parser writes them) that reach this machine: `::1`, `::`, and IPv4-mapped or -compatible `127/8` and `0/8`. */
const LOOPBACK_IPV6 = /^\[(?:::1?|::(?:ffff:)?(?:7f[0-9a-f]{2}|[0-9a-f]{1,2}):[0-9a-f]{1,4})\]$/;

/**
 * True for a host that names this machine, judged in canonical form (see `canonicalHost`):
 * `localhost` and `*.localhost` (RFC 6761 §6.3), `127.0.0.0/8`, `0.0.0.0/8` (reaches the local
 * host on common systems), and the IPv6 forms of those (`[::1]`, `[::]`, `[::ffff:127.0.0.1]`).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = canonicalHost(hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (/^(?:127|0)(?:\.\d{1,3}){3}$/.test(host)) return true;
  return host.startsWith('[') && LOOPBACK_IPV6.test(host);
}

/** True for an IPv4 or IPv6 literal (in canonical form, see `canonicalHost`). */
function isIpLiteral(hostname: string): boolean {
  const host = canonicalHost(hostname);
  return host.startsWith('[') || /^[\d.]+$/.test(host);
}

/** How a loopback refusal tells the operator what to do. */
export const LOOPBACK_REFUSAL =
  'Loopback hosts (localhost, 127.0.0.1, [::1], in any spelling) are refused here: use the API\'s public host name, or for local development set INSECURE_ALLOW_LOOPBACK=true (in .dev.vars) and restart';

/**
 * Why a URL is not acceptable as a Base URL or Token URL, or `undefined` when it is.
 * Rules: absolute, `https:`, no user info, no fragment; `http:` or an IP literal only for a
 * loopback host and only with `allowLoopback`. The host is judged in canonical form
 * (`canonicalHost`), so `LocalHost.`, `localhost%2e` or `0x7f.1` are loopback like `localhost`.
 */
export function urlProblem(value: string, options: { allowLoopback: boolean; allowQuery: boolean }): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Enter an absolute URL, e.g. https://api.example.com/v1';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'Only https:// URLs are allowed';
  if (url.username || url.password) return 'The URL may not contain a user name or password';
  if (value.includes('#')) return 'The URL may not contain a fragment (#…)';
  if (!options.allowQuery && value.includes('?')) return 'The URL may not contain a query string';
  const loopback = isLoopbackHost(url.hostname);
  if (loopback) {
    if (!options.allowLoopback) return LOOPBACK_REFUSAL;
    return undefined;
  }
  if (url.protocol !== 'https:') return 'Only https:// URLs are allowed (plain http:// only to a loopback host with INSECURE_ALLOW_LOOPBACK=true)';
  if (isIpLiteral(url.hostname)) return 'Use a host name, not an IP address (IP literals are allowed only for loopback with INSECURE_ALLOW_LOOPBACK=true)';
  return undefined;
}

const trimmed = (label: string, max: number) =>
  v.pipe(
    v.string(`${label} must be text`),
    v.trim(),
    v.nonEmpty(`${label} is required`),
    v.maxLength(max, `${label} must be at most ${max} characters`),
  );

const optionalText = (label: string, max: number) =>
  v.optional(v.pipe(v.string(`${label} must be text`), v.trim(), v.maxLength(max, `${label} must be at most ${max} characters`)));

const urlField = (label: string, options: { allowLoopback: boolean; allowQuery: boolean }) =>
  v.pipe(
    trimmed(label, URL_MAX_LENGTH),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = urlProblem(dataset.value, options);
      if (problem) addIssue({ message: problem });
    }),
  );

/** A secret: required on create, optional on replace (left out keeps the stored value). */
const secretField = (label: string, mode: SchemaOptions['mode']) => {
  const secret = v.pipe(
    v.string(`${label} must be text`),
    v.nonEmpty(`${label} is required`),
    v.maxLength(SECRET_MAX_LENGTH, `${label} must be at most ${SECRET_MAX_LENGTH} characters`),
  );
  if (mode === 'stored') return v.optional(v.pipe(v.string(), v.maxLength(4 * SECRET_MAX_LENGTH)));
  return mode === 'create' ? secret : v.optional(secret);
};

/**
 * Names a token parameter may not take: those the connector sets itself, and the prototype names
 * that a schema for records skips silently (an object key `__proto__`, `constructor` or
 * `prototype` would otherwise vanish from the saved connection without a word).
 */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'prototype'] as const;

const TokenParamsSchema = v.pipe(
  v.unknown(),
  v.rawCheck(({ dataset, addIssue }) => {
    const input = dataset.value;
    if (typeof input !== 'object' || input === null) return;
    for (const key of PROTOTYPE_NAMES) {
      if (!Object.prototype.hasOwnProperty.call(input, key)) continue;
      addIssue({
        message: `"${key}" cannot be a token parameter name (it is reserved in JavaScript objects); rename or remove it`,
        path: [{ type: 'object', origin: 'key', input: input as Record<string, unknown>, key, value: (input as Record<string, unknown>)[key] }],
      });
    }
  }),
  v.record(
    v.pipe(
      v.string(),
      v.regex(/^[A-Za-z0-9_.~-]{1,64}$/, 'Parameter names are 1 to 64 letters, digits or _ . ~ -'),
      v.check(
        (name) => !(FORBIDDEN_TOKEN_PARAMS as readonly string[]).includes(name) && !name.startsWith('client_assertion'),
        'This parameter is set by the connector itself and cannot be overridden: remove it',
      ),
    ),
    v.pipe(v.string('Parameter values must be text'), v.maxLength(1000, 'Parameter values are at most 1000 characters')),
  ),
  v.check((params) => Object.keys(params).length <= 20, 'At most 20 extra token parameters'),
);

/** C0 control characters and DEL: never in a user-id or password (RFC 7617 §2). */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** The `auth` member: a variant keyed by `method`. */
export function AuthSchema(options: SchemaOptions) {
  const variant = authVariant(options);
  if (options.mode === 'stored') return variant;
  // An API key sent in a header must be a valid header value (no line breaks, nothing the runtime
  // would refuse or trim). Only on input: a stored record stays readable whatever the rules were.
  return v.pipe(
    variant,
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const auth = dataset.value as Record<string, unknown> & { method: AuthMethod };
      const flag = (key: string, message: string) =>
        addIssue({ message, path: [{ type: 'object', origin: 'value', input: auth, key, value: auth[key] }] });
      const headerValue = (key: string, what: string) => {
        const value = auth[key];
        if (typeof value === 'string' && !HEADER_VALUE_PATTERN.test(value)) {
          flag(key, `${what} is sent in an HTTP header: it may hold visible ASCII characters and inner spaces only (no line breaks, control characters, leading or trailing spaces, or non-ASCII letters). Paste it again without them`);
        }
      };
      switch (auth.method) {
        case 'bearer':
          headerValue('token', 'The token');
          break;
        case 'basic':
          for (const [key, what] of [['username', 'The username'], ['password', 'The password']] as const) {
            const value = auth[key];
            if (typeof value === 'string' && CONTROL_CHARACTER.test(value)) {
              flag(key, `${what} may not contain line breaks or other control characters (RFC 7617); remove them`);
            }
          }
          break;
        case 'api_key':
          if (auth.in !== 'header') break;
          if (typeof auth.name === 'string' && isForbiddenCredentialHeader(auth.name)) {
            flag('name', 'This header is set by the connector or the runtime; choose another name (e.g. x-api-key), or send the key in the query');
          }
          headerValue('value', 'An API key sent in a header');
          break;
      }
    }),
  );
}

function authVariant(options: SchemaOptions) {
  const { mode } = options;
  return v.variant(
    'method',
    [
      v.strictObject({ method: v.literal('none') }),
      v.strictObject({ method: v.literal('bearer'), token: secretField('Token', mode) }),
      v.strictObject({
        method: v.literal('basic'),
        username: v.pipe(v.string('Username must be text'), v.maxLength(256, 'Username must be at most 256 characters'), v.check((s) => !s.includes(':'), 'Username may not contain ":"')),
        password: secretField('Password', mode),
      }),
      v.strictObject({
        method: v.literal('api_key'),
        name: v.optional(
          v.pipe(
            v.string('Parameter name must be text'),
            v.trim(),
            v.regex(HTTP_TOKEN_PATTERN, 'Use letters, digits and - _ . only (a valid header or query name)'),
            v.maxLength(128, 'Parameter name must be at most 128 characters'),
          ),
          DEFAULT_API_KEY_NAME,
        ),
        value: secretField('API key', mode),
        in: v.optional(v.picklist(API_KEY_PLACEMENTS, 'Send the key in a header or in the query'), API_KEY_PLACEMENTS[0]),
      }),
      v.strictObject({
        method: v.literal('oauth2_client_credentials'),
        clientId: trimmed('Client ID', 512),
        clientSecret: secretField('Client Secret', mode),
        tokenUrl: urlField('Token URL', { allowLoopback: options.allowLoopback, allowQuery: true }),
        scope: optionalText('Scope', 1000),
        clientAuth: v.optional(v.picklist(CLIENT_AUTH_METHODS, `Choose ${CLIENT_AUTH_METHODS.join(' or ')}`), DEFAULT_CLIENT_AUTH),
        tokenParams: v.optional(TokenParamsSchema),
        tokenLifetimeSeconds: v.optional(
          v.pipe(v.number('Must be a number'), v.integer('Must be a whole number'), v.minValue(60, 'At least 60 seconds'), v.maxValue(86_400, 'At most 86400 seconds')),
        ),
      }),
    ],
    'Choose an authentication method',
  );
}

/** Who may call the relay of a connection, and how long it waits. */
export const RelayPolicySchema = v.strictObject({
  allowedMethods: v.optional(v.pipe(v.array(v.picklist(RELAY_METHODS, (issue) => `"${String(issue.input)}" is not one of ${RELAY_METHODS.join(', ')}`)), v.maxLength(RELAY_METHODS.length))),
  allowedPaths: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.string(),
          v.regex(
            /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/,
            (issue) => `"${String(issue.input)}": a path prefix starts with / and holds URL path characters only (percent-encode others), e.g. /orders`,
          ),
          v.check((p) => !/(^|\/)\.\.?(\/|$)/.test(p), (issue) => `"${String(issue.input)}": a path prefix may not contain . or .. segments; write the path it means`),
          v.maxLength(512, 'A path prefix is at most 512 characters'),
        ),
      ),
      v.maxLength(50, 'At most 50 path prefixes'),
    ),
  ),
  allowedOrigins: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.string(),
          v.check((o) => {
            try {
              const u = new URL(o);
              return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
            } catch {
              return false;
            }
          }, (issue) => `"${String(issue.input)}": an origin is a scheme, host and optional port only, e.g. https://shop.example (no path, no trailing slash)`),
        ),
      ),
      v.maxLength(50, 'At most 50 origins'),
    ),
  ),
  timeoutMs: v.optional(
    v.pipe(v.number('Must be a number'), v.integer('Must be a whole number'), v.minValue(1000, 'At least 1000 ms'), v.maxValue(MAX_RELAY_TIMEOUT_MS, `At most ${MAX_RELAY_TIMEOUT_MS} ms`)),
  ),
});

/** The body of `POST /api/connections` (mode `create`) and `PUT /api/connections/<slug>` (mode `replace`). */
export function ConnectionInputSchema(options: SchemaOptions) {
  return v.strictObject({
    name: trimmed('API Name', NAME_MAX_LENGTH),
    slug: v.pipe(
      v.string('Slug must be text'),
      v.nonEmpty('Slug is required'),
      v.regex(SLUG_PATTERN, 'Use 1 to 64 lowercase letters, digits and hyphens, not starting or ending with a hyphen'),
    ),
    baseUrl: urlField('Base URL', { allowLoopback: options.allowLoopback, allowQuery: false }),
    auth: AuthSchema(options),
    relay: v.optional(RelayPolicySchema),
    log: v.optional(LogSettingsSchema),
  });
}

export type ConnectionInput = v.InferInput<ReturnType<typeof ConnectionInputSchema>>;
export type ConnectionOutput = v.InferOutput<ReturnType<typeof ConnectionInputSchema>>;
export type AuthOutput = ConnectionOutput['auth'];
export type RelayPolicy = v.InferOutput<typeof RelayPolicySchema>;

/**
 * Field path (e.g. `auth.clientId`) to messages, from valibot issues; `''` for the root.
 * A prototype-less object, so that a path named `__proto__` is kept as a plain entry.
 */
export function fieldErrors(issues: readonly v.BaseIssue<unknown>[]): Record<string, string[]> {
  const errors: Record<string, string[]> = Object.create(null);
  for (const issue of issues) {
    const path = v.getDotPath(issue) ?? '';
    (errors[path] ??= []).push(issue.message);
  }
  return errors;
}

/** Longest relay key name. */
export const KEY_NAME_MAX_LENGTH = 100;

/** Body of `POST /api/connections/<slug>/keys`. */
export const RelayKeyInputSchema = v.strictObject({
  name: v.pipe(
    v.string('Name must be text'),
    v.trim(),
    v.nonEmpty('Name is required'),
    v.maxLength(KEY_NAME_MAX_LENGTH, `Name must be at most ${KEY_NAME_MAX_LENGTH} characters`),
  ),
});

/** Suggests a slug from an API name: lowercase ASCII, hyphens, at most 64 characters. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/g, '');
}

// ---- Views: what the API answers. Secret values never appear; `<field>Set` tells whether one is stored.

type WithoutSecrets<T> = T extends { method: infer M }
  ? M extends AuthMethod
    ? SECRET_FIELD_OF<M> extends string
      ? Omit<T, SECRET_FIELD_OF<M>> & { [K in `${SECRET_FIELD_OF<M>}Set`]: boolean }
      : T
    : never
  : never;
type SECRET_FIELD_OF<M extends AuthMethod> = (typeof SECRET_FIELD)[M];

export type AuthView = WithoutSecrets<AuthOutput>;

export interface ConnectionView {
  name: string;
  slug: string;
  baseUrl: string;
  auth: AuthView;
  relay?: RelayPolicy;
  log?: LogSettings;
  relayUrl: string;
  /** Raised by every change; also the `ETag` (`"<version>"`) that `If-Match` compares. */
  version: number;
  createdAt: string;
  updatedAt: string;
}
