// EventFlow's one authorization rule set. Every caller — an API key or a signed-in user, over REST or
// GraphQL — acts in one project with one role there, and every action is allowed or refused here and
// only here. Pure data and functions: no I/O, so it is tested exhaustively and shared by every edge.

export const ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ACTIONS = [
  // Reading the project's data: events, batches, stats, deliveries, dead letters, webhooks, rules, schemas.
  'project:read',
  // Sending events.
  'events:ingest',
  'webhooks:manage',
  'rules:manage',
  'schemas:manage',
  // Replaying and discarding dead letters.
  'deliveries:act',
  'keys:manage',
  // Inviting members, changing roles (other than owner), removing members.
  'members:manage',
  // Making or unmaking owners.
  'owners:manage',
] as const;
export type Action = (typeof ACTIONS)[number];

const VIEWER: readonly Action[] = ['project:read'];
const DEVELOPER: readonly Action[] = [...VIEWER, 'events:ingest', 'webhooks:manage', 'rules:manage', 'schemas:manage', 'deliveries:act'];
const ADMIN: readonly Action[] = [...DEVELOPER, 'keys:manage', 'members:manage'];
const OWNER: readonly Action[] = [...ADMIN, 'owners:manage'];

const GRANTS: Record<Role, ReadonlySet<Action>> = {
  viewer: new Set(VIEWER),
  developer: new Set(DEVELOPER),
  admin: new Set(ADMIN),
  owner: new Set(OWNER),
};

/** API key kinds. A write key only sends events; a read key reads; an admin key acts as a project admin. */
export const KEY_KINDS = ['admin', 'write', 'read'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

const KEY_GRANTS: Record<KeyKind, ReadonlySet<Action>> = {
  admin: GRANTS.admin,
  write: new Set<Action>(['events:ingest']),
  read: GRANTS.viewer,
};

/** What a caller holds in the project a request is about. */
export type Standing = { kind: 'role'; role: Role } | { kind: 'key'; keyKind: KeyKind };

export function allows(standing: Standing, action: Action): boolean {
  return standing.kind === 'role' ? GRANTS[standing.role].has(action) : KEY_GRANTS[standing.keyKind].has(action);
}

/** Every action the standing allows, e.g. for a dashboard to hide buttons it cannot use. */
export function allowedActions(standing: Standing): Action[] {
  return ACTIONS.filter((action) => allows(standing, action));
}

/** Whether `actor` may give `target` its role or take it away: only owners touch owners. */
export function mayAssignRole(actor: Standing, from: Role | undefined, to: Role | undefined): boolean {
  if (!allows(actor, 'members:manage')) return false;
  const touchesOwner = from === 'owner' || to === 'owner';
  return !touchesOwner || allows(actor, 'owners:manage');
}
