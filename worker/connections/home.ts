/**
 * The connection's home: one SQLite-backed Durable Object per connection, addressed by its slug.
 * It is the source of truth and the single writer of everything of the connection: its record and
 * version, its relay keys, its token (through the token broker) and the KV entries the hot paths
 * read. Every admin write goes through it; each is decided in one synchronous step over its own
 * storage (no await between the check and the write), so concurrent writes never interleave.
 *
 * Tables (see `STORAGE.md`):
 * | table       | rows   | holds                                                                 |
 * |-------------|--------|-----------------------------------------------------------------------|
 * | `connection`| 0..1   | `id`, `version`, `record` (JSON of the stored record, secrets sealed) |
 * | `relay_key` | 0..50  | `id`, `name`, `hash` (SHA-256 of the key), `created_at`, `last_used_at` |
 * | `token`, `token_state` | see `oauth/token-broker.ts`                                   |
 * | `call_log`, `call_minute` | see `activity/call-store.ts`                               |
 * | `feed`      | 0..n   | `id`, `version`, `record` (JSON of the stored feed, its secret sealed) |
 * | `feed_key`  | 0..20 per feed | `id`, `feed_id`, `name`, `hash` (SHA-256 of the trigger key), `created_at` |
 *
 * KV entries it writes, as their only writer:
 * - `conn:<slug>`: `{"v": 3, "record", "keys"}` (what the relay needs), metadata the Summary.
 * - `tok:<connection id>`: the sealed token mirror (through the broker).
 * - `feed:<id>`, `feedkey:<publicKey>`, `feedconn:<id>` of each of its feeds (see `feeds/records.ts`).
 *
 * Results cross the RPC boundary as plain data: a failure is `{ok: false, code, detail}` that the
 * caller turns back into an `AppError` (`unwrap`).
 */
import { DurableObject } from 'cloudflare:workers';
import type { ConnectionOutput } from '../../contract/connection';
import { secretReentryReasons } from '../../contract/rules';
import { secretsKeyOf } from '../app-env';
import { systemClock, type Clock } from '../clock';
import { AppError, type ProblemCode } from '../errors';
import { fingerprintOf, isOAuthConnection, tokenMirrorKey } from '../oauth/fingerprint';
import { TOKEN_SCHEMA, TokenBroker, type BrokerStatus, type TokenAnswer, type TokenTestOutcome } from '../oauth/token-broker';
import { LOG_RETAIN_DAYS_DEFAULT, type Call, type CallListAnswer, type StatsAnswer, type StatsWindow } from '../../contract/activity';
import { CALL_SCHEMA, CallStore, migrateCallLog, type CallFilters, type RunFilters } from '../activity/call-store';
import { readLegacy, removeLegacy } from './legacy';
import {
  keepSecret,
  parseStored,
  RECORD_FORMAT,
  readSecret,
  SECRET_LABEL,
  sealGivenSecret,
  secretFieldOf,
  toSummary,
  type StoredConnection,
} from './records';
import { MAX_KEYS_PER_CONNECTION, KEY_ID_PATTERN, newKeyId, newRelayKey, type RelayKeyRecord } from './relay-keys';
import { randomId, Sealer } from './seal';
import { validateFeedInput, type FeedOutput } from '../../contract/feed';
import { allowLoopback } from '../app-env';
import { validateFeedForSave } from '../feeds/save-checks';
import {
  FEED_ID_PATTERN,
  FEED_RECORD_FORMAT,
  feedConnectionKey,
  feedKey,
  MAX_TRIGGER_KEYS_PER_FEED,
  newFeedId,
  newPublicKey,
  newTriggerKey,
  parseStoredFeed,
  publicKeyIndexKey,
  sealFeedSecret,
  toFeedSummary,
  type StoredFeed,
  type TriggerKeyRecord,
} from '../feeds/records';

/** A home's answer: its value, or the problem to answer. */
export type HomeResult<T> = { ok: true; value: T } | { ok: false; code: ProblemCode; detail: string; extensions?: Record<string, unknown> };

/** `If-Match` as the home applies it: `*`, or the strong entity-tag values listed. */
export type IfMatch = '*' | string[] | null;

/** The relay's copy of a connection in KV (`conn:<slug>`). */
export interface RelayEntryData {
  record: StoredConnection;
  keys: RelayKeyRecord[];
}

/** A relay key as listed, with its last use. */
export type ListedKey = RelayKeyRecord & { lastUsedAt: string | null };

/** The KV key of a connection's relay copy. */
export function connectionKey(slug: string): string {
  return `conn:${slug}`;
}

/**
 * The home of `slug` (a stub: cheap, made per request, never kept across requests). Typed here:
 * the generated binding type refers back to this class through `Env`, a cycle the checker cannot
 * follow.
 */
export function homeOf(env: Env, slug: string): DurableObjectStub<ConnectionHome> {
  return (env.HOMES as unknown as DurableObjectNamespace<ConnectionHome>).getByName(slug);
}

/** Turns a home's result into its value, or throws the problem it carries. */
export function unwrap<T>(result: HomeResult<T>): T {
  if (result.ok) return result.value;
  throw new AppError(result.code, { detail: result.detail, ...(result.extensions ? { extensions: result.extensions } : {}) });
}

function notFound(slug: string): HomeResult<never> {
  return { ok: false, code: 'connection-not-found', detail: `There is no connection "${slug}".` };
}

function failed(err: unknown): HomeResult<never> {
  if (err instanceof AppError) {
    return { ok: false, code: err.code, detail: err.detail ?? err.message, ...(err.extensions ? { extensions: err.extensions } : {}) };
  }
  throw err;
}

/** Whether `If-Match` lets a write to `version` through (RFC 9110 §13.1.1: strong comparison). */
function matches(ifMatch: IfMatch, version: number): boolean {
  if (ifMatch === null || ifMatch === '*') return true;
  return ifMatch.includes(String(version));
}

const HOME_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS connection (id TEXT PRIMARY KEY, version INTEGER NOT NULL, record TEXT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS relay_key (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL, last_used_at TEXT)',
  ...TOKEN_SCHEMA.split(';').map((s) => s.trim()).filter(Boolean),
  ...CALL_SCHEMA,
  'CREATE TABLE IF NOT EXISTS feed (id TEXT PRIMARY KEY, version INTEGER NOT NULL, record TEXT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS feed_key (id TEXT PRIMARY KEY, feed_id TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL)',
];

/** The 400 of a key past its owner's limit (relay keys per connection, trigger keys per feed). */
function tooManyKeys(max: number, kind: 'relay' | 'trigger', owner: 'connection' | 'feed'): HomeResult<never> {
  return {
    ok: false,
    code: 'validation-failed',
    detail: `A ${owner} has at most ${max} ${kind} keys; revoke one first.`,
    extensions: { errors: { name: [`At most ${max} keys per ${owner}`] } },
  };
}

function feedNotFound(): HomeResult<never> {
  return { ok: false, code: 'feed-not-found', detail: 'There is no feed with this id.' };
}

function feedConflict(version: number): HomeResult<never> {
  return {
    ok: false,
    code: 'version-conflict',
    detail: `The feed was changed meanwhile: it is at version ${version}. Reload it, then apply your change again.`,
    extensions: { version },
  };
}

/** How often the listing's activity figures (in the KV Summary) are rewritten at most. */
const ACTIVITY_REFRESH_MS = 60_000;

/** The connection's home; see the module header. */
export class ConnectionHome extends DurableObject<Env> {
  /** The clock of everything the home decides (tests move it by hand through `runInDurableObject`). */
  clock: Clock = systemClock;
  /** Fetch used for token requests (tests may count or hold them). */
  tokenFetch: typeof fetch | undefined;
  private sealerMemo: Sealer | undefined;
  private brokerMemo: TokenBroker | undefined;
  private schemaReady = false;
  private legacyChecked = false;
  /** The record as last read or written (`undefined`: read storage). */
  private cached: StoredConnection | null | undefined;
  private mirrorChain: Promise<void> = Promise.resolve();
  private callsMemo: CallStore | undefined;
  /** When the Summary's activity figures were last written to KV. */
  private activityWrittenAt = 0;

  private get calls(): CallStore {
    return (this.callsMemo ??= new CallStore(this.sql, () => this.clock()));
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private get sealer(): Sealer {
    return (this.sealerMemo ??= Sealer.fromSecretsKey(secretsKeyOf(this.env)));
  }

  private get broker(): TokenBroker {
    return (this.brokerMemo ??= new TokenBroker({
      sql: this.sql,
      kv: this.env.CONNECTIONS,
      sealer: this.sealer,
      env: this.env,
      now: () => this.clock(),
      currentRecord: () => this.readRecord(),
      fetch: (input, init) => (this.tokenFetch ?? fetch)(input, init),
      recordCall: (entry) => {
        this.calls.append([entry], this.retainDays());
      },
    }));
  }

  // ---- connection

  /** The stored record, or `null`. */
  async getConnection(slug: string): Promise<StoredConnection | null> {
    await this.ensure(slug);
    return this.readRecord();
  }

  /** What the relay needs (record and key hashes), or `null`; migrates a format-2 record first. */
  async getRelayEntry(slug: string): Promise<RelayEntryData | null> {
    await this.ensure(slug);
    const record = this.readRecord();
    return record ? { record, keys: this.readKeys() } : null;
  }

  /** Creates the connection: exactly one of any number of concurrent creates succeeds. */
  async create(slug: string, input: ConnectionOutput): Promise<HomeResult<StoredConnection>> {
    try {
      await this.ensure(slug);
      if (this.readRecord()) return this.slugTaken(slug);
      const id = randomId();
      const auth = (await sealGivenSecret(this.sealer, id, input)) ?? keepSecret(input, null);
      // Decided now, with nothing awaited between the check and the write.
      if (this.readRecord()) return this.slugTaken(slug);
      const at = new Date(this.clock()).toISOString();
      const record: StoredConnection = {
        v: RECORD_FORMAT,
        id,
        version: 1,
        name: input.name,
        slug,
        baseUrl: input.baseUrl,
        auth,
        ...(input.relay ? { relay: input.relay } : {}),
        ...(input.log ? { log: input.log } : {}),
        secretVersion: randomId(),
        createdAt: at,
        updatedAt: at,
      };
      this.clearTables();
      this.writeRecord(record);
      this.broker.reset();
      await this.mirror(slug);
      return { ok: true, value: record };
    } catch (err) {
      return failed(err);
    }
  }

  /**
   * Replaces the connection, applied to the record current at the moment of writing: a secret
   * left out keeps the value stored then, so a concurrent rotation is never reverted. `If-Match`
   * is compared with that same record's version.
   */
  async replace(slug: string, input: ConnectionOutput, ifMatch: IfMatch): Promise<HomeResult<StoredConnection>> {
    try {
      await this.ensure(slug);
      const before = this.readRecord();
      if (!before) return notFound(slug);
      if (!matches(ifMatch, before.version)) return this.conflict(before.version);
      const field = secretFieldOf(input.auth);
      const given = field ? readSecret(input.auth, field) : undefined;
      const sealed = !field || given !== undefined ? await sealGivenSecret(this.sealer, before.id, input) : undefined;

      // Decided now, over the current record, with nothing awaited until it is written.
      const existing = this.readRecord();
      if (!existing || existing.id !== before.id) return notFound(slug);
      if (!matches(ifMatch, existing.version)) return this.conflict(existing.version);
      let auth = sealed;
      if (auth === undefined) {
        if (field && existing.auth.method === input.auth.method) {
          const reasons = secretReentryReasons(existing, input);
          if (reasons.length > 0) {
            const label = SECRET_LABEL[field];
            throw new AppError('validation-failed', {
              detail: `Enter the ${label} again: the stored one is not sent to a new host.`,
              extensions: { errors: { [`auth.${field}`]: reasons.map((reason) => `Enter the ${label} again: ${reason}`) } },
            });
          }
        }
        auth = keepSecret(input, existing);
      }
      const record: StoredConnection = {
        ...existing,
        version: existing.version + 1,
        name: input.name,
        baseUrl: input.baseUrl,
        auth,
        relay: input.relay,
        log: input.log,
        secretVersion: given !== undefined || existing.auth.method !== input.auth.method ? randomId() : existing.secretVersion,
        updatedAt: new Date(this.clock()).toISOString(),
      };
      if (!record.relay) delete record.relay;
      if (!record.log) delete record.log;
      const tokenChanged =
        !isOAuthConnection(record) || !isOAuthConnection(existing) || fingerprintOf(record) !== fingerprintOf(existing);
      this.writeRecord(record);
      if (tokenChanged) {
        this.sql.exec('DELETE FROM token');
        this.broker.settingsChanged();
      }
      await Promise.all([this.mirror(slug), tokenChanged ? this.env.CONNECTIONS.delete(tokenMirrorKey(record.id)) : undefined]);
      return { ok: true, value: record };
    } catch (err) {
      return failed(err);
    }
  }

  /**
   * Deletes the connection and everything of it: keys, token, statistics, its KV entries. A token
   * request still in flight writes nothing back; a new connection of this slug starts empty.
   */
  async remove(slug: string): Promise<HomeResult<null>> {
    await this.ensure(slug);
    const existing = this.readRecord();
    if (!existing) return notFound(slug);
    // Decided in the same step as the delete: a feed saved before this point blocks it.
    const feeds = this.sql.exec<{ id: string }>('SELECT id FROM feed ORDER BY id').toArray().map((r) => r.id);
    if (feeds.length > 0) {
      return {
        ok: false,
        code: 'connection-in-use',
        detail: `${feeds.length} feed${feeds.length === 1 ? ' uses' : 's use'} this connection: delete ${feeds.length === 1 ? 'it' : 'them'} first.`,
        extensions: { feeds },
      };
    }
    this.clearTables();
    this.sql.exec('DELETE FROM connection');
    this.cached = null;
    this.broker.reset();
    await Promise.all([this.mirror(slug), this.env.CONNECTIONS.delete(tokenMirrorKey(existing.id))]);
    return { ok: true, value: null };
  }

  // ---- relay keys

  /** Creates a relay key; the clear key is answered once, only its hash is kept. */
  async createKey(slug: string, name: string): Promise<HomeResult<{ record: RelayKeyRecord; key: string }>> {
    await this.ensure(slug);
    if (!this.readRecord()) return notFound(slug);
    const { key, hash } = await newRelayKey();
    // Decided now: the count and the insert with nothing awaited between them.
    if (!this.readRecord()) return notFound(slug);
    const count = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM relay_key').one().n;
    if (count >= MAX_KEYS_PER_CONNECTION) return tooManyKeys(MAX_KEYS_PER_CONNECTION, 'relay', 'connection');
    const record: RelayKeyRecord = { id: newKeyId(this.clock), name, hash, createdAt: new Date(this.clock()).toISOString() };
    this.sql.exec('INSERT INTO relay_key (id, name, hash, created_at) VALUES (?, ?, ?, ?)', record.id, record.name, record.hash, record.createdAt);
    await this.mirror(slug);
    return { ok: true, value: { record, key } };
  }

  /** The relay keys, in creation order, with their last use. */
  async listKeys(slug: string): Promise<HomeResult<ListedKey[]>> {
    await this.ensure(slug);
    if (!this.readRecord()) return notFound(slug);
    const rows = this.sql
      .exec<{ id: string; name: string; hash: string; created_at: string; last_used_at: string | null }>(
        'SELECT id, name, hash, created_at, last_used_at FROM relay_key ORDER BY id',
      )
      .toArray();
    return { ok: true, value: rows.map((r) => ({ id: r.id, name: r.name, hash: r.hash, createdAt: r.created_at, lastUsedAt: r.last_used_at })) };
  }

  /** Revokes a relay key: gone from the relay's copy before this answers. */
  async deleteKey(slug: string, id: string): Promise<HomeResult<null>> {
    await this.ensure(slug);
    if (!this.readRecord()) return notFound(slug);
    const gone = KEY_ID_PATTERN.test(id) ? this.sql.exec('DELETE FROM relay_key WHERE id = ?', id).rowsWritten : 0;
    if (gone === 0) return { ok: false, code: 'key-not-found', detail: 'There is no relay key with this id.' };
    await this.mirror(slug);
    return { ok: true, value: null };
  }

  /** Notes when relay keys were used (sent by isolates, at most once a minute per key each). */
  async touchKeys(slug: string, uses: { id: string; at: string }[]): Promise<void> {
    await this.ensure(slug);
    for (const { id, at } of uses.slice(0, MAX_KEYS_PER_CONNECTION)) {
      this.sql.exec('UPDATE relay_key SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)', at, id, at);
    }
  }

  // ---- call log (see `activity/call-store.ts`)

  /**
   * Stores a batch of calls sent by an isolate (after its answers, at most once a second or per
   * 500 entries). The listing's activity figures follow at most once a minute. A batch made for
   * another connection of this slug (`connectionId`: one since deleted, its entries still buffered
   * when the slug was created again) is dropped; `null` (the sender did not know the id) only
   * needs a connection to exist.
   */
  async appendCalls(slug: string, entries: unknown[], connectionId: string | null): Promise<number> {
    await this.ensure(slug);
    const record = this.readRecord();
    if (!record || (connectionId !== null && record.id !== connectionId)) return 0;
    const days = this.retainDays();
    const kept = this.calls.append(entries, days);
    // After the append: a run the batch brought that is already past its feed's days goes too.
    this.pruneShortRuns(days);
    if (kept > 0 && this.clock() - this.activityWrittenAt >= ACTIVITY_REFRESH_MS) await this.mirror(slug);
    return kept;
  }

  /** Calls newest first. */
  async listCalls(slug: string, filters: CallFilters): Promise<HomeResult<CallListAnswer>> {
    await this.ensure(slug);
    if (!this.readRecord()) return notFound(slug);
    return { ok: true, value: this.calls.list(filters, this.prunedRetainDays()) };
  }

  /** One call. */
  async getCall(slug: string, id: string): Promise<HomeResult<Call>> {
    await this.ensure(slug);
    if (!this.readRecord()) return notFound(slug);
    const call = this.calls.get(id, this.prunedRetainDays());
    return call ? { ok: true, value: call } : { ok: false, code: 'call-not-found', detail: 'There is no call with this id (calls are kept for the connection’s retention period).' };
  }

  /** Time buckets of calls by outcome, with durations. */
  async callStats(slug: string, window: StatsWindow): Promise<HomeResult<StatsAnswer>> {
    await this.ensure(slug);
    if (!this.readRecord()) return notFound(slug);
    return { ok: true, value: this.calls.stats(window) };
  }

  /** A feed's runs newest first (its call-log entries of kind `feed-run`). */
  async listFeedRuns(slug: string, feedId: string, filters: RunFilters): Promise<HomeResult<{ runs: Call[]; cursor: string | null }>> {
    await this.ensure(slug);
    const feed = this.readFeed(feedId);
    if (!feed) return feedNotFound();
    return { ok: true, value: this.calls.listRuns(feedId, filters, this.runRetainDays(feed)) };
  }

  /** One run of a feed with its detail. */
  async getFeedRun(slug: string, feedId: string, runId: string): Promise<HomeResult<Call & { detail?: unknown }>> {
    await this.ensure(slug);
    const feed = this.readFeed(feedId);
    if (!feed) return feedNotFound();
    const run = this.calls.getRun(feedId, runId, this.runRetainDays(feed));
    return run ? { ok: true, value: run } : { ok: false, code: 'run-not-found', detail: 'This feed has no run with this id (runs are kept for the connection’s retention period).' };
  }

  /** A feed's runs of the last 24 hours by outcome. */
  async feedRunStats(slug: string, feedId: string): Promise<HomeResult<{ total: number; outcomes: Partial<Record<string, number>> }>> {
    await this.ensure(slug);
    if (!this.readFeed(feedId)) return feedNotFound();
    return { ok: true, value: this.calls.runStats(feedId) };
  }

  /** How long this connection keeps its calls. */
  private retainDays(): number {
    return this.readRecord()?.log?.retainDays ?? LOG_RETAIN_DAYS_DEFAULT;
  }

  /**
   * How long a feed's runs are kept: the feed's own retention, or its connection's when that is
   * shorter (a run is an entry of the connection's call log, FEEDS.md).
   */
  private runRetainDays(feed: StoredFeed): number {
    return Math.min(feed.feed.log.retainDays, this.retainDays());
  }

  /**
   * How long this connection keeps its calls, once the runs of feeds that keep theirs for less
   * time are dropped: what the calls are read with.
   */
  private prunedRetainDays(): number {
    const days = this.retainDays();
    this.pruneShortRuns(days);
    return days;
  }

  /** Drops the runs of feeds that keep them for less time than the connection keeps its calls. */
  private pruneShortRuns(connectionDays: number): void {
    const feeds = this.sql.exec<{ id: string; days: number | null }>("SELECT id, record ->> '$.feed.log.retainDays' AS days FROM feed").toArray();
    for (const { id, days } of feeds) if (typeof days === 'number' && days < connectionDays) this.calls.pruneRuns(id, days);
  }

  // ---- feeds (see `feeds/records.ts`)

  /**
   * Creates a feed of this connection. The save-time checks run against the connection as it is
   * when the feed is written, in the same step as the write: a connection deleted meanwhile makes
   * the create fail (`/connection`), never a feed pointing nowhere.
   */
  async createFeed(slug: string, input: unknown): Promise<HomeResult<StoredFeed>> {
    try {
      await this.ensure(slug);
      const first = this.checkFeedInput(slug, input, false);
      if (!first.ok) return first;
      const id = newFeedId();
      const { feed, sealed } = await sealFeedSecret(this.sealer, id, first.value);
      // Decided now, over the current connection, with nothing awaited until it is written.
      const checked = this.checkFeedInput(slug, input, false);
      if (!checked.ok) return checked;
      const at = new Date(this.clock()).toISOString();
      const record: StoredFeed = {
        v: FEED_RECORD_FORMAT,
        id,
        version: 1,
        publicKey: newPublicKey(),
        feed,
        ...(sealed !== undefined ? { turnstileSecret: sealed } : {}),
        createdAt: at,
        updatedAt: at,
      };
      this.writeFeed(record);
      await this.mirrorFeed(id, []);
      return { ok: true, value: record };
    } catch (err) {
      return failed(err);
    }
  }

  /** The stored feed, or `null`. */
  async getFeed(slug: string, id: string): Promise<StoredFeed | null> {
    await this.ensure(slug);
    return this.readFeed(id);
  }

  /**
   * Replaces a feed, applied to the feed current at the moment of writing: a Turnstile secret left
   * out keeps the one stored then; `If-Match` is compared with that same version. The connection
   * cannot change (`connection-immutable`).
   */
  async replaceFeed(slug: string, id: string, input: unknown, ifMatch: IfMatch): Promise<HomeResult<StoredFeed>> {
    try {
      await this.ensure(slug);
      const before = this.readFeed(id);
      if (!before) return feedNotFound();
      if (!matches(ifMatch, before.version)) return feedConflict(before.version);
      const first = this.checkFeedInput(slug, input, before.turnstileSecret !== undefined);
      if (!first.ok) return first;
      const { feed, sealed } = await sealFeedSecret(this.sealer, id, first.value);

      // Decided now, over the current feed and connection, with nothing awaited until it is written.
      const existing = this.readFeed(id);
      if (!existing) return feedNotFound();
      if (!matches(ifMatch, existing.version)) return feedConflict(existing.version);
      const checked = this.checkFeedInput(slug, input, existing.turnstileSecret !== undefined);
      if (!checked.ok) return checked;
      const turnstileSecret = sealed ?? existing.turnstileSecret;
      const record: StoredFeed = {
        v: FEED_RECORD_FORMAT,
        id,
        version: existing.version + 1,
        publicKey: existing.publicKey,
        feed,
        ...(turnstileSecret !== undefined ? { turnstileSecret } : {}),
        createdAt: existing.createdAt,
        updatedAt: new Date(this.clock()).toISOString(),
      };
      this.writeFeed(record);
      // A shorter retention applies at once.
      this.pruneShortRuns(this.retainDays());
      await this.mirrorFeed(id, []);
      return { ok: true, value: record };
    } catch (err) {
      return failed(err);
    }
  }

  /** Deletes a feed with its trigger keys and its KV entries (its index entries gone before this answers). */
  async removeFeed(slug: string, id: string): Promise<HomeResult<null>> {
    await this.ensure(slug);
    const existing = this.readFeed(id);
    if (!existing) return feedNotFound();
    this.sql.exec('DELETE FROM feed_key WHERE feed_id = ?', id);
    this.sql.exec('DELETE FROM feed WHERE id = ?', id);
    await this.mirrorFeed(id, [existing.publicKey]);
    return { ok: true, value: null };
  }

  /** Gives a feed a new public key; the old one's index entry is deleted before this answers. */
  async rotatePublicKey(slug: string, id: string): Promise<HomeResult<StoredFeed>> {
    await this.ensure(slug);
    const existing = this.readFeed(id);
    if (!existing) return feedNotFound();
    const record: StoredFeed = { ...existing, version: existing.version + 1, publicKey: newPublicKey(), updatedAt: new Date(this.clock()).toISOString() };
    this.writeFeed(record);
    await this.mirrorFeed(id, [existing.publicKey]);
    return { ok: true, value: record };
  }

  /** Creates a server trigger key; the clear key is answered once, only its hash is kept. */
  async createTriggerKey(slug: string, feedId: string, name: string): Promise<HomeResult<{ record: TriggerKeyRecord; key: string }>> {
    await this.ensure(slug);
    if (!this.readFeed(feedId)) return feedNotFound();
    const { key, hash } = await newTriggerKey();
    // Decided now: the count and the insert with nothing awaited between them.
    if (!this.readFeed(feedId)) return feedNotFound();
    const count = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM feed_key WHERE feed_id = ?', feedId).one().n;
    if (count >= MAX_TRIGGER_KEYS_PER_FEED) return tooManyKeys(MAX_TRIGGER_KEYS_PER_FEED, 'trigger', 'feed');
    const record: TriggerKeyRecord = { id: newKeyId(this.clock), name, hash, createdAt: new Date(this.clock()).toISOString() };
    this.sql.exec('INSERT INTO feed_key (id, feed_id, name, hash, created_at) VALUES (?, ?, ?, ?, ?)', record.id, feedId, record.name, record.hash, record.createdAt);
    await this.mirrorFeed(feedId, []);
    return { ok: true, value: { record, key } };
  }

  /** A feed's trigger keys, in creation order. */
  async listTriggerKeys(slug: string, feedId: string): Promise<HomeResult<TriggerKeyRecord[]>> {
    await this.ensure(slug);
    if (!this.readFeed(feedId)) return feedNotFound();
    return { ok: true, value: this.readTriggerKeys(feedId) };
  }

  /** Revokes a trigger key: gone from the hot path's copy before this answers. */
  async deleteTriggerKey(slug: string, feedId: string, keyId: string): Promise<HomeResult<null>> {
    await this.ensure(slug);
    if (!this.readFeed(feedId)) return feedNotFound();
    const gone = KEY_ID_PATTERN.test(keyId) ? this.sql.exec('DELETE FROM feed_key WHERE id = ? AND feed_id = ?', keyId, feedId).rowsWritten : 0;
    if (gone === 0) return { ok: false, code: 'trigger-key-not-found', detail: 'This feed has no trigger key with this id.' };
    await this.mirrorFeed(feedId, []);
    return { ok: true, value: null };
  }

  /**
   * Every save-time check of a feed of this connection, against the connection as stored now
   * (synchronous: callers run it in the step that writes).
   */
  private checkFeedInput(slug: string, input: unknown, storedTurnstileSecret: boolean): HomeResult<FeedOutput> {
    const options = { storedTurnstileSecret, allowLoopback: allowLoopback(this.env) };
    const shaped = validateFeedInput(input, options);
    if (shaped.success && shaped.output.connection !== slug) {
      return {
        ok: false,
        code: 'connection-immutable',
        detail: `A feed stays with its connection: this feed belongs to "${slug}", the body says "${shaped.output.connection}".`,
        extensions: { errors: { '/connection': ['The connection of a feed cannot be changed after it is created'] } },
      };
    }
    const record = this.readRecord();
    const result = validateFeedForSave(input, record ?? undefined, options);
    if (result.success) return { ok: true, value: result.output };
    const count = result.issues.length;
    return {
      ok: false,
      code: 'validation-failed',
      detail: `${count} field${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} attention.`,
      extensions: { errors: { ...result.errors } },
    };
  }

  private readFeed(id: string): StoredFeed | null {
    if (!FEED_ID_PATTERN.test(id)) return null;
    const row = this.sql.exec<{ record: string }>('SELECT record FROM feed WHERE id = ?', id).toArray()[0];
    return row ? parseStoredFeed(JSON.parse(row.record), id) : null;
  }

  private writeFeed(record: StoredFeed): void {
    this.sql.exec('INSERT OR REPLACE INTO feed (id, version, record) VALUES (?, ?, ?)', record.id, record.version, JSON.stringify(record));
  }

  private readTriggerKeys(feedId: string): TriggerKeyRecord[] {
    return this.sql
      .exec<{ id: string; name: string; hash: string; created_at: string }>('SELECT id, name, hash, created_at FROM feed_key WHERE feed_id = ? ORDER BY id', feedId)
      .toArray()
      .map((r) => ({ id: r.id, name: r.name, hash: r.hash, createdAt: r.created_at }));
  }

  /**
   * Writes a feed's KV entries as they are when the write runs (or deletes them), and deletes the
   * index entries of `oldPublicKeys`. Chained with the connection's writes, so KV ends at the
   * last state.
   */
  private mirrorFeed(id: string, oldPublicKeys: string[]): Promise<void> {
    const run = async () => {
      const kv = this.env.CONNECTIONS;
      const record = this.readFeed(id);
      const writes: Promise<unknown>[] = oldPublicKeys.filter((key) => key !== record?.publicKey).map((key) => kv.delete(publicKeyIndexKey(key)));
      if (!record) {
        writes.push(kv.delete(feedKey(id)), kv.delete(feedConnectionKey(id)));
      } else {
        const connection = record.feed.connection;
        const value = { v: FEED_RECORD_FORMAT, record, keys: this.readTriggerKeys(id) };
        writes.push(
          kv.put(feedKey(id), JSON.stringify(value), { metadata: toFeedSummary(record) }),
          kv.put(publicKeyIndexKey(record.publicKey), JSON.stringify({ feedId: id, connection })),
          kv.put(feedConnectionKey(id), connection),
        );
      }
      await Promise.all(writes);
    };
    const next = this.mirrorChain.then(run, run);
    this.mirrorChain = next.catch((err: unknown) => {
      console.warn('[home] KV copy of a feed not written', id, err instanceof Error ? err.name : 'error');
    });
    return next;
  }

  // ---- token (see `oauth/token-broker.ts`)

  /** A valid access token, with `fallbacks` tokens the calling isolate fetched itself meanwhile. */
  async token(slug: string, fallbacks = 0): Promise<TokenAnswer> {
    await this.ensure(slug);
    if (!this.readRecord()) return { ok: false, problem: { code: 'connection-not-found', detail: `There is no connection "${slug}".` } };
    this.broker.noteFallbacks(fallbacks);
    return this.broker.get();
  }

  /** An upstream refused the token tagged `tag`: see `TokenBroker.refused`. */
  async refused(slug: string, tag: string): Promise<TokenAnswer> {
    await this.ensure(slug);
    if (!this.readRecord()) return { ok: false, problem: { code: 'connection-not-found', detail: `There is no connection "${slug}".` } };
    return this.broker.refused(tag);
  }

  /** "Test connection": one fresh token request. */
  async testToken(slug: string): Promise<HomeResult<TokenTestOutcome>> {
    try {
      await this.ensure(slug);
      if (!this.readRecord()) return notFound(slug);
      return { ok: true, value: await this.broker.test() };
    } catch (err) {
      return failed(err);
    }
  }

  /** What the home knows of its token. */
  async tokenStatus(slug: string): Promise<HomeResult<BrokerStatus>> {
    await this.ensure(slug);
    if (!this.readRecord()) return notFound(slug);
    return { ok: true, value: await this.broker.status() };
  }

  /** Forgets the token here and in the mirror. */
  async purgeToken(slug: string): Promise<HomeResult<null>> {
    await this.ensure(slug);
    const record = this.readRecord();
    if (!record) return notFound(slug);
    await this.broker.purge(record.id);
    return { ok: true, value: null };
  }

  // ---- storage

  /** Tables made, and a format-2 record of this slug imported, once per instance. */
  private async ensure(slug: string): Promise<void> {
    if (!this.schemaReady) {
      for (const statement of HOME_SCHEMA) this.sql.exec(statement);
      migrateCallLog(this.sql);
      this.schemaReady = true;
    }
    if (this.legacyChecked) return;
    if (this.readRecord()) {
      this.legacyChecked = true;
      return;
    }
    const legacy = await readLegacy(this.env.CONNECTIONS, this.sealer, slug);
    this.legacyChecked = true;
    // A create may have come in while the legacy record was read.
    if (!legacy || this.readRecord()) return;
    this.clearTables();
    this.writeRecord(legacy.record);
    for (const key of legacy.keys) {
      this.sql.exec('INSERT OR IGNORE INTO relay_key (id, name, hash, created_at) VALUES (?, ?, ?, ?)', key.id, key.name, key.hash, key.createdAt);
    }
    await this.mirror(slug);
    await removeLegacy(this.env.CONNECTIONS, slug);
  }

  private readRecord(): StoredConnection | null {
    if (this.cached !== undefined) return this.cached;
    const row = this.sql.exec<{ record: string }>('SELECT record FROM connection LIMIT 1').toArray()[0];
    this.cached = row ? parseStored(JSON.parse(row.record), 'connection') : null;
    return this.cached;
  }

  private writeRecord(record: StoredConnection): void {
    this.sql.exec('DELETE FROM connection');
    this.sql.exec('INSERT INTO connection (id, version, record) VALUES (?, ?, ?)', record.id, record.version, JSON.stringify(record));
    this.cached = record;
  }

  private readKeys(): RelayKeyRecord[] {
    return this.sql
      .exec<{ id: string; name: string; hash: string; created_at: string }>('SELECT id, name, hash, created_at FROM relay_key ORDER BY id')
      .toArray()
      .map((r) => ({ id: r.id, name: r.name, hash: r.hash, createdAt: r.created_at }));
  }

  /** Empties every table but `connection` (which the caller writes or empties in the same step). */
  private clearTables(): void {
    for (const table of ['relay_key', 'token', 'token_state', 'calls', 'call_minute']) this.sql.exec(`DELETE FROM ${table}`);
  }

  /**
   * Writes the relay's copy of the current state to KV (or deletes it). Writes are chained and
   * each writes what is current when it runs, so KV ends at the last state whatever the order
   * the writes were asked in.
   */
  private mirror(slug: string): Promise<void> {
    const run = async () => {
      const record = this.readRecord();
      if (!record) {
        await this.env.CONNECTIONS.delete(connectionKey(slug));
        return;
      }
      const value: { v: 3 } & RelayEntryData = { v: 3, record, keys: this.readKeys() };
      this.activityWrittenAt = this.clock();
      await this.env.CONNECTIONS.put(connectionKey(slug), JSON.stringify(value), { metadata: { ...toSummary(record), ...this.calls.activity() } });
    };
    const next = this.mirrorChain.then(run, run);
    this.mirrorChain = next.catch((err: unknown) => {
      console.warn('[home] KV copy not written', slug, err instanceof Error ? err.name : 'error');
    });
    return next;
  }

  private slugTaken(slug: string): HomeResult<never> {
    return {
      ok: false,
      code: 'slug-taken',
      detail: `The slug "${slug}" is already used by another connection.`,
      extensions: { errors: { slug: ['This slug is already in use'] } },
    };
  }

  private conflict(version: number): HomeResult<never> {
    return {
      ok: false,
      code: 'version-conflict',
      detail: `The connection was changed meanwhile: it is at version ${version}. Reload it, then apply your change again.`,
      extensions: { version },
    };
  }
}
