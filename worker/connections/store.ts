/**
 * The store: the only code that touches Workers KV. It validates what it reads back, seals every
 * secret before it is written, and writes a record version.
 *
 * KV keys (namespace binding `CONNECTIONS`):
 * | key                          | value                                                   | TTL                    |
 * |------------------------------|---------------------------------------------------------|------------------------|
 * | `conn:<slug>`                | connection record JSON (`v: 2`), secrets sealed         | none                   |
 * | `rkey:<slug>:<id>`           | relay key JSON {id, name, hash, createdAt, connectionId}, the same as metadata | none |
 * | `keyused:<slug>:<id>`        | ISO time a relay key was last used (approximate)        | 90 days                |
 * | `token:<slug>:<cacheKey>`    | cached access token JSON, token sealed                  | token lifetime (≥60 s) |
 * | `tokstat:<slug>`             | token statistics JSON (fetches, last error)             | none                   |
 * | `session:<sha256(id)>`       | admin session JSON {expiresAt}                          | session lifetime (12 h) |
 *
 * In this isolate's memory (not KV): the relay's view of a connection (record and relay keys) for
 * `RELAY_RECORD_CACHE_MS`, and the same for a slug that does not exist, so that callers without a
 * valid key cannot make every request cost KV reads. A write in this isolate drops the entry.
 *
 * Relay keys are entries of their own, written and deleted one by one, so concurrent key creations
 * and revocations never overwrite each other and an edit of the connection never writes keys. Each
 * names the `connectionId` of the record it belongs to (a random id made at creation): a key left
 * behind by a deleted connection never opens a new connection of the same slug. The relay reads
 * a connection's keys with one `list()` (metadata carries everything).
 *
 * A record is one KV value, so a write is whole or absent: no partial records. KV has no
 * compare-and-set and is eventually consistent across locations (up to 60 s): two creates of one
 * slug in the same instant can race (last write wins), and a key revoked here can still be
 * accepted elsewhere until that location's KV cache expires.
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
  type SecretField,
} from '../../contract/connection';
import { secretReentryReasons } from '../../contract/rules';
import { randomId, Sealer, sha256Hex, toBase64Url } from './seal';

const CONNECTION_PREFIX = 'conn:';
const RELAY_KEY_ENTRY_PREFIX = 'rkey:';
const TOKEN_PREFIX = 'token:';
const TOKEN_STATS_PREFIX = 'tokstat:';
const KEY_USED_PREFIX = 'keyused:';
const SESSION_PREFIX = 'session:';
const KEY_USED_TTL_SECONDS = 90 * 24 * 60 * 60;
/** How often one isolate records that a relay key was used. */
const KEY_USED_WRITE_INTERVAL_MS = 60_000;
/** How long an isolate may serve a connection (or its absence) to the relay without reading KV. */
export const RELAY_RECORD_CACHE_MS = 5_000;
/** Bound on the relay cache: past it the oldest entries go (slugs that callers make up must not grow memory). */
const RELAY_CACHE_MAX_ENTRIES = 10_000;
/** Relay keys: `rk_` + 32 random bytes (256 bits), base64url. */
export const RELAY_KEY_PREFIX = 'rk_';
const RELAY_KEY_BYTES = 32;
const MAX_KEYS_PER_CONNECTION = 50;
/** What a relay key id may look like (checked before it becomes part of a KV key). */
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** What the relay needs of a connection: its record and its relay keys. */
export interface RelayEntry {
  record: StoredConnection;
  keys: RelayKeyRecord[];
}

/** The relay's view of connections, per isolate; `entry: null` remembers a slug that does not exist. */
const relayCache = new Map<string, { entry: RelayEntry | null; until: number }>();
/** Last time this isolate wrote `keyused:` for a key. */
const keyUsedWrites = new Map<string, number>();
/** Last time part of a key id made in this isolate (ids stay ordered within a millisecond). */
let lastKeyIdTime = 0;

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

// Loose objects: fields the token engine may add later are kept; the known ones are checked.
const TokenStatsSchema = v.looseObject({
  fetches: v.pipe(v.number(), v.integer(), v.minValue(0)),
  lastFetchAt: v.optional(v.string()),
  lastError: v.optional(
    v.nullable(
      v.looseObject({
        at: v.string(),
        code: v.string(),
        error: v.optional(v.string()),
        errorDescription: v.optional(v.string()),
        status: v.optional(v.number()),
      }),
    ),
  ),
});

const RECORD_VERSION = 2;

const RelayKeyRecordSchema = v.strictObject({
  id: v.pipe(v.string(), v.regex(KEY_ID_PATTERN)),
  name: v.string(),
  hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  createdAt: v.string(),
});

const RelayKeyEntrySchema = v.strictObject({
  ...RelayKeyRecordSchema.entries,
  connectionId: v.string(),
});

const StoredAuthSchema = AuthSchema({ mode: 'stored', allowLoopback: true });

const StoredConnectionSchema = v.strictObject({
  v: v.literal(RECORD_VERSION),
  id: v.string(),
  name: v.string(),
  slug: v.string(),
  baseUrl: v.string(),
  auth: StoredAuthSchema,
  relay: v.optional(RelayPolicySchema),
  secretVersion: v.string(),
  createdAt: v.string(),
  updatedAt: v.string(),
});

/** A connection as stored: the secret field of `auth`, when set, holds a sealed value. */
export type StoredConnection = v.InferOutput<typeof StoredConnectionSchema>;
export type RelayKeyRecord = v.InferOutput<typeof RelayKeyRecordSchema>;
type RelayKeyEntry = v.InferOutput<typeof RelayKeyEntrySchema>;

/** The additional data that binds a sealed secret to its connection and field. */
function secretContext(slug: string, field: string): string {
  return `conn|${slug}|auth.${field}`;
}

/** The secret field name of a connection's method, if it has one. */
function secretFieldOf(auth: { method: AuthOutput['method'] }): SecretField | undefined {
  return SECRET_FIELD[auth.method];
}

const SECRET_LABEL: Record<SecretField, string> = {
  token: 'Token',
  password: 'Password',
  value: 'API key',
  clientSecret: 'Client Secret',
};

function readSecret(auth: object, field: string): string | undefined {
  const value = (auth as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/** The dotted paths of failed valibot issues: never the values, which may be secrets. */
function issuePaths(issues: readonly v.BaseIssue<unknown>[]): string {
  return [...new Set(issues.map((issue) => v.getDotPath(issue) ?? '(root)'))].join(', ');
}

function keyEntryName(slug: string, id: string): string {
  return `${RELAY_KEY_ENTRY_PREFIX}${slug}:${id}`;
}

/** A new relay key id: 9 base36 characters of time (ordered), then 8 random base64url characters. */
function newKeyId(): string {
  lastKeyIdTime = Math.max(Date.now(), lastKeyIdTime + 1);
  return lastKeyIdTime.toString(36).padStart(9, '0') + randomId(6);
}

function cacheRelayEntry(slug: string, entry: RelayEntry | null, until: number): void {
  relayCache.delete(slug);
  while (relayCache.size >= RELAY_CACHE_MAX_ENTRIES) {
    const oldest = relayCache.keys().next().value;
    if (oldest === undefined) break;
    relayCache.delete(oldest);
  }
  relayCache.set(slug, { entry, until });
}

/** Connection records, relay keys and cached tokens in KV. */
export class ConnectionStore {
  constructor(
    private readonly kv: KVNamespace,
    private readonly sealer: Sealer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** All connections, ordered by slug. A record that fails to read is left out (and its key logged). */
  async list(): Promise<StoredConnection[]> {
    const names = await this.listNames(CONNECTION_PREFIX);
    const records = await Promise.all(
      names.map((name) =>
        this.read(name).catch((err: unknown) => {
          // The key only: the record itself, or a parser's message about it, may hold anything.
          console.warn('[store] skipped a connection record that could not be read:', name, err instanceof AppError ? '' : err instanceof Error ? err.name : 'error');
          return null;
        }),
      ),
    );
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
      id: randomId(),
      name: input.name,
      slug: input.slug,
      baseUrl: input.baseUrl,
      auth: await this.sealAuth(input.slug, input.auth, undefined),
      ...(input.relay ? { relay: input.relay } : {}),
      secretVersion: randomId(),
      createdAt: at,
      updatedAt: at,
    };
    await this.write(record);
    // Keys a deleted connection of this slug may have left behind never match the new id; tidy them.
    await this.deleteKeyEntries(input.slug);
    return record;
  }

  /**
   * Replaces a connection; never touches its relay keys. A secret left out keeps the stored one,
   * as long as the method stays and the secret would go to the same place: when the Base URL's
   * origin changes (or, for OAuth, the Token URL's), the secret must be entered again.
   */
  async replace(slug: string, input: ConnectionOutput): Promise<StoredConnection> {
    const existing = await this.require(slug);
    const field = secretFieldOf(input.auth);
    const given = field ? readSecret(input.auth, field) : undefined;
    if (field && given === undefined && existing.auth.method === input.auth.method) {
      const reasons = secretReentryReasons(existing, input);
      if (reasons.length > 0) {
        const label = SECRET_LABEL[field];
        throw new AppError('validation-failed', {
          detail: `Enter the ${label} again: the stored one is not sent to a new host.`,
          extensions: { errors: { [`auth.${field}`]: reasons.map((reason) => `Enter the ${label} again: ${reason}`) } },
        });
      }
    }
    const record: StoredConnection = {
      ...existing,
      v: RECORD_VERSION,
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
    await this.require(slug);
    relayCache.delete(slug);
    await this.kv.delete(CONNECTION_PREFIX + slug);
    relayCache.delete(slug);
    await Promise.all([this.deleteKeyEntries(slug), this.deleteTokens(slug), this.kv.delete(TOKEN_STATS_PREFIX + slug)]);
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
    const names = await this.listNames(`${TOKEN_PREFIX}${slug}:`);
    await Promise.all(names.map((name) => this.kv.delete(name)));
  }

  /** The connection, or a `connection-not-found` error. */
  async require(slug: string): Promise<StoredConnection> {
    const record = await this.get(slug);
    if (!record) throw new AppError('connection-not-found', { detail: `There is no connection "${slug}".` });
    return record;
  }

  // ---- relay: a cached read for the hot path

  /**
   * The connection and its relay keys for the relay, or `null` when there is none: served from
   * this isolate's memory for `RELAY_RECORD_CACHE_MS`, absence included. A record or key that
   * fails to read counts as absent (logged by key name only): the relay answers an unknown slug
   * and a broken one alike, and never a 500 to a caller it has not authenticated.
   */
  async getForRelay(slug: string): Promise<RelayEntry | null> {
    const now = Date.now();
    const hit = relayCache.get(slug);
    if (hit && hit.until > now) return hit.entry;
    let entry: RelayEntry | null;
    try {
      const [record, keys] = await Promise.all([this.get(slug), this.readKeyEntries(slug)]);
      entry = record ? { record, keys: keys.filter((k) => k.connectionId === record.id).map(toKeyRecord) } : null;
    } catch (err) {
      console.warn('[store] relay could not read', CONNECTION_PREFIX + slug, err instanceof AppError ? '' : err instanceof Error ? err.name : 'error');
      entry = null;
    }
    cacheRelayEntry(slug, entry, now + RELAY_RECORD_CACHE_MS);
    return entry;
  }

  // ---- relay keys

  /** Creates a relay key; the clear key is returned once and only its hash is stored. */
  async createKey(slug: string, name: string): Promise<{ record: RelayKeyRecord; key: string }> {
    const connection = await this.require(slug);
    const existing = (await this.readKeyEntries(slug)).filter((k) => k.connectionId === connection.id);
    if (existing.length >= MAX_KEYS_PER_CONNECTION) {
      throw new AppError('validation-failed', {
        detail: `A connection has at most ${MAX_KEYS_PER_CONNECTION} relay keys; revoke one first.`,
        extensions: { errors: { name: [`At most ${MAX_KEYS_PER_CONNECTION} keys per connection`] } },
      });
    }
    const key = RELAY_KEY_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(RELAY_KEY_BYTES)));
    const record: RelayKeyRecord = { id: newKeyId(), name, hash: await sha256Hex(key), createdAt: this.now().toISOString() };
    const entry: RelayKeyEntry = { ...record, connectionId: connection.id };
    await this.kv.put(keyEntryName(slug, record.id), JSON.stringify(entry), { metadata: entry });
    relayCache.delete(slug);
    return { record, key };
  }

  /** The relay keys of a connection, in creation order, with their approximate last use. */
  async listKeys(slug: string): Promise<(RelayKeyRecord & { lastUsedAt: string | null })[]> {
    const connection = await this.require(slug);
    const keys = (await this.readKeyEntries(slug)).filter((k) => k.connectionId === connection.id);
    return Promise.all(
      keys.map(async (k) => ({ ...toKeyRecord(k), lastUsedAt: await this.kv.get(`${KEY_USED_PREFIX}${slug}:${k.id}`) })),
    );
  }

  /** Revokes a relay key; `key-not-found` when the connection has none with this id. */
  async deleteKey(slug: string, id: string): Promise<void> {
    const connection = await this.require(slug);
    const notFound = () => new AppError('key-not-found', { detail: 'There is no relay key with this id.' });
    if (!KEY_ID_PATTERN.test(id)) throw notFound();
    const name = keyEntryName(slug, id);
    const raw = await this.kv.get(name, 'json');
    const parsed = raw === null ? undefined : v.safeParse(RelayKeyEntrySchema, raw);
    // A broken entry of this connection's slug is removed all the same.
    if (parsed === undefined || (parsed.success && parsed.output.connectionId !== connection.id)) throw notFound();
    relayCache.delete(slug);
    await Promise.all([this.kv.delete(name), this.kv.delete(`${KEY_USED_PREFIX}${slug}:${id}`)]);
    relayCache.delete(slug);
  }

  /**
   * Records that a key was used, at most once a minute per isolate (KV allows one write/s/key).
   * The throttle is checked at once: a call that writes nothing answers `undefined`, not a promise,
   * so the relay's hot path makes none (and no `waitUntil`).
   */
  touchKey(slug: string, id: string): Promise<void> | undefined {
    const name = `${KEY_USED_PREFIX}${slug}:${id}`;
    const now = Date.now();
    if ((keyUsedWrites.get(name) ?? 0) + KEY_USED_WRITE_INTERVAL_MS > now) return undefined;
    keyUsedWrites.set(name, now);
    return this.writeKeyUsed(name, now);
  }

  private async writeKeyUsed(name: string, now: number): Promise<void> {
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

  /** Token statistics of a connection; statistics that fail validation read as none (logged by key). */
  async getTokenStats(slug: string): Promise<TokenStats> {
    const name = `${TOKEN_STATS_PREFIX}${slug}`;
    const empty: TokenStats = { fetches: 0, lastError: null };
    let raw: unknown;
    try {
      raw = await this.kv.get(name, 'json');
    } catch {
      console.warn('[store] token statistics are not JSON:', name);
      return empty;
    }
    if (raw === null) return empty;
    const parsed = v.safeParse(TokenStatsSchema, raw);
    if (!parsed.success) {
      console.warn('[store] token statistics failed validation:', name, issuePaths(parsed.issues));
      return empty;
    }
    return parsed.output as TokenStats;
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

  /** Every key name under `prefix`, following the list cursor. */
  private async listNames(prefix: string): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page: KVNamespaceListResult<unknown, string> = await this.kv.list({ prefix, cursor });
      names.push(...page.keys.map((k) => k.name));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return names;
  }

  /** The relay key entries stored under a slug (of any connection id), from list metadata alone. */
  private async readKeyEntries(slug: string): Promise<RelayKeyEntry[]> {
    const entries: RelayKeyEntry[] = [];
    let cursor: string | undefined;
    do {
      const page: KVNamespaceListResult<unknown, string> = await this.kv.list({ prefix: `${RELAY_KEY_ENTRY_PREFIX}${slug}:`, cursor });
      for (const key of page.keys) {
        const parsed = v.safeParse(RelayKeyEntrySchema, key.metadata);
        if (parsed.success && key.name === keyEntryName(slug, parsed.output.id)) entries.push(parsed.output);
        else console.warn('[store] skipped a relay key entry that could not be read:', key.name);
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return entries;
  }

  /** Deletes every relay key entry (and its last-use note) stored under a slug. */
  private async deleteKeyEntries(slug: string): Promise<void> {
    const names = await this.listNames(`${RELAY_KEY_ENTRY_PREFIX}${slug}:`);
    await Promise.all(
      names.flatMap((name) => [this.kv.delete(name), this.kv.delete(KEY_USED_PREFIX + name.slice(RELAY_KEY_ENTRY_PREFIX.length))]),
    );
    relayCache.delete(slug);
  }

  private async read(key: string): Promise<StoredConnection | null> {
    const raw = await this.kv.get(key, 'json');
    if (raw === null) return null;
    const parsed = v.safeParse(StoredConnectionSchema, raw);
    if (parsed.success) return parsed.output;
    throw new AppError('internal-error', { internal: `Stored record ${key} failed validation at ${issuePaths(parsed.issues)}` });
  }

  private async write(record: StoredConnection): Promise<void> {
    relayCache.delete(record.slug);
    await this.kv.put(CONNECTION_PREFIX + record.slug, JSON.stringify(record));
    relayCache.delete(record.slug);
  }
}

function toKeyRecord(entry: RelayKeyEntry): RelayKeyRecord {
  return { id: entry.id, name: entry.name, hash: entry.hash, createdAt: entry.createdAt };
}

/** Stores by env object: the runtime passes the same one to every request of an isolate. */
const stores = new WeakMap<Env, ConnectionStore>();

/** The store for this env, made once per env object. */
export function storeFor(env: Env): ConnectionStore {
  let store = stores.get(env);
  if (store === undefined) {
    store = new ConnectionStore(env.CONNECTIONS, Sealer.fromSecretsKey(env.SECRETS_KEY));
    stores.set(env, store);
  }
  return store;
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

const SessionEntrySchema = v.strictObject({ expiresAt: v.number() });

/**
 * Admin sessions (`session:<sha256(id)>`): the cookie carries the signed random id, KV holds only
 * its hash, so a KV dump cannot be replayed as a cookie. Deleting the entry ends the session
 * (at once here; other locations may take up to KV's 60 s to see it).
 */
export class SessionStore {
  constructor(private readonly kv: KVNamespace) {}

  /** Starts a session that lasts `ttlSeconds` (KV's minimum TTL, 60 s, applies); answers its id. */
  async create(ttlSeconds: number): Promise<string> {
    const id = randomId(32);
    const entry = { expiresAt: Date.now() + ttlSeconds * 1000 };
    await this.kv.put(SESSION_PREFIX + (await sha256Hex(id)), JSON.stringify(entry), { expirationTtl: Math.max(60, ttlSeconds) });
    return id;
  }

  /** True while the session with this id exists and has not expired. */
  async isActive(id: string): Promise<boolean> {
    const raw = await this.kv.get(SESSION_PREFIX + (await sha256Hex(id)), 'json').catch(() => null);
    const parsed = v.safeParse(SessionEntrySchema, raw);
    return parsed.success && parsed.output.expiresAt > Date.now();
  }

  /** Ends the session with this id. */
  async delete(id: string): Promise<void> {
    await this.kv.delete(SESSION_PREFIX + (await sha256Hex(id)));
  }
}
