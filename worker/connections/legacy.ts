/**
 * Records of the KV-only format (record format 2), read once by a connection's home and re-sealed
 * under the identity-bound additional data of `records.ts`; then their keys are removed.
 *
 * Format 2 KV keys: `conn:<slug>` (record `{"v": 2, ...}`, secrets sealed with additional data
 * `conn|<slug>|auth.<field>`), `rkey:<slug>:<id>` (relay keys, metadata `{id, name, hash,
 * createdAt, connectionId}`), `keyused:<slug>:<id>`, `token:<slug>:<cacheKey>`, `tokstat:<slug>`.
 */
import * as v from 'valibot';
import { AuthSchema, RelayPolicySchema } from '../../contract/connection';
import { RECORD_FORMAT, readSecret, secretContext, secretDestination, secretFieldOf, type StoredConnection } from './records';
import { RelayKeyRecordSchema, type RelayKeyRecord } from './relay-keys';
import type { Sealer } from './seal';

const LegacyConnectionSchema = v.strictObject({
  v: v.literal(2),
  id: v.string(),
  name: v.string(),
  slug: v.string(),
  baseUrl: v.string(),
  auth: AuthSchema({ mode: 'stored', allowLoopback: true }),
  relay: v.optional(RelayPolicySchema),
  secretVersion: v.string(),
  createdAt: v.string(),
  updatedAt: v.string(),
});

const LegacyKeySchema = v.strictObject({ ...RelayKeyRecordSchema.entries, connectionId: v.string() });

/** True when a value read from `conn:<slug>` is a format-2 record. */
export function isLegacyRecord(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { v?: unknown }).v === 2;
}

/** The format-2 connection stored under `slug`, re-sealed for format 3, with its relay keys; or `null`. */
export async function readLegacy(kv: KVNamespace, sealer: Sealer, slug: string): Promise<{ record: StoredConnection; keys: RelayKeyRecord[] } | null> {
  let raw: unknown;
  try {
    raw = await kv.get(`conn:${slug}`, 'json');
  } catch {
    console.warn('[legacy] an entry is not JSON and was left as it is:', `conn:${slug}`);
    return null;
  }
  if (!isLegacyRecord(raw)) return null;
  const parsed = v.safeParse(LegacyConnectionSchema, raw);
  if (!parsed.success || parsed.output.slug !== slug) {
    console.warn('[legacy] a format-2 record could not be read and was left as it is:', `conn:${slug}`);
    return null;
  }
  const old = parsed.output;
  const auth = { ...old.auth } as Record<string, unknown>;
  const field = secretFieldOf(old.auth);
  const sealed = field ? readSecret(old.auth, field) : undefined;
  if (field && sealed !== undefined) {
    try {
      const clear = await sealer.open(sealed, `conn|${slug}|auth.${field}`);
      auth[field] = await sealer.seal(clear, secretContext(old.id, field, secretDestination(old)));
    } catch {
      console.warn('[legacy] the secret of a format-2 record does not open; it is dropped:', `conn:${slug}`);
      delete auth[field];
    }
  }
  const record: StoredConnection = { ...old, v: RECORD_FORMAT, version: 1, auth: auth as StoredConnection['auth'] };
  const keys: RelayKeyRecord[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await kv.list({ prefix: `rkey:${slug}:`, cursor });
    for (const key of page.keys) {
      const entry = v.safeParse(LegacyKeySchema, key.metadata);
      if (entry.success && entry.output.connectionId === old.id) {
        const { connectionId: _, ...rest } = entry.output;
        keys.push(rest);
      }
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return { record, keys };
}

/** Removes every format-2 entry of `slug` but `conn:<slug>` itself (which the home overwrites). */
export async function removeLegacy(kv: KVNamespace, slug: string): Promise<void> {
  const names: string[] = [`tokstat:${slug}`];
  for (const prefix of [`rkey:${slug}:`, `keyused:${slug}:`, `token:${slug}:`]) {
    let cursor: string | undefined;
    do {
      const page: KVNamespaceListResult<unknown, string> = await kv.list({ prefix, cursor });
      names.push(...page.keys.map((k) => k.name));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
  }
  await Promise.all(names.map((name) => kv.delete(name)));
}
