import { Router } from '@koa/router';
import type { Middleware } from 'koa';
import type { RouteDeps } from '../deps.ts';
import { forbidden } from '../errors.ts';
import { createKey } from '../../keys/queries.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { visibleProject } from '../project-access.ts';
import { insertProject } from '../../projects/queries.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import type { ApiState } from '../state.ts';

const CREATE_PROJECT = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

/** Only the root key creates projects. */
const rootOnly: Middleware<ApiState> = async (ctx, next) => {
  if (!ctx.state.auth.isRoot) throw forbidden('only the root admin key may create projects');
  await next();
};

export function projectsRouter({ db }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/projects' });

  // Each new project comes with its first admin key.
  router.post<Valid<{ name: string }>>('/', rootOnly, jsonBody, validateBody<{ name: string }>(CREATE_PROJECT), async (ctx) => {
    const { name } = ctx.state.input;
    const { project, key } = await db.transaction(async (trx) => {
      const project = await insertProject(trx, name);
      return { project, key: await createKey(trx, project.id, 'admin', 'initial admin key') };
    });
    ctx.status = 201;
    ctx.body = {
      id: project.id,
      name: project.name,
      created_at: project.created_at,
      admin_key: { id: key.id, key: key.key, kind: key.kind, prefix: key.prefix },
    };
  });

  router.get('/:id', requires('project:read'), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.id);
    ctx.body = { id: project.id, name: project.name, created_at: project.created_at };
  });

  return router;
}
