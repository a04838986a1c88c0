/**
 * The read path: what the hot paths and the listing read, from this isolate's memory and KV, never
 * waiting on a connection's home when warm. The only other code than the homes touching the
 * connection KV keys, and it only reads them.
 *
 * - The relay's copy of a connection (`conn:<slug>`: record and relay key hashes), kept in memory
 *   for `RELAY_RECORD_CACHE_MS`, absence included, so a caller that makes up slugs costs one KV
 *   read per slug and isolate in that time and never wakes a home. A format-2 record (written
 *   before the homes existed) asks its home once, which migrates it.
 * - The listing: one KV `list()` per page over `conn:<q>…`, Summaries from its metadata.
 * - The token mirror (`tok:<connection id>`), opened with the connection's token context.
 */
import * as v from 'valibot';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, type ConnectionSummary } from '../../contract/answers';
import { AUTH_METHODS } from '../../contract/connection';
import { secretsKeyOf } from '../app-env';
import { systemClock, type Clock } from '../clock';
import { AppError } from '../errors';
import { type CachedToken, CachedTokenSchema, fingerprintOf, type OAuthConnection, tokenContext, tokenMirrorKey } from '../oauth/fingerprint';
import { connectionKey, homeOf, type RelayEntryData } from './home';
import { isLegacyRecord } from './legacy';
import { issuePaths, StoredConnectionSchema, toSummary } from './records';
import { RelayKeyRecordSchema } from './relay-keys';
import { Sealer } from './seal';

/** How long an isolate may serve a connection (or its absence) to the relay without reading KV. */
export const RELAY_RECORD_CACHE_MS = 5_000;
/** Bound on the relay cache: past it the oldest entries go (slugs that callers make up must not grow memory). */
const RELAY_CACHE_MAX_ENTRIES = 10_000;
/** Longest listing cursor accepted (KV's are far shorter). */
const CURSOR_MAX_LENGTH = 1024;
/** Format-2 records migrated by one listing request at most (each asks its home once). */
const LIST_MIGRATIONS_MAX = 20;

/** What the relay needs of a connection: its record and its relay keys. */
export type RelayEntry = RelayEntryData;

const RelayEntrySchema = v.strictObject({
  v: v.literal(3),
  record: StoredConnectionSchema,
  keys: v.array(RelayKeyRecordSchema),
});

const SummaryMetadataSchema = v.strictObject({
  name: v.string(),
  method: v.picklist(AUTH_METHODS),
  baseOrigin: v.string(),
  updatedAt: v.string(),
  version: v.number(),
  lastCallAt: v.optional(v.nullable(v.string())),
  calls24h: v.optional(v.number()),
  errorRate24h: v.optional(v.nullable(v.number())),
});

/** The relay's view of connections, per isolate; `entry: null` remembers a slug that does not exist. */
const relayCache = new Map<string, { entry: RelayEntry | null; until: number }>();

function cacheRelayEntry(slug: string, entry: RelayEntry | null, until: number): void {
  relayCache.delete(slug);
  while (relayCache.size >= RELAY_CACHE_MAX_ENTRIES) {
    const oldest = relayCache.keys().next().value;
    if (oldest === undefined) break;
    relayCache.delete(oldest);
  }
  relayCache.set(slug, { entry, until });
}

/** A listing request, validated by the route. */
export interface ListOptions {
  limit: number;
  cursor: string | undefined;
  q: string;
}

/** Reads for the hot paths and the listing; see the module header. */
export class ReadPath {
  constructor(
    private readonly env: Env,
    private readonly now: Clock = systemClock,
  ) {}

  /**
   * The connection and its relay keys for the relay, or `null` when there is none: served from
   * this isolate's memory for `RELAY_RECORD_CACHE_MS`, absence included. An entry that fails to
   * read counts as absent (logged by key name only): the relay answers an unknown slug and a broken
   * one alike, and never a 500 to a caller it has not authenticated. A copy in memory is answered
   * at once, with no promise (the relay's hot path).
   */
  relayEntry(slug: string): RelayEntry | null | Promise<RelayEntry | null> {
    const now = this.now();
    const hit = relayCache.get(slug);
    if (hit && hit.until > now) return hit.entry;
    return this.readRelayEntry(slug, now);
  }

  private async readRelayEntry(slug: string, now: number): Promise<RelayEntry | null> {
    let entry: RelayEntry | null = null;
    try {
      const raw = await this.env.CONNECTIONS.get(connectionKey(slug), 'json');
      if (raw !== null) {
        if (isLegacyRecord(raw)) {
          entry = await homeOf(this.env, slug).getRelayEntry(slug);
        } else {
          const parsed = v.safeParse(RelayEntrySchema, raw);
          if (parsed.success && parsed.output.record.slug === slug) entry = { record: parsed.output.record, keys: parsed.output.keys };
          else console.warn('[read-path] skipped an entry that failed validation:', connectionKey(slug), parsed.success ? 'slug' : issuePaths(parsed.issues));
        }
      }
    } catch (err) {
      console.warn('[read-path] relay could not read', connectionKey(slug), err instanceof AppError ? err.code : err instanceof Error ? err.name : 'error');
      entry = null;
    }
    cacheRelayEntry(slug, entry, now + RELAY_RECORD_CACHE_MS);
    return entry;
  }

  /** Drops this isolate's copy of a connection (after a write made here). */
  forget(slug: string): void {
    relayCache.delete(slug);
  }

  /**
   * One page of Summaries, ordered by slug: one KV `list()` whatever the number of connections.
   * A format-2 record (no metadata) is migrated by its home and shown (a few per page).
   */
  async list(options: ListOptions): Promise<{ connections: ConnectionSummary[]; cursor: string | null }> {
    let page: KVNamespaceListResult<unknown, string>;
    try {
      page = await this.env.CONNECTIONS.list({ prefix: connectionKey(options.q), limit: options.limit, ...(options.cursor ? { cursor: options.cursor } : {}) });
    } catch {
      throw new AppError('bad-request', { detail: 'The cursor is not valid: start the listing again without it.', extensions: { errors: { cursor: ['Not a cursor of this listing'] } } });
    }
    const connections: ConnectionSummary[] = [];
    let migrations = 0;
    for (const key of page.keys) {
      const slug = key.name.slice(connectionKey('').length);
      const parsed = v.safeParse(SummaryMetadataSchema, key.metadata);
      if (parsed.success) {
        connections.push({ slug, ...parsed.output });
      } else if (migrations < LIST_MIGRATIONS_MAX) {
        migrations++;
        const entry = await homeOf(this.env, slug).getRelayEntry(slug).catch(() => null);
        if (entry) connections.push({ slug, ...toSummary(entry.record) });
        else console.warn('[read-path] the listing left out an entry it could not read:', key.name);
      }
    }
    return { connections, cursor: page.list_complete ? null : page.cursor };
  }

  /** The mirrored token of a connection, opened; `null` when absent, for other settings, or unreadable. */
  async mirroredToken(record: OAuthConnection): Promise<CachedToken | null> {
    const sealed = await this.env.CONNECTIONS.get(tokenMirrorKey(record.id));
    if (sealed === null) return null;
    const fingerprint = fingerprintOf(record);
    try {
      const opened = await Sealer.fromSecretsKey(secretsKeyOf(this.env)).open(sealed, await tokenContext(fingerprint, record.id));
      const parsed = v.safeParse(CachedTokenSchema, JSON.parse(opened));
      return parsed.success && parsed.output.fingerprint === fingerprint ? parsed.output : null;
    } catch {
      // Sealed for other settings (an edit since), or tampered with: not this record's token.
      return null;
    }
  }
}

/** Parses and checks the listing's query: `limit` 1..1000 (default 100), `cursor`, `q` a slug prefix. */
export function listOptions(query: { limit?: string | undefined; cursor?: string | undefined; q?: string | undefined }): ListOptions {
  const errors: Record<string, string[]> = {};
  let limit = LIST_DEFAULT_LIMIT;
  if (query.limit !== undefined) {
    limit = /^\d{1,4}$/.test(query.limit) ? Number(query.limit) : NaN;
    if (!(limit >= 1 && limit <= LIST_MAX_LIMIT)) errors.limit = [`Use a whole number from 1 to ${LIST_MAX_LIMIT}`];
  }
  const cursor = query.cursor === undefined || query.cursor === '' ? undefined : query.cursor;
  if (cursor !== undefined && (cursor.length > CURSOR_MAX_LENGTH || !/^[A-Za-z0-9+/=_.-]+$/.test(cursor))) {
    errors.cursor = ['Not a cursor of this listing'];
  }
  const q = (query.q ?? '').toLowerCase();
  if (q.length > 64 || !/^[a-z0-9-]*$/.test(q)) errors.q = ['Filter by the start of a slug: lowercase letters, digits and hyphens'];
  if (Object.keys(errors).length > 0) {
    throw new AppError('bad-request', { detail: 'The listing parameters are not valid.', extensions: { errors } });
  }
  return { limit, cursor, q };
}

const readPaths = new WeakMap<Env, ReadPath>();

/** The read path for this env, made once per env object. */
export function readPathFor(env: Env): ReadPath {
  let readPath = readPaths.get(env);
  if (readPath === undefined) {
    readPath = new ReadPath(env);
    readPaths.set(env, readPath);
  }
  return readPath;
}
