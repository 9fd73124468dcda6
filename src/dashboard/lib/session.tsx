import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, rest, useCredentials } from './api.ts';

// A signed-in person: the access token lives in memory only; the refresh token is the API's httpOnly,
// SameSite=Strict cookie (session: "cookie"), so page scripts never see it and a reload signs in again.

export interface Project {
  id: string;
  name: string;
  role: string;
  permissions: string[];
}

export interface User {
  id: string;
  email: string;
  name: string;
  projects: Project[];
}

interface TokenAnswer {
  access_token: string;
  expires_at: string;
  /** Only when the session could not be a cookie (plain http with secure cookies on). */
  refresh_token?: string;
}

interface SessionValue {
  status: 'loading' | 'signed-out' | 'signed-in';
  user: User | undefined;
  project: Project | undefined;
  selectProject(id: string): void;
  can(action: string): boolean;
  /** Reads the user's projects and permissions again (after a change to one's own membership). */
  reload(): Promise<void>;
  login(email: string, password: string): Promise<void>;
  register(name: string, email: string, password: string): Promise<void>;
  logout(): Promise<void>;
}

const SessionContext = createContext<SessionValue | undefined>(undefined);
const PROJECT_KEY = 'eventflow.project';
// Set while this browser holds a refresh cookie (which scripts cannot see): without it a page load does
// not ask to refresh, so a signed-out visit makes no call that must fail.
const SIGNED_IN_KEY = 'eventflow.signed-in';
// Renew this long before the token expires, so no call goes out with one about to lapse.
const RENEW_MARGIN_MS = 60_000;

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionValue['status']>('loading');
  const [user, setUser] = useState<User>();
  const [projectId, setProjectId] = useState<string | undefined>(() => localStorage.getItem(PROJECT_KEY) ?? undefined);
  const token = useRef<{ value: string; expiresAt: number }>(undefined);
  // Held in memory only, and only when the API cannot set its cookie (https_required): a reload then
  // asks to log in again, which beats keeping a refresh token where page scripts can read it.
  const memoryRefresh = useRef<string>(undefined);
  const renewing = useRef<Promise<boolean>>(undefined);
  const projectRef = useRef<string | undefined>(undefined);

  const signedOut = useCallback(() => {
    localStorage.removeItem(SIGNED_IN_KEY);
    token.current = undefined;
    memoryRefresh.current = undefined;
    setUser(undefined);
    setStatus('signed-out');
  }, []);

  const adopt = useCallback(async (answer: TokenAnswer) => {
    token.current = { value: answer.access_token, expiresAt: Date.parse(answer.expires_at) };
    memoryRefresh.current = answer.refresh_token;
    if (!answer.refresh_token) localStorage.setItem(SIGNED_IN_KEY, '1');
    const me = await rest<User>('GET', '/v1/me');
    setUser(me);
    setStatus('signed-in');
  }, []);

  /** Trades the refresh cookie for a new access token; false when there is no valid session. */
  const renew = useCallback((): Promise<boolean> => {
    renewing.current ??= (async () => {
      try {
        const body = memoryRefresh.current ? { refresh_token: memoryRefresh.current, session: 'body' } : { session: 'cookie' };
        const answer = await fetch('/v1/auth/refresh', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (!answer.ok) return false;
        const renewed = (await answer.json()) as TokenAnswer;
        token.current = { value: renewed.access_token, expiresAt: Date.parse(renewed.expires_at) };
        if (memoryRefresh.current) memoryRefresh.current = renewed.refresh_token;
        return true;
      } catch {
        return false;
      } finally {
        renewing.current = undefined;
      }
    })();
    return renewing.current;
  }, []);

  useEffect(() => {
    useCredentials({
      token: async () => {
        if (token.current && token.current.expiresAt - Date.now() < RENEW_MARGIN_MS) await renew();
        return token.current?.value;
      },
      projectId: () => projectRef.current,
      refused: async () => {
        if (!token.current) return false;
        if (await renew()) return true;
        signedOut();
        return false;
      },
    });
    void (async () => {
      if (localStorage.getItem(SIGNED_IN_KEY) && (await renew())) {
        try {
          const me = await rest<User>('GET', '/v1/me');
          setUser(me);
          setStatus('signed-in');
          return;
        } catch {
          // Fall through to the login form.
        }
      }
      signedOut();
    })();
  }, [renew, signedOut]);

  const project = useMemo(() => user?.projects.find((candidate) => candidate.id === projectId) ?? user?.projects[0], [user, projectId]);
  projectRef.current = project?.id;

  const value = useMemo<SessionValue>(
    () => ({
      status,
      user,
      project,
      selectProject(id) {
        localStorage.setItem(PROJECT_KEY, id);
        projectRef.current = id;
        setProjectId(id);
      },
      can: (action) => project?.permissions.includes(action) ?? false,
      async reload() {
        setUser(await rest<User>('GET', '/v1/me'));
      },
      async login(email, password) {
        await adopt(await withSession((session) => rest<TokenAnswer>('POST', '/v1/auth/login', { email, password, session })));
      },
      async register(name, email, password) {
        await adopt(await withSession((session) => rest<TokenAnswer>('POST', '/v1/auth/register', { name, email, password, session })));
      },
      async logout() {
        try {
          await rest('POST', '/v1/auth/logout', memoryRefresh.current ? { refresh_token: memoryRefresh.current } : {});
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
        }
        signedOut();
      },
    }),
    [status, user, project, adopt, signedOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** A cookie session when the API can set one; over plain http with secure cookies on, the body's token. */
async function withSession(start: (session: 'cookie' | 'body') => Promise<TokenAnswer>): Promise<TokenAnswer> {
  try {
    return await start('cookie');
  } catch (error) {
    if (error instanceof ApiError && error.code === 'https_required') return start('body');
    throw error;
  }
}

export function useSession(): SessionValue {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
