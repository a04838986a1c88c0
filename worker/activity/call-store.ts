/**
 * The call log of one connection, in its home's SQLite: every relay call, token request, test and
 * (later) feed run, with per-minute aggregates for the charts.
 *
 * Tables:
 * | table         | rows                          | holds                                                     |
 * |---------------|-------------------------------|-----------------------------------------------------------|
 * | `calls`       | ≤ 10,000, ≤ `log.retainDays`  | `seq` (order; the id is `c_` + `seq` in base 36), `at` (epoch ms), `kind`, `outcome`, `fields` (the rest of the Call as a JSON array, `STORED_FIELDS` order), and for feed runs `feed_id`, `run_id`, `detail` (the FeedRunDetail as JSON); `legacy_id` for rows moved from `call_log` |
 * | `call_minute` | per minute and outcome, 30 days | `minute` (epoch minutes), `outcome`, `calls`, `histogram` (JSON counts per duration bucket) |
 *
 * Entries come from isolates in batches and are validated here (stored data is input too): strings
 * are bounded, and nothing but the fields of a Call is kept.
 *
 * Every relayed call is a row, so a row is kept small and indexed only by `seq`: a JSON array
 * rather than the Call as an object, and no index on `at` or on an id. Measured in workerd with
 * batches of 400 entries past the cap (each append also deletes as many), that cut the home's CPU
 * per entry from about 25 µs to about 9 µs. Percentiles are approximate: they come
 * from a fixed histogram of durations, interpolated inside the bucket.
 */
import {
  CALL_KINDS,
  CALL_OUTCOMES,
  LOG_RETAIN_DAYS_DEFAULT,
  type Call,
  type CallKind,
  type CallListAnswer,
  type CallOutcome,
  type OutcomeCounts,
  type StatsAnswer,
  type StatsWindow,
} from '../../contract/activity';
import type { Clock } from '../clock';

/** Most entries kept per connection, whatever the retention. */
export const CALL_LOG_MAX_ENTRIES = 10_000;
/** How long per-minute aggregates are kept. */
export const CALL_AGGREGATE_DAYS = 30;
/** Upper bounds (ms) of the duration histogram's buckets; the last is open. */
export const DURATION_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000] as const;
/** Most entries one append takes (an isolate's batch holds at most this many, see `recorder.ts`). */
export const CALL_APPEND_MAX = 500;
/** How far past the home's clock an entry's time may be (the isolates' clocks are the same clock, read a little earlier or later). */
const FUTURE_MARGIN_MS = 60_000;
/** Longest stored run detail (JSON); past it the values (input, bodies) are left out. */
export const RUN_DETAIL_MAX_CHARS = 32_768;

const WINDOWS: Record<StatsWindow, { seconds: number; bucketSeconds: number }> = {
  '1h': { seconds: 3600, bucketSeconds: 60 },
  '24h': { seconds: 86_400, bucketSeconds: 900 },
  '7d': { seconds: 604_800, bucketSeconds: 7200 },
};

/** Outcomes that do not count as errors in the error rate. */
const NOT_ERRORS: readonly CallOutcome[] = ['success', 'skipped', 'replayed', 'spam-honeypot'];

/**
 * A call as an isolate sends it: a Call without the id (the home gives one), its time in epoch ms,
 * and for feed runs the run's detail (FeedRunDetail), stored in its own column, answered by `getRun` only.
 */
export type CallInput = Omit<Call, 'id' | 'at'> & { at: number; detail?: unknown };

const KINDS: ReadonlySet<unknown> = new Set(CALL_KINDS);
const OUTCOMES: ReadonlySet<unknown> = new Set(CALL_OUTCOMES);
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max;
const isNullableText = (value: unknown, max: number): value is string | null => value === null || isText(value, max);
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isNullableCount = (value: unknown): value is number | null => value === null || isCount(value);
const isStatus = (value: unknown): value is number => isCount(value) && (value as number) <= 999;

/**
 * The entry as stored, or `undefined` when `raw` is not a valid one. Built field by field, so
 * nothing but the fields of a Call is kept. Checked by hand rather than with a schema library:
 * this runs for every relayed call, in batches, and the schema's parse measured a good part of
 * the call log's cost per call.
 */
export function callInputOf(raw: unknown): CallInput | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as Record<string, unknown>;
  const { at, kind, method, path, status, upstreamStatus, durationMs, outcome, keyName, retried, tokenFetched, bytesIn, bytesOut, origin, errorCode } = e;
  if (
    !isCount(at) ||
    !KINDS.has(kind) ||
    !isText(method, 16) ||
    !isText(path, 2048) ||
    !isStatus(status) ||
    !(upstreamStatus === null || isStatus(upstreamStatus)) ||
    typeof durationMs !== 'number' ||
    !(durationMs >= 0) ||
    !Number.isFinite(durationMs) ||
    !OUTCOMES.has(outcome) ||
    !isNullableText(keyName, 100) ||
    typeof retried !== 'boolean' ||
    typeof tokenFetched !== 'boolean' ||
    !isNullableCount(bytesIn) ||
    !isNullableCount(bytesOut) ||
    !isNullableText(origin, 300) ||
    !isNullableText(errorCode, 64)
  ) {
    return undefined;
  }
  const entry: CallInput = {
    at,
    kind: kind as CallKind,
    method,
    path,
    status,
    upstreamStatus,
    durationMs,
    outcome: outcome as CallOutcome,
    keyName,
    retried,
    tokenFetched,
    bytesIn,
    bytesOut,
    origin,
    errorCode,
  };
  const { count, feedId, runId, trigger, detail } = e;
  if (count !== undefined) {
    if (!isCount(count) || count < 1) return undefined;
    entry.count = count;
  }
  for (const [name, value, max] of [['feedId', feedId, 64], ['runId', runId, 64], ['trigger', trigger, 32]] as const) {
    if (value === undefined) continue;
    if (!isText(value, max)) return undefined;
    entry[name] = value;
  }
  if (detail !== undefined) entry.detail = detail;
  return entry;
}

/** Filters of a listing, checked by the route. */
export interface CallFilters {
  limit: number;
  /** `seq` to start below (exclusive). */
  before?: number | undefined;
  outcomes: CallOutcome[];
  kinds: string[];
  /** Epoch ms. */
  since?: number | undefined;
}

function bucketOf(durationMs: number): number {
  const i = DURATION_BOUNDS_MS.findIndex((bound) => durationMs < bound);
  return i === -1 ? DURATION_BOUNDS_MS.length : i;
}

/** The `p` quantile (0..1) of a histogram, interpolated inside its bucket; null when empty. */
export function quantile(histogram: readonly number[], p: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = p * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const n = histogram[i] ?? 0;
    if (n > 0 && seen + n >= rank) {
      const low = i === 0 ? 0 : DURATION_BOUNDS_MS[i - 1]!;
      const high = DURATION_BOUNDS_MS[i] ?? low;
      return Math.round((low + ((rank - seen) / n) * (high - low)) * 10) / 10;
    }
    seen += n;
  }
  return DURATION_BOUNDS_MS[DURATION_BOUNDS_MS.length - 1]!;
}

function emptyHistogram(): number[] {
  return Array.from({ length: DURATION_BOUNDS_MS.length + 1 }, () => 0);
}

function addHistograms(into: number[], from: readonly number[]): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i] ?? 0;
}

export const CALL_SCHEMA = [
  // AUTOINCREMENT: a `seq`, and so an id, is never given twice, even once every row has aged out.
  'CREATE TABLE IF NOT EXISTS calls (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, fields TEXT NOT NULL, feed_id TEXT, run_id TEXT, detail TEXT, legacy_id TEXT)',
  // Partial: only feed runs, and rows moved from `call_log`, are indexed, so a relay call writes no entry in them.
  'CREATE INDEX IF NOT EXISTS calls_feed_runs ON calls (feed_id, seq) WHERE feed_id IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS calls_run_ids ON calls (run_id) WHERE run_id IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS calls_legacy_ids ON calls (legacy_id) WHERE legacy_id IS NOT NULL',
  'CREATE TABLE IF NOT EXISTS call_minute (minute INTEGER NOT NULL, outcome TEXT NOT NULL, calls INTEGER NOT NULL, histogram TEXT NOT NULL, PRIMARY KEY (minute, outcome))',
];

/**
 * The fields of a Call held in `calls.fields`, by position (the others are columns: `at`, `kind`,
 * `outcome`, `feed_id`, `run_id`; the id comes from `seq`).
 */
export const STORED_FIELDS = ['method', 'path', 'status', 'upstreamStatus', 'durationMs', 'keyName', 'retried', 'tokenFetched', 'bytesIn', 'bytesOut', 'origin', 'errorCode', 'count', 'trigger'] as const;

/**
 * Moves the rows of a `call_log` (the table before `calls`: one row held the whole Call as JSON,
 * indexed by `at` and by id) into `calls`, with its id (as `legacy_id`); then drops `call_log`.
 * Into an empty `calls` (the usual case) each row keeps its `seq`, so cursors and the order stay.
 * Into a `calls` that already holds rows (an older version ran again after this one, e.g. after a
 * rollback, and wrote a new `call_log` from `seq` 1) the rows follow those there, in their order,
 * with new sequence numbers: the `call_log` rows are then the newer ones, and their old `seq`
 * values may already be taken. A `call_log` made before feed runs has no `feed_id`, `run_id` or
 * `detail`: its rows move without them. Run after `CALL_SCHEMA`, in the same synchronous step (a
 * home commits it whole or not at all).
 */
export function migrateCallLog(sql: SqlStorage): void {
  const old = sql.exec<{ name: string }>('PRAGMA table_info(call_log)').toArray();
  if (old.length === 0) return;
  const columns = new Set(old.map((c) => c.name));
  const column = (name: string) => (columns.has(name) ? name : 'NULL');
  const keepSeq = sql.exec('SELECT 1 FROM calls LIMIT 1').toArray().length === 0;
  sql.exec(
    `INSERT INTO calls (${keepSeq ? 'seq, ' : ''}at, kind, outcome, fields, feed_id, run_id, detail, legacy_id)
     SELECT ${keepSeq ? 'seq, ' : ''}at, kind, outcome, json_array(${STORED_FIELDS.map((name) => `entry -> '$.${name}'`).join(', ')}), ${column('feed_id')}, ${column('run_id')}, ${column('detail')}, id
     FROM call_log ORDER BY seq`,
  );
  sql.exec('DROP TABLE call_log');
}

/** The columns a Call is read from. */
interface CallRow {
  seq: number;
  at: number;
  kind: CallKind;
  outcome: CallOutcome;
  fields: string;
  feed_id: string | null;
  run_id: string | null;
  legacy_id: string | null;
  [column: string]: SqlStorageValue;
}
const CALL_COLUMNS = 'seq, at, kind, outcome, fields, feed_id, run_id, legacy_id';

/** The id of the row with this `seq`. */
const callId = (seq: number) => `c_${seq.toString(36)}`;
/** Ids of rows recorded in `calls`: `c_` and at most 10 base-36 digits (those moved from `call_log` are longer). */
const SEQ_ID = /^c_([0-9a-z]{1,10})$/;

/** Fields a Call carries only when set. */
const OPTIONAL_FIELDS: ReadonlySet<string> = new Set(['count', 'trigger']);

/** A Call from its row. */
function callOf(row: CallRow): Call {
  const stored = JSON.parse(row.fields) as unknown[];
  const call: Record<string, unknown> = { id: row.legacy_id ?? callId(row.seq), at: new Date(row.at).toISOString(), kind: row.kind, outcome: row.outcome };
  STORED_FIELDS.forEach((name, i) => {
    const value = stored[i] ?? null;
    if (value !== null || !OPTIONAL_FIELDS.has(name)) call[name] = value;
  });
  if (row.feed_id !== null) call.feedId = row.feed_id;
  if (row.run_id !== null) call.runId = row.run_id;
  return call as unknown as Call;
}

/** A run's detail as stored: JSON, bounded (values dropped first when it is too long). */
function detailText(detail: unknown): string | null {
  if (detail === undefined || detail === null || typeof detail !== 'object') return null;
  let text = JSON.stringify(detail);
  if (text.length <= RUN_DETAIL_MAX_CHARS) return text;
  const { input: _input, requestBody: _body, responseBody: _response, ...rest } = detail as Record<string, unknown>;
  text = JSON.stringify({ ...rest, truncated: true });
  return text.length <= RUN_DETAIL_MAX_CHARS ? text : null;
}

/** Filters of a feed's runs listing. */
export interface RunFilters {
  limit: number;
  before?: number | undefined;
  outcomes: CallOutcome[];
}

/** The call log of one home. */
export class CallStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly now: Clock,
  ) {}

  /**
   * Stores entries (invalid ones are dropped and counted), then applies retention. Answers how
   * many were kept. The rows go in with one statement (`json_each` over one JSON array): one call
   * into SQLite per batch rather than one per entry.
   */
  append(entries: readonly unknown[], retainDays = LOG_RETAIN_DAYS_DEFAULT): number {
    const rows: [number, CallKind, CallOutcome, string, string | null, string | null, string | null][] = [];
    const minutes = new Map<string, { minute: number; outcome: string; calls: number; histogram: number[] }>();
    const latest = this.now() + FUTURE_MARGIN_MS;
    for (const raw of entries.slice(0, CALL_APPEND_MAX)) {
      const e = callInputOf(raw);
      // An entry from the future would outlive the retention (its scan stops at the first row inside it).
      if (e === undefined || e.at > latest) continue;
      const fields = STORED_FIELDS.map((name) => e[name] ?? null);
      rows.push([e.at, e.kind, e.outcome, JSON.stringify(fields), e.feedId ?? null, e.runId ?? null, e.kind === 'feed-run' ? detailText(e.detail) : null]);
      const minute = Math.floor(e.at / 60_000);
      const key = `${minute}|${e.outcome}`;
      let agg = minutes.get(key);
      if (agg === undefined) {
        agg = { minute, outcome: e.outcome, calls: 0, histogram: emptyHistogram() };
        minutes.set(key, agg);
      }
      const count = e.count ?? 1;
      agg.calls += count;
      agg.histogram[bucketOf(e.durationMs)]! += count;
    }
    if (rows.length > 0) {
      this.sql.exec(
        `INSERT INTO calls (at, kind, outcome, fields, feed_id, run_id, detail)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 FROM json_each(?) ORDER BY key`,
        JSON.stringify(rows),
      );
    }
    for (const agg of minutes.values()) {
      const row = this.sql
        .exec<{ calls: number; histogram: string }>('SELECT calls, histogram FROM call_minute WHERE minute = ? AND outcome = ?', agg.minute, agg.outcome)
        .toArray()[0];
      if (row) {
        addHistograms(agg.histogram, JSON.parse(row.histogram) as number[]);
        agg.calls += row.calls;
      }
      this.sql.exec(
        'INSERT OR REPLACE INTO call_minute (minute, outcome, calls, histogram) VALUES (?, ?, ?, ?)',
        agg.minute,
        agg.outcome,
        agg.calls,
        JSON.stringify(agg.histogram),
      );
    }
    if (entries.length > rows.length) console.warn('[call-log] dropped entries that failed validation:', entries.length - rows.length);
    this.prune(retainDays);
    return rows.length;
  }

  /**
   * Drops entries past the retention or the cap, and aggregates past 30 days. Rows go in about in
   * time order (an isolate holds its entries up to a second), so those past the retention are the
   * rows before the first one inside it, found by a scan in `seq` order that stops there (there
   * is no index on `at`). A row that came in later than newer ones by a few seconds may outlive
   * the retention by as much; reads filter on `at`, so none returns it. The cap counts by `seq`,
   * which grows by one per row: the newest `CALL_LOG_MAX_ENTRIES` sequence numbers are kept
   * (fewer rows when retention has made gaps), found from the largest `seq` without a scan.
   */
  prune(retainDays = LOG_RETAIN_DAYS_DEFAULT): void {
    const now = this.now();
    this.sql.exec(
      'DELETE FROM calls WHERE seq < COALESCE((SELECT seq FROM calls WHERE at >= ? ORDER BY seq LIMIT 1), (SELECT MAX(seq) + 1 FROM calls))',
      now - retainDays * 86_400_000,
    );
    this.sql.exec('DELETE FROM calls WHERE seq <= (SELECT MAX(seq) FROM calls) - ?', CALL_LOG_MAX_ENTRIES);
    this.sql.exec('DELETE FROM call_minute WHERE minute < ?', Math.floor(now / 60_000) - CALL_AGGREGATE_DAYS * 1440);
  }

  /**
   * Drops a feed's runs past a retention of its own (shorter than its connection's): the feed's
   * rows before its first one inside it, in `seq` order, found through the feed-run index.
   */
  pruneRuns(feedId: string, retainDays: number): void {
    this.sql.exec(
      'DELETE FROM calls WHERE feed_id = ? AND seq < COALESCE((SELECT seq FROM calls WHERE feed_id = ? AND at >= ? ORDER BY seq LIMIT 1), (SELECT MAX(seq) + 1 FROM calls WHERE feed_id = ?))',
      feedId,
      feedId,
      this.now() - retainDays * 86_400_000,
      feedId,
    );
  }

  /** Calls newest first, filtered, with the cursor of the next page. */
  list(filters: CallFilters, retainDays = LOG_RETAIN_DAYS_DEFAULT): CallListAnswer {
    const where: string[] = ['at >= ?'];
    const params: (string | number)[] = [Math.max(filters.since ?? 0, this.now() - retainDays * 86_400_000)];
    if (filters.kinds.length > 0) {
      where.push(`kind IN (${filters.kinds.map(() => '?').join(', ')})`);
      params.push(...filters.kinds);
    }
    const { entries, cursor } = this.newestFirst(where, params, filters);
    return { calls: entries, cursor };
  }

  /**
   * One page of entries newest first: `where` and `params`, then the cursor (`seq` below
   * `before`) and the outcomes of `filters`; one row more than the page tells whether one follows.
   */
  private newestFirst(where: string[], params: (string | number)[], filters: RunFilters): { entries: Call[]; cursor: string | null } {
    if (filters.before !== undefined) {
      where.push('seq < ?');
      params.push(filters.before);
    }
    if (filters.outcomes.length > 0) {
      where.push(`outcome IN (${filters.outcomes.map(() => '?').join(', ')})`);
      params.push(...filters.outcomes);
    }
    const rows = this.sql.exec<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`, ...params, filters.limit + 1).toArray();
    const page = rows.slice(0, filters.limit);
    return { entries: page.map(callOf), cursor: rows.length > filters.limit ? String(page[page.length - 1]!.seq) : null };
  }

  /** One call by id, or null (also once it is past the retention). */
  get(id: string, retainDays = LOG_RETAIN_DAYS_DEFAULT): Call | null {
    const since = this.now() - retainDays * 86_400_000;
    const seq = SEQ_ID.exec(id)?.[1];
    const row = (
      seq !== undefined
        ? this.sql.exec<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE seq = ? AND legacy_id IS NULL AND at >= ?`, parseInt(seq, 36), since)
        : this.sql.exec<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE legacy_id = ? AND at >= ?`, id, since)
    ).toArray()[0];
    return row ? callOf(row) : null;
  }

  /** A feed's runs newest first (entries of kind `feed-run` with this `feedId`), without their detail. */
  listRuns(feedId: string, filters: RunFilters, retainDays = LOG_RETAIN_DAYS_DEFAULT): { runs: Call[]; cursor: string | null } {
    const { entries, cursor } = this.newestFirst(['feed_id = ?', "kind = 'feed-run'", 'at >= ?'], [feedId, this.now() - retainDays * 86_400_000], filters);
    return { runs: entries, cursor };
  }

  /** One run of a feed with its detail, or null. */
  getRun(feedId: string, runId: string, retainDays = LOG_RETAIN_DAYS_DEFAULT): (Call & { detail?: unknown }) | null {
    const row = this.sql
      .exec<CallRow & { detail: string | null }>(
        `SELECT ${CALL_COLUMNS}, detail FROM calls WHERE run_id = ? AND feed_id = ? AND kind = 'feed-run' AND at >= ? ORDER BY seq DESC LIMIT 1`,
        runId,
        feedId,
        this.now() - retainDays * 86_400_000,
      )
      .toArray()[0];
    if (!row) return null;
    const call = callOf(row);
    return row.detail === null ? call : { ...call, detail: JSON.parse(row.detail) as unknown };
  }

  /** A feed's runs of the last 24 hours, counted by outcome. */
  runStats(feedId: string): { total: number; outcomes: OutcomeCounts } {
    const rows = this.sql
      .exec<{ outcome: CallOutcome; n: number }>(
        "SELECT outcome, COUNT(*) AS n FROM calls WHERE feed_id = ? AND kind = 'feed-run' AND at >= ? GROUP BY outcome",
        feedId,
        this.now() - 86_400_000,
      )
      .toArray();
    const outcomes: OutcomeCounts = {};
    let total = 0;
    for (const row of rows) {
      outcomes[row.outcome] = row.n;
      total += row.n;
    }
    return { total, outcomes };
  }

  /** Time buckets of a window: counts by outcome and approximate p50 / p95 durations. */
  stats(window: StatsWindow): StatsAnswer {
    const { seconds, bucketSeconds } = WINDOWS[window];
    const now = this.now();
    const bucketMs = bucketSeconds * 1000;
    const end = Math.floor(now / bucketMs) * bucketMs + bucketMs;
    const start = end - seconds * 1000;
    const buckets = Array.from({ length: seconds / bucketSeconds }, (_, i) => ({
      start: start + i * bucketMs,
      total: 0,
      outcomes: {} as OutcomeCounts,
      histogram: emptyHistogram(),
    }));
    const totals = { total: 0, outcomes: {} as OutcomeCounts, histogram: emptyHistogram() };
    const rows = this.sql
      .exec<{ minute: number; outcome: CallOutcome; calls: number; histogram: string }>(
        'SELECT minute, outcome, calls, histogram FROM call_minute WHERE minute >= ? AND minute < ?',
        Math.floor(start / 60_000),
        Math.floor(end / 60_000),
      )
      .toArray();
    for (const row of rows) {
      const bucket = buckets[Math.floor((row.minute * 60_000 - start) / bucketMs)];
      if (!bucket) continue;
      const histogram = JSON.parse(row.histogram) as number[];
      for (const target of [bucket, totals]) {
        target.total += row.calls;
        target.outcomes[row.outcome] = (target.outcomes[row.outcome] ?? 0) + row.calls;
        addHistograms(target.histogram, histogram);
      }
    }
    const errors = Object.entries(totals.outcomes).reduce((n, [outcome, count]) => n + (NOT_ERRORS.includes(outcome as CallOutcome) ? 0 : count), 0);
    return {
      window,
      bucketSeconds,
      buckets: buckets.map((b) => ({
        start: new Date(b.start).toISOString(),
        total: b.total,
        outcomes: b.outcomes,
        p50Ms: quantile(b.histogram, 0.5),
        p95Ms: quantile(b.histogram, 0.95),
      })),
      totals: {
        total: totals.total,
        outcomes: totals.outcomes,
        p50Ms: quantile(totals.histogram, 0.5),
        p95Ms: quantile(totals.histogram, 0.95),
        errorRate: totals.total === 0 ? null : Math.round((errors / totals.total) * 1000) / 1000,
      },
    };
  }

  /** The listing's activity figures: last call, calls in 24 h, error rate. */
  activity(): { lastCallAt: string | null; calls24h: number; errorRate24h: number | null } {
    const last = this.sql.exec<{ at: number }>('SELECT at FROM calls ORDER BY seq DESC LIMIT 1').toArray()[0];
    const rows = this.sql
      .exec<{ outcome: CallOutcome; calls: number }>('SELECT outcome, SUM(calls) AS calls FROM call_minute WHERE minute >= ? GROUP BY outcome', Math.floor(this.now() / 60_000) - 1440)
      .toArray();
    const total = rows.reduce((n, r) => n + r.calls, 0);
    const errors = rows.reduce((n, r) => n + (NOT_ERRORS.includes(r.outcome) ? 0 : r.calls), 0);
    return {
      lastCallAt: last ? new Date(last.at).toISOString() : null,
      calls24h: total,
      errorRate24h: total === 0 ? null : Math.round((errors / total) * 1000) / 1000,
    };
  }
}
