/**
 * The store: the only code that touches Workers KV. It validates what it reads back, seals every
 * secret before it is written, and writes a record version.
 *
 * KV keys (namespace binding `CONNECTIONS`):
 * | key                          | value                                           | TTL                  |
 * |------------------------------|-------------------------------------------------|----------------------|
 * | `conn:<slug>`                | connection record JSON (`v: 1`), secrets sealed | none                 |
 * | `token:<slug>:<cacheKey>`    | cached access token JSON, token sealed          | token lifetime (≥60 s) |
 * | `tokstat:<slug>`             | token statistics JSON (fetches, last error)     | none                 |
 * | `keyused:<slug>:<id>`        | ISO time a relay key was last used (approximate)| 90 days              |
 *
 * Relay keys live inside the connection record (`keys`: id, name, SHA-256 hash, createdAt), so
 * the relay needs one read per connection, and deleting a connection deletes its keys.
 *
 * A record is one KV value, so a write is whole or absent: no partial records. KV has no
 * compare-and-set; two creates of one slug in the same instant can race (last write wins).
 */
import * as v from 'valibot';
import { AppError } from '../errors';
import {
  AuthSchema,
  RelayPolicySchema,
  SECRET_FIELD,
  type AuthOutput,
  type AuthView,
  type ConnectionOutput,
  type ConnectionView,
  type RelayPolicy,
} from './schema';
import { randomId, Sealer, sha256Hex, toBase64Url } from './seal';

const CONNECTION_PREFIX = 'conn:';
const TOKEN_PREFIX = 'token:';
const TOKEN_STATS_PREFIX = 'tokstat:';
const KEY_USED_PREFIX = 'keyused:';
const KEY_USED_TTL_SECONDS = 90 * 24 * 60 * 60;
/** How often one isolate records that a relay key was used. */
const KEY_USED_WRITE_INTERVAL_MS = 60_000;
/** How long an isolate may serve a connection record to the relay without reading KV. */
export const RELAY_RECORD_CACHE_MS = 5_000;
/** Relay keys: `rk_` + 32 random bytes (256 bits), base64url. */
export const RELAY_KEY_PREFIX = 'rk_';
const RELAY_KEY_BYTES = 32;
const MAX_KEYS_PER_CONNECTION = 50;

/** Connection records read for the relay, per isolate; dropped on every write in this isolate. */
const relayRecordCache = new Map<string, { record: StoredConnection; until: number }>();
/** Last time this isolate wrote `keyused:` for a key. */
const keyUsedWrites = new Map<string, number>();

/** An access token as cached (in memory and, sealed, in KV). */
export interface CachedToken {
  accessToken: string;
  tokenType: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Epoch milliseconds when it was obtained. */
  obtainedAt: number;
  scope?: string;
}

/** Token request statistics of a connection. */
export interface TokenStats {
  fetches: number;
  lastFetchAt?: string;
  lastError?: { at: string; code: string; error?: string; errorDescription?: string; status?: number } | null;
}

const CachedTokenSchema = v.strictObject({
  accessToken: v.string(),
  tokenType: v.string(),
  expiresAt: v.number(),
  obtainedAt: v.number(),
  scope: v.optional(v.string()),
});
const RECORD_VERSION = 1;

const RelayKeyRecordSchema = v.strictObject({
  id: v.string(),
  name: v.string(),
  hash: v.string(),
  createdAt: v.string(),
});

const StoredConnectionSchema = v.strictObject({
  v: v.literal(RECORD_VERSION),
  name: v.string(),
  slug: v.string(),
  baseUrl: v.string(),
  auth: AuthSchema({ mode: 'stored', allowLoopback: true }),
  relay: v.optional(RelayPolicySchema),
  secretVersion: v.string(),
  keys: v.array(RelayKeyRecordSchema),
  createdAt: v.string(),
  updatedAt: v.string(),
});

/** A connection as stored: the secret field of `auth`, when set, holds a sealed value. */
export type StoredConnection = v.InferOutput<typeof StoredConnectionSchema>;
export type RelayKeyRecord = v.InferOutput<typeof RelayKeyRecordSchema>;

/** The additional data that binds a sealed secret to its connection and field. */
export function secretContext(slug: string, field: string): string {
  return `conn|${slug}|auth.${field}`;
}

/** The secret field name of a connection's method, if it has one. */
export function secretFieldOf(auth: { method: AuthOutput['method'] }): string | undefined {
  return SECRET_FIELD[auth.method];
}

function readSecret(auth: object, field: string): string | undefined {
  const value = (auth as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/** Connection records, relay keys and cached tokens in KV. */
export class ConnectionStore {
  constructor(
    private readonly kv: KVNamespace,
    private readonly sealer: Sealer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** All connections, ordered by slug. */
  async list(): Promise<StoredConnection[]> {
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page: KVNamespaceListResult<unknown, string> = await this.kv.list({ prefix: CONNECTION_PREFIX, cursor });
      names.push(...page.keys.map((k) => k.name));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    const records = await Promise.all(names.map((name) => this.read(name)));
    return records.filter((r): r is StoredConnection => r !== null);
  }

  /** The connection with this slug, or `null`. */
  get(slug: string): Promise<StoredConnection | null> {
    return this.read(CONNECTION_PREFIX + slug);
  }

  /** Stores a new connection; `slug-taken` when the slug is in use. */
  async create(input: ConnectionOutput): Promise<StoredConnection> {
    if (await this.kv.get(CONNECTION_PREFIX + input.slug)) {
      throw new AppError('slug-taken', {
        detail: `The slug "${input.slug}" is already used by another connection.`,
        extensions: { errors: { slug: ['This slug is already in use'] } },
      });
    }
    const at = this.now().toISOString();
    const record: StoredConnection = {
      v: RECORD_VERSION,
      name: input.name,
      slug: input.slug,
      baseUrl: input.baseUrl,
      auth: await this.sealAuth(input.slug, input.auth, undefined),
      ...(input.relay ? { relay: input.relay } : {}),
      secretVersion: randomId(),
      keys: [],
      createdAt: at,
      updatedAt: at,
    };
    await this.write(record);
    return record;
  }

  /**
   * Replaces a connection. A secret left out keeps the stored one, as long as the method stays;
   * a switch to a method whose secret is not given is a validation failure.
   */
  async replace(slug: string, input: ConnectionOutput): Promise<StoredConnection> {
    const existing = await this.require(slug);
    const field = secretFieldOf(input.auth);
    const given = field ? readSecret(input.auth, field) : undefined;
    const record: StoredConnection = {
      ...existing,
      name: input.name,
      baseUrl: input.baseUrl,
      auth: await this.sealAuth(slug, input.auth, existing.auth),
      relay: input.relay,
      secretVersion: given !== undefined || existing.auth.method !== input.auth.method ? randomId() : existing.secretVersion,
      updatedAt: this.now().toISOString(),
    };
    if (!record.relay) delete record.relay;
    await this.write(record);
    return record;
  }

  /** Removes a connection with its relay keys and cached tokens. */
  async delete(slug: string): Promise<void> {
    const record = await this.require(slug);
    relayRecordCache.delete(slug);
    await this.kv.delete(CONNECTION_PREFIX + slug);
    await Promise.all([
      this.deleteTokens(slug),
      this.kv.delete(TOKEN_STATS_PREFIX + slug),
      ...record.keys.map((k) => this.kv.delete(`${KEY_USED_PREFIX}${slug}:${k.id}`)),
    ]);
  }

  /** The connection's secret in clear text (for the token client and the relay only). */
  async openSecret(record: StoredConnection): Promise<string | undefined> {
    const field = secretFieldOf(record.auth);
    const sealed = field ? readSecret(record.auth, field) : undefined;
    if (!field || sealed === undefined) return undefined;
    return this.sealer.open(sealed, secretContext(record.slug, field));
  }

  /** Deletes every cached token of a connection. */
  async deleteTokens(slug: string): Promise<void> {
    let cursor: string | undefined;
    do {
      const page: KVNamespaceListResult<unknown, string> = await this.kv.list({ prefix: `${TOKEN_PREFIX}${slug}:`, cursor });
      await Promise.all(page.keys.map((k) => this.kv.delete(k.name)));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
  }

  /** The connection, or a `connection-not-found` error. */
  async require(slug: string): Promise<StoredConnection> {
    const record = await this.get(slug);
    if (!record) throw new AppError('connection-not-found', { detail: `There is no connection "${slug}".` });
    return record;
  }

  // ---- relay: a cached read for the hot path

  /** The connection for the relay: served from this isolate's memory for a few seconds. */
  async getForRelay(slug: string): Promise<StoredConnection | null> {
    const now = Date.now();
    const hit = relayRecordCache.get(slug);
    if (hit && hit.until > now) return hit.record;
    const record = await this.get(slug);
    if (record) relayRecordCache.set(slug, { record, until: now + RELAY_RECORD_CACHE_MS });
    else relayRecordCache.delete(slug);
    return record;
  }

  // ---- relay keys

  /** Creates a relay key; the clear key is returned once and only its hash is stored. */
  async createKey(slug: string, name: string): Promise<{ record: RelayKeyRecord; key: string }> {
    const connection = await this.require(slug);
    if (connection.keys.length >= MAX_KEYS_PER_CONNECTION) {
      throw new AppError('validation-failed', {
        detail: `A connection has at most ${MAX_KEYS_PER_CONNECTION} relay keys; revoke one first.`,
        extensions: { errors: { name: [`At most ${MAX_KEYS_PER_CONNECTION} keys per connection`] } },
      });
    }
    const key = RELAY_KEY_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(RELAY_KEY_BYTES)));
    const record: RelayKeyRecord = { id: randomId(9), name, hash: await sha256Hex(key), createdAt: this.now().toISOString() };
    await this.write({ ...connection, keys: [...connection.keys, record] });
    return { record, key };
  }

  /** The relay keys of a connection with their approximate last use. */
  async listKeys(slug: string): Promise<(RelayKeyRecord & { lastUsedAt: string | null })[]> {
    const connection = await this.require(slug);
    return Promise.all(
      connection.keys.map(async (k) => ({ ...k, lastUsedAt: await this.kv.get(`${KEY_USED_PREFIX}${slug}:${k.id}`) })),
    );
  }

  /** Revokes a relay key; `key-not-found` when there is none with this id. */
  async deleteKey(slug: string, id: string): Promise<void> {
    const connection = await this.require(slug);
    if (!connection.keys.some((k) => k.id === id)) throw new AppError('key-not-found', { detail: `There is no relay key "${id}".` });
    await this.write({ ...connection, keys: connection.keys.filter((k) => k.id !== id) });
    await this.kv.delete(`${KEY_USED_PREFIX}${slug}:${id}`);
  }

  /** Records that a key was used, at most once a minute per isolate (KV allows one write/s/key). */
  async touchKey(slug: string, id: string): Promise<void> {
    const name = `${KEY_USED_PREFIX}${slug}:${id}`;
    const now = Date.now();
    if ((keyUsedWrites.get(name) ?? 0) + KEY_USED_WRITE_INTERVAL_MS > now) return;
    keyUsedWrites.set(name, now);
    await this.kv.put(name, new Date(now).toISOString(), { expirationTtl: KEY_USED_TTL_SECONDS });
  }

  // ---- token cache

  /** A cached token from KV, opened; `null` when absent, expired or unreadable. */
  async getCachedToken(slug: string, cacheKey: string): Promise<CachedToken | null> {
    const sealed = await this.kv.get(`${TOKEN_PREFIX}${slug}:${cacheKey}`);
    if (sealed === null) return null;
    try {
      const parsed = v.safeParse(CachedTokenSchema, JSON.parse(await this.sealer.open(sealed, `token|${slug}|${cacheKey}`)));
      return parsed.success && parsed.output.expiresAt > Date.now() ? parsed.output : null;
    } catch {
      return null;
    }
  }

  /** Stores a token sealed in KV, expiring with it (KV's minimum TTL is 60 s). */
  async putCachedToken(slug: string, cacheKey: string, token: CachedToken): Promise<void> {
    const ttl = Math.max(60, Math.ceil((token.expiresAt - Date.now()) / 1000));
    const sealed = await this.sealer.seal(JSON.stringify(token), `token|${slug}|${cacheKey}`);
    await this.kv.put(`${TOKEN_PREFIX}${slug}:${cacheKey}`, sealed, { expirationTtl: ttl });
  }

  /** Token statistics of a connection. */
  async getTokenStats(slug: string): Promise<TokenStats> {
    return (await this.kv.get<TokenStats>(`${TOKEN_STATS_PREFIX}${slug}`, 'json')) ?? { fetches: 0, lastError: null };
  }

  /** Replaces the token statistics of a connection. */
  async putTokenStats(slug: string, stats: TokenStats): Promise<void> {
    await this.kv.put(`${TOKEN_STATS_PREFIX}${slug}`, JSON.stringify(stats));
  }

  private async sealAuth(slug: string, auth: AuthOutput, previous: StoredConnection['auth'] | undefined): Promise<StoredConnection['auth']> {
    const field = secretFieldOf(auth);
    if (!field) return { ...auth } as StoredConnection['auth'];
    const given = readSecret(auth, field);
    if (given !== undefined) {
      return { ...auth, [field]: await this.sealer.seal(given, secretContext(slug, field)) } as StoredConnection['auth'];
    }
    const kept = previous && previous.method === auth.method ? readSecret(previous, field) : undefined;
    if (kept === undefined) {
      throw new AppError('validation-failed', {
        detail: 'A secret is required for this authentication method.',
        extensions: { errors: { [`auth.${field}`]: ['Enter a value: nothing is stored for this method yet'] } },
      });
    }
    return { ...auth, [field]: kept } as StoredConnection['auth'];
  }

  private async read(key: string): Promise<StoredConnection | null> {
    const raw = await this.kv.get(key, 'json');
    if (raw === null) return null;
    const parsed = v.safeParse(StoredConnectionSchema, raw);
    if (!parsed.success) {
      throw new AppError('internal-error', { internal: `Stored record ${key} failed validation: ${v.summarize(parsed.issues)}` });
    }
    return parsed.output;
  }

  private async write(record: StoredConnection): Promise<void> {
    relayRecordCache.delete(record.slug);
    await this.kv.put(CONNECTION_PREFIX + record.slug, JSON.stringify(record));
  }
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
    relayUrl: `${origin}/relay/${record.slug}`,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
