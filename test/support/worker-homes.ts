/** Helpers for worker tests that read a connection's home directly. */
import { abortAllDurableObjects, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { homeOf } from '../../worker/connections/home';
import { openSecret, type StoredConnection } from '../../worker/connections/records';
import { Sealer } from '../../worker/connections/seal';

/** The record as the connection's home holds it, or `null`. */
export function storedRecord(slug: string): Promise<StoredConnection | null> {
  return homeOf(env, slug).getConnection(slug);
}

/** The record's secret, opened as the relay and the token engine open it. */
export function openStoredSecret(record: StoredConnection): Promise<string | undefined> {
  return openSecret(Sealer.fromSecretsKey(env.SECRETS_KEY), record);
}

/** Empties every binding (KV and the homes' storage) and restarts the homes, dropping their memory. */
export async function resetStorage(): Promise<void> {
  await reset();
  await abortAllDurableObjects();
}
