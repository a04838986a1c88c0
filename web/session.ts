/** The signed-in session as the pages see it. */
import { createContext, useContext } from 'solid-js';

export interface SessionContextValue {
  /** Whether `http:`/IP URLs to loopback hosts are accepted (the Worker's `INSECURE_ALLOW_LOOPBACK`). */
  allowLoopback: () => boolean;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<SessionContextValue>();

export function useSession(): SessionContextValue {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside the signed-in layout');
  return session;
}
