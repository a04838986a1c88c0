/**
 * Connection records: the stored shape (secrets sealed), the rules of sealing them, and the views
 * the API answers (View, Summary). Pure functions over a `Sealer`; the connection's home is the
 * only code that writes records, and it and the read path both validate what they read back.
 *
 * A sealed secret is bound (AES-GCM additional data) to the record's id, its field and the origin
 * it may be sent to (the Token URL's for OAuth client secrets, the Base URL's for the others): a
 * record edited in storage to point elsewhere, or a ciphertext copied into another record, does not
 * open.
 */
import * as v from 'valibot';
import { LogSettingsSchema } from '../../contract/activity';
import type { ConnectionSummary } from '../../contract/answers';
import {
  AuthSchema,
  RelayPolicySchema,
  SECRET_FIELD,
  type AuthOutput,
  type AuthView,
  type ConnectionOutput,
  type ConnectionView,
  type RelayPolicy,
  type SecretField,
} from '../../contract/connection';
import { originOf } from '../../contract/rules';
import { AppError } from '../errors';
import type { Sealer } from './seal';

/** Version of the stored record format (2 was the KV-only format, see `legacy.ts`). */
export const RECORD_FORMAT = 3;

const StoredAuthSchema = AuthSchema({ mode: 'stored', allowLoopback: true });

export const StoredConnectionSchema = v.strictObject({
  v: v.literal(RECORD_FORMAT),
  id: v.pipe(v.string(), v.minLength(8), v.maxLength(64)),
  version: v.pipe(v.number(), v.integer(), v.minValue(1)),
  name: v.string(),
  slug: v.string(),
  baseUrl: v.string(),
  auth: StoredAuthSchema,
  relay: v.optional(RelayPolicySchema),
  log: v.optional(LogSettingsSchema),
  secretVersion: v.string(),
  createdAt: v.string(),
  updatedAt: v.string(),
});

/** A connection as stored: the secret field of `auth`, when set, holds a sealed value. */
export type StoredConnection = v.InferOutput<typeof StoredConnectionSchema>;
export type StoredAuth = StoredConnection['auth'];

/** The secret field name of a method, if it has one. */
export function secretFieldOf(auth: { method: AuthOutput['method'] }): SecretField | undefined {
  return SECRET_FIELD[auth.method];
}

/** The string value of `field` in `auth`, if it has one. */
export function readSecret(auth: object, field: string): string | undefined {
  const value = (auth as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/** Where a connection's secret is sent: the Token URL's origin for OAuth, else the Base URL's. */
export function secretDestination(connection: { baseUrl: string; auth: { method: string; tokenUrl?: string } }): string {
  const url = connection.auth.method === 'oauth2_client_credentials' ? connection.auth.tokenUrl ?? '' : connection.baseUrl;
  return originOf(url) ?? 'null';
}

/** The additional data that binds a sealed secret to its record, field and destination. */
export function secretContext(id: string, field: string, destination: string): string {
  return `conn|${id}|auth.${field}|${destination}`;
}

export const SECRET_LABEL: Record<SecretField, string> = {
  token: 'Token',
  password: 'Password',
  value: 'API key',
  clientSecret: 'Client Secret',
};

/** The dotted paths of failed valibot issues: never the values, which may be secrets. */
export function issuePaths(issues: readonly v.BaseIssue<unknown>[]): string {
  return [...new Set(issues.map((issue) => v.getDotPath(issue) ?? '(root)'))].join(', ');
}

/** A stored record read back, validated; throws an internal error naming only the failing paths. */
export function parseStored(raw: unknown, where: string): StoredConnection {
  const parsed = v.safeParse(StoredConnectionSchema, raw);
  if (parsed.success) return parsed.output;
  throw new AppError('internal-error', { internal: `stored record ${where} failed validation at ${issuePaths(parsed.issues)}` });
}

/**
 * The auth of `input` with its secret sealed for record `id`, or `undefined` when the input leaves
 * the secret out (the caller keeps the stored one, see `keepSecret`).
 */
export async function sealGivenSecret(
  sealer: Sealer,
  id: string,
  input: Pick<ConnectionOutput, 'baseUrl' | 'auth'>,
): Promise<StoredAuth | undefined> {
  const field = secretFieldOf(input.auth);
  if (!field) return { ...input.auth } as StoredAuth;
  const given = readSecret(input.auth, field);
  if (given === undefined) return undefined;
  const sealed = await sealer.seal(given, secretContext(id, field, secretDestination(input)));
  return { ...input.auth, [field]: sealed } as StoredAuth;
}

/**
 * The auth of `input` keeping the secret sealed in `stored` (same method, same destination: the
 * re-entry rule has been checked), or a `validation-failed` error when there is none to keep.
 */
export function keepSecret(input: Pick<ConnectionOutput, 'auth'>, stored: StoredConnection | null): StoredAuth {
  const field = secretFieldOf(input.auth);
  const kept = field && stored && stored.auth.method === input.auth.method ? readSecret(stored.auth, field) : undefined;
  if (!field || kept === undefined) {
    throw new AppError('validation-failed', {
      detail: 'A secret is required for this authentication method.',
      extensions: { errors: { [`auth.${field ?? 'method'}`]: ['Enter a value: nothing is stored for this method yet'] } },
    });
  }
  return { ...input.auth, [field]: kept } as StoredAuth;
}

/** The connection's secret in clear text (for the token engine and the relay only). */
export async function openSecret(sealer: Sealer, record: StoredConnection): Promise<string | undefined> {
  const field = secretFieldOf(record.auth);
  const sealed = field ? readSecret(record.auth, field) : undefined;
  if (!field || sealed === undefined) return undefined;
  return sealer.open(sealed, secretContext(record.id, field, secretDestination(record)));
}

/** The API's view of a stored connection: no secret values, `<field>Set` flags instead. */
export function toView(record: StoredConnection, origin: string): ConnectionView {
  const field = secretFieldOf(record.auth);
  const auth: Record<string, unknown> = { ...record.auth };
  if (field) {
    auth[`${field}Set`] = readSecret(record.auth, field) !== undefined;
    delete auth[field];
  }
  return {
    name: record.name,
    slug: record.slug,
    baseUrl: record.baseUrl,
    auth: auth as AuthView,
    ...(record.relay ? { relay: record.relay as RelayPolicy } : {}),
    ...(record.log ? { log: record.log } : {}),
    relayUrl: `${origin}/relay/${record.slug}`,
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** Longest API name kept in a Summary (KV list metadata holds at most 1,024 bytes). */
const SUMMARY_NAME_MAX = 100;
const SUMMARY_ORIGIN_MAX = 200;

/** The bounded Summary of a connection, as the listing shows it (fits KV list metadata). */
export function toSummary(record: StoredConnection): Omit<ConnectionSummary, 'slug'> {
  return {
    name: record.name.slice(0, SUMMARY_NAME_MAX),
    method: record.auth.method,
    baseOrigin: (originOf(record.baseUrl) ?? '').slice(0, SUMMARY_ORIGIN_MAX),
    updatedAt: record.updatedAt,
    version: record.version,
  };
}
