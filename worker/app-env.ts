/** Hono environment of the Worker: its bindings and per-request variables. */
import type { ReadPath } from './connections/read-path';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    readPath: ReadPath;
  };
}

/** True when `INSECURE_ALLOW_LOOPBACK` is set to `true` (local development and tests). */
export function allowLoopback(env: Env): boolean {
  return env.INSECURE_ALLOW_LOOPBACK === 'true';
}

/** The `SECRETS_KEY` secret (sealing key material), as configured. */
export function secretsKeyOf(env: Env): string | undefined {
  return env.SECRETS_KEY;
}
