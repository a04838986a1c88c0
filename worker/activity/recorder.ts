/**
 * The isolate's side of the call log: entries are buffered per connection and sent to its home
 * after the answers (`waitUntil`), at most once a second per isolate, or at once when a connection
 * has 500 waiting (or the isolate 5,000 in all). Fewer, larger batches cost the home less: its
 * fixed cost per batch (the call, the write and its commit) measured about as much as storing 70 entries. The request that sends makes its own stub (I/O objects cannot cross requests);
 * the buffer is plain data. An isolate that goes away may lose its last unsent second.
 *
 * Refused calls (a wrong relay key for a slug that exists) are kept one by one up to
 * `REFUSED_PER_BATCH` per batch; past that they are counted into one aggregated entry.
 */
import { CALL_APPEND_MAX, type CallInput } from './call-store';
import { homeOf } from '../connections/home';

/** Longest an entry waits in an isolate before it is sent. */
export const CALL_FLUSH_INTERVAL_MS = 1_000;
/** Entries of one connection that make a batch go at once, an aggregate of refused calls included (the most the home takes per call). */
export const CALL_BATCH_MAX = CALL_APPEND_MAX;
/** Entries waiting in this isolate, all connections together, that make every batch go at once (memory). */
const PENDING_ENTRIES_MAX = 5_000;
/** Refused calls kept one by one per batch; the rest are aggregated. */
export const REFUSED_PER_BATCH = 10;
/** Bound on connections with entries waiting (memory). */
const BUFFERED_CONNECTIONS_MAX = 1_000;

interface Pending {
  /** The connection's id (`null` when the caller did not know it): the home drops a batch meant for another connection of the slug. */
  connectionId: string | null;
  entries: CallInput[];
  refused: number;
  aggregate: CallInput | undefined;
}

/** By slug; a buffer holds the entries of one connection of it (see `recordCall`). */
const pending = new Map<string, Pending>();
/** Entries in `pending`, all connections together. */
let pendingEntries = 0;
let timerRunning = false;
/** Batches sent by this isolate, and entries in them (the bench reads these). */
export const recorderCounters = { batches: 0, entries: 0, dropped: 0 };

import type { WaitUntil } from '../http';
export type { WaitUntil };

/**
 * Buffers one call of the connection `slug` whose id is `connectionId`; sends it with the next
 * batch (see the module header).
 */
export function recordCall(env: Env, waitUntil: WaitUntil | undefined, slug: string, connectionId: string | null, entry: CallInput): void {
  let buffer = pending.get(slug);
  if (buffer !== undefined && buffer.connectionId !== connectionId) {
    // The slug now names another connection (deleted and created again): what waits for the old
    // one goes first, alone, and its home drops it; the new connection's entries never join it.
    const sending = send(env, slug);
    if (waitUntil) waitUntil(sending);
    buffer = undefined;
  }
  if (buffer === undefined) {
    if (pending.size >= BUFFERED_CONNECTIONS_MAX) {
      recorderCounters.dropped++;
      return;
    }
    buffer = { connectionId, entries: [], refused: 0, aggregate: undefined };
    pending.set(slug, buffer);
  }
  if (entry.outcome === 'refused' && entry.errorCode === 'unauthorized') {
    buffer.refused++;
    if (buffer.refused > REFUSED_PER_BATCH) {
      if (buffer.aggregate) {
        buffer.aggregate.count = (buffer.aggregate.count ?? 1) + 1;
        buffer.aggregate.durationMs = Math.max(buffer.aggregate.durationMs, entry.durationMs);
      } else {
        buffer.aggregate = { ...entry, count: 1 };
      }
      return;
    }
  }
  buffer.entries.push(entry);
  pendingEntries++;
  if (pendingEntries >= PENDING_ENTRIES_MAX) {
    const sending = flushCalls(env);
    if (waitUntil) waitUntil(sending);
    return;
  }
  // The aggregate goes with the batch: it counts towards the batch's size.
  if (buffer.entries.length + (buffer.aggregate ? 1 : 0) >= CALL_BATCH_MAX) {
    const sending = send(env, slug);
    if (waitUntil) waitUntil(sending);
    return;
  }
  if (!timerRunning && waitUntil) {
    timerRunning = true;
    waitUntil(
      new Promise((resolve) => setTimeout(resolve, CALL_FLUSH_INTERVAL_MS)).then(() => {
        timerRunning = false;
        return flushCalls(env);
      }),
    );
  }
}

/** Sends every waiting entry now (tests and benchmarks use it for a deterministic flush). */
export async function flushCalls(env: Env): Promise<void> {
  await Promise.all([...pending.keys()].map((slug) => send(env, slug)));
}

/** Sends the buffer of `slug` (taken out of `pending` at once, before anything is awaited). */
async function send(env: Env, slug: string): Promise<void> {
  const buffer = pending.get(slug);
  if (!buffer) return;
  pending.delete(slug);
  const { connectionId } = buffer;
  pendingEntries -= buffer.entries.length;
  const entries = buffer.aggregate ? [...buffer.entries, buffer.aggregate] : buffer.entries;
  if (entries.length === 0) return;
  recorderCounters.batches++;
  recorderCounters.entries += entries.length;
  try {
    await homeOf(env, slug).appendCalls(slug, entries, connectionId);
  } catch (err) {
    recorderCounters.dropped += entries.length;
    console.warn('[call-log] a batch could not be sent', slug, err instanceof Error ? err.name : 'error');
  }
}
