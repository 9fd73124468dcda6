import { Router } from '@koa/router';
import { deleteOpenInvitation, listMembers, listOpenInvitations } from '../../accounts/queries.ts';
import type { Role } from '../../auth/policy.ts';
import type { RouteDeps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import { CHANGE_ROLE, changeMemberRole, INVITE, inviteMember, removeMember, type Invite } from '../operations/members.ts';
import { uuidParam } from '../params.ts';
import { visibleProject } from '../project-access.ts';
import type { ApiState } from '../state.ts';

// A project's people: members with their roles, and invitations by email (src/api/operations/members.ts).

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

  router.post<Valid<Invite>>('/invitations', requires('members:manage'), jsonBody, validateBody<Invite>(INVITE), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    ctx.body = await inviteMember(db, ctx.state.auth, project.id, ctx.state.input);
    ctx.status = 201;
  });

  router.delete('/invitations/:id', requires('members:manage'), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    if (!(await deleteOpenInvitation(db, project.id, uuidParam(ctx.params.id, 'invitation')))) throw notFound('invitation');
    ctx.status = 204;
  });

  router.patch<Valid<{ role: Role }>>('/members/:userId', requires('members:manage'), jsonBody, validateBody<{ role: Role }>(CHANGE_ROLE), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    ctx.body = await changeMemberRole(db, ctx.state.auth, project.id, ctx.params.userId, ctx.state.input.role);
  });

  router.delete('/members/:userId', requires('project:read'), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    await removeMember(db, ctx.state.auth, project.id, ctx.params.userId);
    ctx.status = 204;
  });

  return router;
}
