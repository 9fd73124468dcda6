import { Router } from '@koa/router';
import { listRules } from '../../deliveries/rules.ts';
import type { RouteDeps } from '../deps.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import {
  CREATE_RULE,
  createNotificationRule,
  deleteNotificationRule,
  findNotificationRule,
  PATCH_RULE,
  updateNotificationRule,
  type RuleInput,
} from '../operations/notification-rules.ts';
import type { ApiState } from '../state.ts';

// Notification rules of the caller's project (see src/api/operations/notification-rules.ts).

export function notificationRulesRouter({ db }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/notification-rules' });
  const manage = requires('rules:manage');
  const read = requires('project:read');

  router.post<Valid<RuleInput>>('/', manage, jsonBody, validateBody<RuleInput>(CREATE_RULE), async (ctx) => {
    const row = await createNotificationRule(db, ctx.state.auth.projectId, ctx.state.input);
    ctx.status = 201;
    ctx.set('Location', `/v1/notification-rules/${row.id}`);
    ctx.body = row;
  });

  router.get('/', read, async (ctx) => {
    ctx.body = { data: await listRules(db, ctx.state.auth.projectId) };
  });

  router.get('/:id', read, async (ctx) => {
    ctx.body = await findNotificationRule(db, ctx.state.auth.projectId, ctx.params.id);
  });

  router.patch<Valid<RuleInput>>('/:id', manage, jsonBody, validateBody<RuleInput>(PATCH_RULE), async (ctx) => {
    ctx.body = await updateNotificationRule(db, ctx.state.auth.projectId, ctx.params.id, ctx.state.input);
  });

  router.delete('/:id', manage, async (ctx) => {
    await deleteNotificationRule(db, ctx.state.auth.projectId, ctx.params.id);
    ctx.status = 204;
  });

  return router;
}
