import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { Role } from '../auth/policy.ts';

// Every query on users, memberships and invitations (migrations/20261202000100_accounts.ts).

export interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: Date;
}

export interface MembershipRow {
  project_id: string;
  user_id: string;
  role: Role;
  created_at: Date;
}

export interface InvitationRow {
  id: string;
  project_id: string;
  email: string;
  role: Role;
  invited_by: string | null;
  created_at: Date;
  accepted_at: Date | null;
}

export async function findUserByEmail(db: Knex, email: string): Promise<UserRow | undefined> {
  return db('users').whereRaw('lower(email) = lower(?)', [email]).first();
}

export async function findUser(db: Knex, id: string): Promise<UserRow | undefined> {
  return db('users').where('id', id).first();
}

/** Inserts a user, or returns undefined when the email is taken (case-insensitively). */
export async function insertUser(db: Knex, user: Pick<UserRow, 'email' | 'name' | 'password_hash'>): Promise<UserRow | undefined> {
  const rows: UserRow[] = await db('users')
    .insert({ id: uuidv7(), ...user })
    .onConflict(db.raw('(lower(email))'))
    .ignore()
    .returning('*');
  return rows[0];
}

export async function membershipsOf(db: Knex, userId: string): Promise<Array<MembershipRow & { project_name: string }>> {
  return db('memberships as m')
    .join('projects as p', 'p.id', 'm.project_id')
    .select('m.*', 'p.name as project_name')
    .where('m.user_id', userId)
    .orderBy('m.created_at');
}

export async function roleOf(db: Knex, userId: string, projectId: string): Promise<Role | undefined> {
  const row = await db('memberships').select('role').where({ user_id: userId, project_id: projectId }).first();
  return row?.role;
}

export async function addMembership(db: Knex, projectId: string, userId: string, role: Role): Promise<void> {
  await db('memberships').insert({ project_id: projectId, user_id: userId, role }).onConflict(['project_id', 'user_id']).ignore();
}

/** Open invitations for an email, accepted (turned into memberships) in one transaction at registration. */
export async function acceptInvitations(trx: Knex.Transaction, userId: string, email: string): Promise<number> {
  const open: InvitationRow[] = await trx('invitations').whereRaw('lower(email) = lower(?)', [email]).whereNull('accepted_at').forUpdate();
  for (const invitation of open) await addMembership(trx, invitation.project_id, userId, invitation.role);
  if (open.length > 0) {
    await trx('invitations').whereIn('id', open.map((invitation) => invitation.id)).update({ accepted_at: trx.fn.now() });
  }
  return open.length;
}

export async function hasOpenInvitation(db: Knex, email: string): Promise<boolean> {
  return Boolean(await db('invitations').whereRaw('lower(email) = lower(?)', [email]).whereNull('accepted_at').first('id'));
}

export interface MemberView {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: Date;
}

export async function listMembers(db: Knex, projectId: string): Promise<MemberView[]> {
  return db('memberships as m')
    .join('users as u', 'u.id', 'm.user_id')
    .select('m.user_id', 'u.email', 'u.name', 'm.role', 'm.created_at')
    .where('m.project_id', projectId)
    .orderBy([{ column: 'm.created_at' }, { column: 'm.user_id' }]);
}

export async function listOpenInvitations(db: Knex, projectId: string): Promise<InvitationRow[]> {
  return db('invitations').where({ project_id: projectId }).whereNull('accepted_at').orderBy('created_at');
}

/** An open invitation, or undefined when one for this email is already open in the project. */
export async function insertInvitation(db: Knex, invitation: Pick<InvitationRow, 'project_id' | 'email' | 'role' | 'invited_by'>): Promise<InvitationRow | undefined> {
  const rows: InvitationRow[] = await db('invitations')
    .insert({ id: uuidv7(), ...invitation })
    .onConflict(db.raw('(project_id, lower(email)) WHERE accepted_at IS NULL'))
    .ignore()
    .returning('*');
  return rows[0];
}

export async function deleteOpenInvitation(db: Knex, projectId: string, id: string): Promise<boolean> {
  return (await db('invitations').where({ project_id: projectId, id }).whereNull('accepted_at').delete()) > 0;
}

/**
 * Changes (role) or ends (undefined) a membership unless that would leave the project without an owner.
 * The project's memberships are locked first, so two owners demoting each other at once cannot both win.
 */
export async function changeMembership(
  db: Knex,
  projectId: string,
  userId: string,
  decide: (current: Role) => void,
  role: Role | undefined,
): Promise<'changed' | 'not_member' | 'last_owner'> {
  return db.transaction(async (trx) => {
    const members: Array<Pick<MembershipRow, 'user_id' | 'role'>> = await trx('memberships').select('user_id', 'role').where({ project_id: projectId }).forUpdate();
    const current = members.find((member) => member.user_id === userId);
    if (!current) return 'not_member';
    decide(current.role);
    const ownersAfter = members.filter((member) => (member.user_id === userId ? role === 'owner' : member.role === 'owner')).length;
    if (current.role === 'owner' && ownersAfter === 0) return 'last_owner';
    const scope = trx('memberships').where({ project_id: projectId, user_id: userId });
    await (role === undefined ? scope.delete() : scope.update({ role }));
    return 'changed';
  });
}
