import { Router } from '@koa/router';
import type { RouteDeps } from '../deps.ts';
import { requires } from '../middleware/auth.ts';
import type { ApiState } from '../state.ts';
import { projectStats } from '../../stats/queries.ts';

export function statsRouter({ db }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/stats' });
  router.get('/', requires('project:read'), async (ctx) => {
    ctx.body = await projectStats(db, ctx.state.auth.projectId);
  });
  return router;
}
