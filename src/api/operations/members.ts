import type { Knex } from 'knex';
import { addMembership, changeMembership, findUserByEmail, insertInvitation, listMembers } from '../../accounts/queries.ts';
import { mayAssignRole, ROLES, type Role } from '../../auth/policy.ts';
import type { Principal } from '../../auth/principal.ts';
import { ApiError, forbidden, notFound } from '../errors.ts';
import { uuidParam } from '../params.ts';

// A project's people, for REST (src/api/routes/members.ts) and GraphQL alike. Who may give or take which
// role is `mayAssignRole` (src/auth/policy.ts); the last owner can neither leave nor be demoted.

export const INVITE = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'role'],
  properties: { email: { type: 'string', format: 'email', maxLength: 254 }, role: { enum: ROLES } },
} as const;
export const CHANGE_ROLE = { type: 'object', additionalProperties: false, required: ['role'], properties: { role: { enum: ROLES } } } as const;

export interface Invite {
  email: string;
  role: Role;
}

function refuseRole(from: Role | undefined, to: Role | undefined): never {
  const owner = from === 'owner' || to === 'owner';
  throw forbidden(owner ? 'only an owner may make or unmake owners' : 'you may not manage members of this project');
}

/** A registered user becomes a member at once; anyone else when they register with this email. */
export async function inviteMember(db: Knex, caller: Principal, projectId: string, { email, role }: Invite) {
  if (!mayAssignRole(caller.standing, undefined, role)) refuseRole(undefined, role);
  const user = await findUserByEmail(db, email);
  if (user) {
    const members = await listMembers(db, projectId);
    if (members.some((member) => member.user_id === user.id)) throw new ApiError(409, 'already_member', `${email} is already a member of this project`);
    await addMembership(db, projectId, user.id, role);
    return { status: 'member' as const, user_id: user.id, email: user.email, role };
  }
  const invitation = await insertInvitation(db, { project_id: projectId, email, role, invited_by: caller.userId ?? null });
  if (!invitation) throw new ApiError(409, 'already_invited', `${email} already has an open invitation to this project`);
  return { status: 'invited' as const, id: invitation.id, email: invitation.email, role: invitation.role, created_at: invitation.created_at };
}

export async function changeMemberRole(db: Knex, caller: Principal, projectId: string, userIdParam: string | undefined, role: Role) {
  const userId = uuidParam(userIdParam, 'member');
  const outcome = await changeMembership(db, projectId, userId, (from) => {
    if (!mayAssignRole(caller.standing, from, role)) refuseRole(from, role);
  }, role);
  if (outcome === 'not_member') throw notFound('member');
  if (outcome === 'last_owner') throw new ApiError(409, 'last_owner', 'a project keeps at least one owner: make someone else owner first');
  return { user_id: userId, role };
}

/** Members manage others; anyone may leave by removing themselves. */
export async function removeMember(db: Knex, caller: Principal, projectId: string, userIdParam: string | undefined): Promise<void> {
  const userId = uuidParam(userIdParam, 'member');
  const leaving = userId === caller.userId;
  const outcome = await changeMembership(db, projectId, userId, (from) => {
    if (!leaving && !mayAssignRole(caller.standing, from, undefined)) refuseRole(from, undefined);
  }, undefined);
  if (outcome === 'not_member') throw notFound('member');
  if (outcome === 'last_owner') throw new ApiError(409, 'last_owner', 'the last owner cannot leave: make someone else owner first');
}
