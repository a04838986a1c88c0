/** Hono environment of the Worker: its bindings and per-request variables. */
import type { ConnectionStore } from './connections/store';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    store: ConnectionStore;
  };
}

/** True when `INSECURE_ALLOW_LOOPBACK` is set to `true` (local development and tests). */
export function allowLoopback(env: Env): boolean {
  return env.INSECURE_ALLOW_LOOPBACK === 'true';
}
