import { createContext, useContext } from 'react';
import type { WhoAmI } from './types.js';

export interface Session {
  who: WhoAmI;
  /** Developer and admin keys start and stop things; reporter keys only look. */
  canOperate: boolean;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside the signed-in app');
  return session;
}
