import { Router } from '@koa/router';
import type { RouteDeps } from '../deps.ts';
import { adminOnly } from '../middleware/auth.ts';
import type { ApiState } from '../state.ts';
import { projectStats } from '../stats/queries.ts';

export function statsRouter({ db }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/stats' });
  router.get('/', adminOnly, async (ctx) => {
    ctx.body = await projectStats(db, ctx.state.auth.projectId);
  });
  return router;
}
