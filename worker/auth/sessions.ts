/**
 * Admin sessions in KV: `session:<sha256(id)>` → `{"expiresAt": <epoch ms>}`, TTL the session's
 * lifetime (12 h; KV's minimum of 60 s applies). The only code that touches these keys.
 */
import * as v from 'valibot';
import { systemClock, type Clock } from '../clock';
import { randomId, sha256Hex } from '../connections/seal';

const SESSION_PREFIX = 'session:';

const SessionEntrySchema = v.strictObject({ expiresAt: v.number() });

/**
 * Admin sessions (`session:<sha256(id)>`): the cookie carries the signed random id, KV holds only
 * its hash, so a KV dump cannot be replayed as a cookie. Deleting the entry ends the session
 * (at once here; other locations may take up to KV's 60 s to see it).
 */
export class SessionStore {
  constructor(
    private readonly kv: KVNamespace,
    private readonly now: Clock = systemClock,
  ) {}

  /** Starts a session that lasts `ttlSeconds` (KV's minimum TTL, 60 s, applies); answers its id. */
  async create(ttlSeconds: number): Promise<string> {
    const id = randomId(32);
    const entry = { expiresAt: this.now() + ttlSeconds * 1000 };
    await this.kv.put(SESSION_PREFIX + (await sha256Hex(id)), JSON.stringify(entry), { expirationTtl: Math.max(60, ttlSeconds) });
    return id;
  }

  /** True while the session with this id exists and has not expired. */
  async isActive(id: string): Promise<boolean> {
    const raw = await this.kv.get(SESSION_PREFIX + (await sha256Hex(id)), 'json').catch(() => null);
    const parsed = v.safeParse(SessionEntrySchema, raw);
    return parsed.success && parsed.output.expiresAt > this.now();
  }

  /** Ends the session with this id. */
  async delete(id: string): Promise<void> {
    await this.kv.delete(SESSION_PREFIX + (await sha256Hex(id)));
  }
}
