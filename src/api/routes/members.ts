import { Router } from '@koa/router';
import {
  addMembership,
  changeMembership,
  deleteOpenInvitation,
  findUserByEmail,
  insertInvitation,
  listMembers,
  listOpenInvitations,
} from '../../accounts/queries.ts';
import { mayAssignRole, ROLES, type Role } from '../../auth/policy.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, forbidden, notFound } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import { uuidParam } from '../params.ts';
import { visibleProject } from '../project-access.ts';
import type { ApiState } from '../state.ts';

// A project's people: members with their roles, and invitations by email. Who may give or take which
// role is `mayAssignRole` (src/auth/policy.ts); the last owner can neither leave nor be demoted.

const INVITE = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'role'],
  properties: { email: { type: 'string', format: 'email', maxLength: 254 }, role: { enum: ROLES } },
} as const;
const CHANGE_ROLE = { type: 'object', additionalProperties: false, required: ['role'], properties: { role: { enum: ROLES } } } as const;

interface Invite {
  email: string;
  role: Role;
}

function refuseRole(from: Role | undefined, to: Role | undefined): never {
  const owner = from === 'owner' || to === 'owner';
  throw forbidden(owner ? 'only an owner may make or unmake owners' : 'you may not manage members of this project');
}

export function membersRouter({ db }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/projects/:projectId' });

  router.get('/members', requires('project:read'), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    const [members, invitations] = await Promise.all([listMembers(db, project.id), listOpenInvitations(db, project.id)]);
    ctx.body = {
      data: members,
      invitations: invitations.map(({ id, email, role, created_at }) => ({ id, email, role, created_at })),
    };
  });

  // A registered user becomes a member at once; anyone else when they register with this email.
  router.post<Valid<Invite>>('/invitations', requires('members:manage'), jsonBody, validateBody<Invite>(INVITE), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    const { email, role } = ctx.state.input;
    if (!mayAssignRole(ctx.state.auth.standing, undefined, role)) refuseRole(undefined, role);
    const user = await findUserByEmail(db, email);
    if (user) {
      const members = await listMembers(db, project.id);
      if (members.some((member) => member.user_id === user.id)) throw new ApiError(409, 'already_member', `${email} is already a member of this project`);
      await addMembership(db, project.id, user.id, role);
      ctx.status = 201;
      ctx.body = { status: 'member', user_id: user.id, email: user.email, role };
      return;
    }
    const invitation = await insertInvitation(db, { project_id: project.id, email, role, invited_by: ctx.state.auth.userId ?? null });
    if (!invitation) throw new ApiError(409, 'already_invited', `${email} already has an open invitation to this project`);
    ctx.status = 201;
    ctx.body = { status: 'invited', id: invitation.id, email: invitation.email, role: invitation.role, created_at: invitation.created_at };
  });

  router.delete('/invitations/:id', requires('members:manage'), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    if (!(await deleteOpenInvitation(db, project.id, uuidParam(ctx.params.id, 'invitation')))) throw notFound('invitation');
    ctx.status = 204;
  });

  router.patch<Valid<{ role: Role }>>('/members/:userId', requires('members:manage'), jsonBody, validateBody<{ role: Role }>(CHANGE_ROLE), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    const userId = uuidParam(ctx.params.userId, 'member');
    const { role } = ctx.state.input;
    const outcome = await changeMembership(db, project.id, userId, (from) => {
      if (!mayAssignRole(ctx.state.auth.standing, from, role)) refuseRole(from, role);
    }, role);
    if (outcome === 'not_member') throw notFound('member');
    if (outcome === 'last_owner') throw new ApiError(409, 'last_owner', 'a project keeps at least one owner: make someone else owner first');
    ctx.body = { user_id: userId, role };
  });

  // Members manage others; anyone may leave by removing themselves.
  router.delete('/members/:userId', requires('project:read'), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    const userId = uuidParam(ctx.params.userId, 'member');
    const leaving = userId === ctx.state.auth.userId;
    const outcome = await changeMembership(db, project.id, userId, (from) => {
      if (!leaving && !mayAssignRole(ctx.state.auth.standing, from, undefined)) refuseRole(from, undefined);
    }, undefined);
    if (outcome === 'not_member') throw notFound('member');
    if (outcome === 'last_owner') throw new ApiError(409, 'last_owner', 'the last owner cannot leave: make someone else owner first');
    ctx.status = 204;
  });

  return router;
}
