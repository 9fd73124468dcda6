import type { KeyKind, Standing } from './policy.ts';

/**
 * Who is calling and in which project, resolved once per request by the auth middleware: an API key
 * (always of one project) or a signed-in user acting in one of their projects (`X-Project-Id`, or their
 * only project). Routes ask `allows(principal.standing, action)`; nothing else decides.
 */
export interface Principal {
  projectId: string;
  standing: Standing;
  /** The instance's root key (EVENTFLOW_ADMIN_KEY): may create projects and manage any project's keys. */
  isRoot: boolean;
  /** How the caller authenticated: a key's kind, or `user`. */
  kind: KeyKind | 'user';
  keyId?: string;
  userId?: string;
}

/** A signed-in user before a project is chosen (for /v1/me and the auth routes). */
export interface UserIdentity {
  userId: string;
  email: string;
}
